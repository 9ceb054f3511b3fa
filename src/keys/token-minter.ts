import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { SignJWT, type JWTPayload } from 'jose';
import { STS_CONFIG, type StsConfig } from '../config/sts-config.js';
import { KeyService } from './key-service.js';

export interface MintedToken {
  readonly token: string;
  readonly jti: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** Encodes and signs the tokens actbridge issues. Knows nothing of why a token is issued. */
@Injectable()
export class TokenMinter {
  private readonly issuer: string;

  constructor(
    private readonly keys: KeyService,
    @Inject(STS_CONFIG) config: StsConfig,
  ) {
    this.issuer = config.server.issuer;
  }

  /**
   * Signs `claims` with the active key. `iss`, `iat`, `exp` and a fresh `jti` are set here and cannot
   * be supplied by the caller.
   */
  async mint(claims: JWTPayload, options: { typ: string; issuedAt: number; expiresAt: number }): Promise<MintedToken> {
    const { kid, alg, privateKey } = this.keys.active;
    const jti = randomUUID();
    const token = await new SignJWT({ ...claims, iss: this.issuer, iat: options.issuedAt, exp: options.expiresAt, jti })
      .setProtectedHeader({ alg, kid, typ: options.typ })
      .sign(privateKey);
    return { token, jti, issuedAt: options.issuedAt, expiresAt: options.expiresAt };
  }
}
