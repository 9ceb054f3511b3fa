import { Inject, Injectable } from '@nestjs/common';
import { jwtVerify, type JWTPayload } from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import { KeyService } from '../keys/key-service.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { ID_JAG_TYP } from '../id-jag/id-jag.js';

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** The claims of an access token actbridge issued and that has not expired (revocation aside). */
export type IssuedTokenClaims = JWTPayload & {
  readonly sub: string;
  readonly jti: string;
  readonly exp: number;
  readonly client_id: string;
};

/**
 * Reads back the RFC 9068 access tokens actbridge issued, for introspection and revocation: signature
 * with actbridge's published keys, `iss`, `typ: at+jwt`, `exp`. Anything else (a foreign or tampered
 * token, an ID-JAG, an expired token) is simply not one of ours.
 */
@Injectable()
export class IssuedTokens {
  private readonly issuer: string;

  constructor(
    private readonly keys: KeyService,
    @Inject(SERVER_CONFIG) server: ServerConfig,
  ) {
    this.issuer = server.issuer;
  }

  /** The token's claims, or undefined when it is not a live access token actbridge issued. */
  async read(token: string): Promise<IssuedTokenClaims | undefined> {
    // RFC 7515 §2: base64url without padding or white space, which jose's decoder would read; the token
    // endpoint refuses such a re-encoding of a token, so it is not "active" here either.
    if (!COMPACT_JWS.test(token)) return undefined;
    try {
      const { payload } = await jwtVerify(token, this.keys.verificationKeys, {
        issuer: this.issuer,
        typ: 'at+jwt',
        algorithms: this.keys.algorithms,
        requiredClaims: ['exp', 'jti', 'sub', 'client_id'],
      });
      const { sub, jti, client_id: clientId } = payload;
      if (typeof sub !== 'string' || typeof jti !== 'string' || typeof clientId !== 'string') return undefined;
      return payload as IssuedTokenClaims;
    } catch {
      return undefined;
    }
  }

  /** Whether the token is an ID-JAG actbridge issued that has not expired (redeemed by its resource AS, not here). */
  async isLiveIdJag(token: string): Promise<boolean> {
    try {
      await jwtVerify(token, this.keys.verificationKeys, {
        issuer: this.issuer,
        typ: ID_JAG_TYP,
        algorithms: this.keys.algorithms,
        requiredClaims: ['exp'],
      });
      return true;
    } catch {
      return false;
    }
  }
}

/** Whether `client` is a party to the token: the client it was issued to, or one of its audiences. */
export function isPartyTo(claims: IssuedTokenClaims, client: ClientConfig): boolean {
  if (claims.client_id === client.client_id) return true;
  const audiences = Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
  return audiences.some((aud) => aud === client.client_id || client.resource_audiences.includes(aud));
}
