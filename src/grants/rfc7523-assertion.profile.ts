import { Inject, Injectable } from '@nestjs/common';
import { decodeProtectedHeader } from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { ID_JAG_TYP } from '../id-jag/id-jag.js';
import { endpointUrl, TOKEN_ENDPOINT_PATH } from '../oauth/endpoint-paths.js';
import { consumeOnce } from '../stores/replay-guard.js';
import { REPLAY_STORE, type ReplayStore } from '../stores/replay-store.js';
import { JwtTokenVerifier } from '../subject-tokens/jwt-token-verifier.js';
import { TokenTypes } from '../oauth/token-types.js';
import { TrustAnchorRegistry } from '../trust-anchors/trust-anchor-registry.js';
import {
  checkAssertionAge,
  rejectAssertion,
  unverifiedIssuer,
  type AssertionGrant,
  type AssertionProfile,
} from './assertion-profile.js';
import { glob } from '../common/wildcard.js';

const fail = rejectAssertion;

/**
 * RFC 7523 §2.1/§3 JWT authorization grant for any JWT other than an ID-JAG, from an issuer whose trust
 * anchor has a `jwt_bearer:` section (as an Ory Hydra trust relationship): `iss` a trusted anchor,
 * signature with its keys only, `aud` naming our issuer or token endpoint, `exp` required, `sub`
 * matching one of the anchor's subject patterns, the anchor's age bounds, and single-use `jti` unless
 * the anchor allows reuse. Scopes are bounded by the anchor's `scopes`. Failures are invalid_grant.
 */
@Injectable()
export class Rfc7523AssertionProfile implements AssertionProfile {
  readonly assertionType = TokenTypes.jwt;
  private readonly audiences: string[];

  constructor(
    private readonly verifier: JwtTokenVerifier,
    private readonly anchors: TrustAnchorRegistry,
    @Inject(REPLAY_STORE) private readonly replay: ReplayStore,
    @Inject(SERVER_CONFIG) { issuer }: ServerConfig,
  ) {
    // RFC 7523 §3 item 3 (and rfc7523bis for grants): the issuer identifier or the token endpoint URL.
    this.audiences = [issuer, endpointUrl(issuer, TOKEN_ENDPOINT_PATH)];
  }

  async redeem(assertion: string, client: ClientConfig): Promise<AssertionGrant> {
    const claimed = unverifiedIssuer(assertion);
    const known = claimed === undefined ? undefined : this.anchors.find(claimed);
    if (known && !known.jwtBearer) {
      if (known.idJag) {
        fail(
          `typ ${describeTyp(assertion)} is not accepted: this issuer is trusted for ID-JAGs only (typ ${ID_JAG_TYP})`,
        );
      }
      fail(
        'issuer is not trusted for jwt-bearer assertions',
        `issuer ${JSON.stringify(known.issuer.slice(0, 200))} has no jwt_bearer section`,
      );
    }

    const token = await this.verifier.verify(
      assertion,
      { role: 'assertion', client },
      {
        tokenType: this.assertionType,
        // Untyped or `JWT` only: explicitly typed JWTs (access tokens, ID-JAGs, logout tokens, DPoP
        // proofs, client assertions) are other kinds of token and never an authorization grant here.
        acceptedTyp: () => ['', 'jwt'],
        acceptedAudiences: () => this.audiences,
      },
    );
    const anchor = token.anchor;
    const section = anchor.kind === 'jwt' ? anchor.jwtBearer : undefined;
    if (!section) return fail('issuer is not trusted for jwt-bearer assertions');
    checkAssertionAge(token.claims, section.max_age, anchor.clockSkew, (message) => fail(message));

    const { sub } = token.principal;
    if (!section.subjects.some((pattern) => glob(sub, pattern))) {
      fail(
        'sub is not allowed for this issuer',
        `sub ${JSON.stringify(sub.slice(0, 200))} matches no subjects pattern`,
      );
    }

    // RFC 7523 §3 item 7: remember used jti values until exp.
    if (section.jti === 'single_use') {
      const jti = token.claims.jti;
      if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) {
        fail('has no valid jti claim (this issuer requires single-use assertions)');
      }
      const fresh = await consumeOnce(
        this.replay,
        `jwt-bearer:${token.anchor.name}:${jti as string}`,
        token.expiresAt + anchor.clockSkew,
        'the assertion',
      );
      if (!fresh) fail('has already been used (jti replay)');
    }

    return {
      token,
      scopeCeiling: token.scope === undefined ? section.scopes : section.scopes.filter((s) => token.scope!.includes(s)),
      resourceCeiling: undefined,
    };
  }
}

function describeTyp(assertion: string): string {
  try {
    const { typ } = decodeProtectedHeader(assertion);
    return typ === undefined ? '(none)' : JSON.stringify(String(typ).slice(0, 100));
  } catch {
    return '(unreadable)';
  }
}
