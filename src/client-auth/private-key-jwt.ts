import { Inject, Injectable } from '@nestjs/common';
import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  type ProtectedHeaderParameters,
} from 'jose';
import type { ClientConfig } from '../clients/client.config.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { verifyJwt } from '../jose/jwt-verify.js';
import { quoted } from '../oauth/error-description.js';
import { InvalidClient, TemporarilyUnavailable } from '../oauth/oauth-error.js';
import { storeUnavailable } from '../stores/replay-guard.js';
import { REPLAY_STORE, type ReplayStore } from '../stores/replay-store.js';
import { KeysUnavailableError, RemoteJwks, remoteJwksPolicy } from '../trust-anchors/remote-jwks.js';
import { ASYMMETRIC_ALGORITHMS } from '../trust-anchors/trust-anchor.config.js';
import { clock } from '../common/clock.js';

export const CLIENT_ASSERTION_TYPE_JWT = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** JOSE `typ` values a client assertion may carry (rfc7523bis: SHOULD send the explicit one, MUST NOT require it). */
const ASSERTION_TYP = ['', 'jwt', 'client-authentication+jwt'];

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/**
 * private_key_jwt (RFC 7523 §2.2, §3; OIDC Core §9): a JWT signed with a key the client registered.
 * `iss` = `sub` = client_id; `aud` = actbridge's issuer as the *sole* value (rfc7523bis, against the
 * 2025 audience-injection attack); `exp` required and short; `jti` required and single-use.
 */
@Injectable()
export class PrivateKeyJwtVerifier {
  /** Each client's key set, with the source it was built from (its `jwks` object, or its `jwks_uri`). */
  private readonly keysByClient = new Map<string, { source: unknown; keys: JWTVerifyGetKey }>();
  private readonly server: Pick<
    ServerConfig,
    | 'issuer'
    | 'clockSkew'
    | 'clientAssertionMaxLifetime'
    | 'upstreamTimeoutMs'
    | 'jwksCooldown'
    | 'jwksMaxAge'
    | 'jwksMaxStale'
  >;

  constructor(
    @Inject(SERVER_CONFIG) server: ServerConfig,
    @Inject(REPLAY_STORE) private readonly replay: ReplayStore,
  ) {
    this.server = server;
  }

  async verify(client: ClientConfig, assertion: string): Promise<void> {
    const fail = (description: string, detail?: string): never => {
      throw new InvalidClient(description, { detail: detail ?? description });
    };
    // RFC 7515 §2, §7.1: three BASE64URL segments, without padding, white space or `+`/`/` (which jose's
    // decoder would tolerate), as every other JWT actbridge reads.
    if (!COMPACT_JWS.test(assertion)) return fail('client_assertion is not a well-formed JWT');
    let header: ProtectedHeaderParameters;
    try {
      header = decodeProtectedHeader(assertion);
    } catch {
      return fail('client_assertion is not a well-formed JWT');
    }
    const typ: unknown = header.typ;
    const normalisedTyp =
      typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : typ === undefined ? '' : null;
    if (normalisedTyp === null || !ASSERTION_TYP.includes(normalisedTyp)) {
      fail(`client_assertion typ ${quoted(typ)} is not a client assertion type`);
    }

    let claims;
    try {
      ({ payload: claims } = await verifyJwt(assertion, this.keysFor(client), {
        algorithms: [...ASYMMETRIC_ALGORITHMS],
        issuer: client.client_id,
        subject: client.client_id,
        clockTolerance: this.server.clockSkew,
        requiredClaims: ['exp', 'jti', 'aud'],
      }));
    } catch (error) {
      // The client's keys could not be fetched: its assertion may be fine, so it is told to retry (503),
      // not that its credentials are wrong (invalid_client), as for a presented token's issuer keys.
      if (error instanceof KeysUnavailableError) {
        throw new TemporarilyUnavailable('client_assertion cannot be verified: client keys unavailable', {
          detail: `client_assertion cannot be verified: client keys unavailable: ${error.message}`,
        });
      }
      return fail(...describe(error, header));
    }

    // rfc7523bis §3: the audience must be the issuer identifier, and nothing else.
    const aud = Array.isArray(claims.aud) && claims.aud.length === 1 ? claims.aud[0] : claims.aud;
    if (aud !== this.server.issuer) {
      fail(`client_assertion aud must be exactly the issuer ${this.server.issuer}`);
    }
    const now = clock.seconds();
    if (claims.exp! > now + this.server.clientAssertionMaxLifetime + this.server.clockSkew) {
      fail(`client_assertion lifetime exceeds ${this.server.clientAssertionMaxLifetime} s`);
    }
    if (typeof claims.iat === 'number' && claims.iat > now + this.server.clockSkew)
      fail('client_assertion iat is in the future');
    if (typeof claims.jti !== 'string' || claims.jti.length === 0 || claims.jti.length > 256)
      fail('client_assertion jti is invalid');

    let fresh: boolean;
    try {
      fresh = await this.replay.consume(
        // A client_id may hold ':' (printable ASCII): encoded, so no client's jti can spell another's key.
        `client-assertion:${encodeURIComponent(client.client_id)}:${claims.jti}`,
        claims.exp! + this.server.clockSkew,
      );
    } catch (error) {
      // Fail closed: without the store, single use cannot be guaranteed.
      throw storeUnavailable('cannot verify client_assertion single use right now; retry later', error);
    }
    if (!fresh) fail('client_assertion has already been used (jti replay)');
  }

  private keysFor(client: ClientConfig): JWTVerifyGetKey {
    // A reload (SIGHUP) may replace the client's keys: a key rotated out of the clients file is refused
    // from the next request on, so the set is rebuilt whenever its source changed. A reload reads the
    // file anew, so an inline `jwks` is a new object then (rebuilt locally, no I/O); a `jwks_uri` is
    // compared as text, keeping the remote set's cache while the URL stays.
    const source = client.jwks ?? client.jwks_uri;
    const cached = this.keysByClient.get(client.client_id);
    if (cached !== undefined && cached.source === source) return cached.keys;
    let keys: JWTVerifyGetKey;
    if (client.jwks) {
      keys = createLocalJWKSet(client.jwks as JSONWebKeySet);
    } else {
      const url = new URL(client.jwks_uri!);
      keys = new RemoteJwks(async () => url, remoteJwksPolicy(this.server), `client:${client.client_id}`).getKey;
    }
    this.keysByClient.set(client.client_id, { source, keys });
    return keys;
  }
}

function describe(error: unknown, header: ProtectedHeaderParameters): [string, string?] {
  if (error instanceof errors.JWTExpired) return ['client_assertion has expired'];
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') return [`client_assertion has no ${error.claim} claim`];
    if (error.claim === 'iss' || error.claim === 'sub')
      return [`client_assertion ${error.claim} must be the client_id`];
    return [`client_assertion ${error.claim} claim is invalid`];
  }
  if (error instanceof errors.JWKSNoMatchingKey)
    return ['client_assertion is signed with a key the client did not register'];
  // RFC 7515 §4.1.4: which of the client's keys is meant is not known; refused, not tried in turn.
  if (error instanceof errors.JWKSMultipleMatchingKeys) {
    return [
      header.kid === undefined
        ? 'client_assertion names no kid and the client registered several keys'
        : `client_assertion kid ${quoted(header.kid)} names several keys the client registered`,
    ];
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) return ['client_assertion signature is invalid'];
  if (error instanceof errors.JOSEAlgNotAllowed)
    return ['client_assertion alg is not accepted (asymmetric algorithms only)'];
  return ['client_assertion is invalid', error instanceof Error ? `client_assertion: ${error.message}` : undefined];
}
