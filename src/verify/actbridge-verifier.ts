import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import * as client from 'openid-client';
import { DPOP_SIGNING_ALGORITHMS, DpopProofError, verifyDpopProof } from '../dpop/dpop-proof.js';
import { MemoryReplayStore } from '../stores/memory-replay-store.js';
import { checkOptions } from './verifier-options.js';
import { DpopNonces } from '../dpop/dpop-nonces.js';
import { AccessTokenError } from './access-token-error.js';
import { RevocationListPoller, type RevocationListOptions } from './revocation-list.js';
import { actorChain, checkLogin, describeJwtError } from './token-claims.js';

const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** One actor of the delegation chain (RFC 8693 §4.1 `act`), as actbridge records it. */
export interface Actor {
  readonly sub: string;
  readonly iss?: string;
  readonly client_id?: string;
  /** The platform that vouched for this actor (actbridge's `act.attested_by`). */
  readonly attested_by?: string;
}

/** What a resource server needs from a verified actbridge access token. */
export interface VerifiedAccessToken {
  /** `sub`: whom the request is on behalf of. */
  readonly subject: string;
  /** The issuer that vouched for the subject upstream (`sub_id.iss`), if actbridge recorded one. */
  readonly subjectIssuer: string | undefined;
  /**
   * The current actor (outermost `act`): the party making this request on the subject's behalf.
   * Undefined under impersonation. RFC 8693 §4.1: access control may use this one and the top level.
   */
  readonly actor: Actor | undefined;
  /** Every actor, current (outermost) first, least recent last: for logging and audit, not for access control. */
  readonly chain: readonly Actor[];
  readonly scopes: readonly string[];
  /** `client_id`: the client that obtained the token from actbridge. */
  readonly clientId: string;
  readonly audience: readonly string[];
  readonly jti: string;
  readonly expiresAt: number;
  /** RFC 9449: the thumbprint of the key the token is bound to (verified against the request's proof). */
  readonly jkt: string | undefined;
  /** How the user authenticated upstream (`acr`, `auth_time` epoch seconds), when actbridge was told. */
  readonly acr: string | undefined;
  readonly authTime: number | undefined;
  readonly claims: Readonly<JWTPayload>;
}

/** The request's DPoP evidence, needed when the token is bound (`cnf.jkt`). */
export interface DpopEvidence {
  /** The `DPoP` header value(s); more than one is refused. */
  readonly proof: string | readonly string[] | undefined;
  /** The request method (`htm`). */
  readonly method: string;
  /** The absolute URL the client sent the request to (`htu`), as the client saw it. */
  readonly url: string;
}

export interface VerifyOptions {
  /** The audience this resource expects (default: the verifier's). */
  readonly audience?: string | readonly string[];
  /** Scopes the request needs; all must be granted, else insufficient_scope. */
  readonly scopes?: readonly string[];
  /**
   * RFC 9470: the authentication levels (`acr`) this request accepts; a token with another or none is
   * refused `insufficient_user_authentication` with `acr_values`, so the client can ask the user to step up.
   */
  readonly acrValues?: readonly string[];
  /** RFC 9470: the most seconds since the user authenticated (`auth_time`); older or unknown is refused likewise. */
  readonly maxAge?: number;
  /** The Authorization scheme the token came with (`Bearer` or `DPoP`), if known. */
  readonly scheme?: string;
  readonly dpop?: DpopEvidence;
  /** Ask actbridge's introspection endpoint whether the token was revoked (default: the verifier's). */
  readonly checkRevocation?: boolean;
  /**
   * RFC 9728 `dpop_bound_access_tokens_required`: refuse tokens without a DPoP binding (`cnf.jkt`), so a
   * stolen bearer token is of no use here (default: the verifier's, else false).
   */
  readonly dpopBoundRequired?: boolean;
}

/** Single use of DPoP proof `jti`s; pass a shared (e.g. Redis) one when the resource runs several instances. */
export interface ProofReplayCache {
  /** False if `key` was already used. */
  consume(key: string, expiresAt: number): Promise<boolean>;
}

export interface ActbridgeVerifierOptions {
  /** actbridge's issuer identifier; its metadata is discovered from here (RFC 8414). */
  readonly issuer: string;
  /** Default expected audience(s): this resource's identifier. */
  readonly audience?: string | readonly string[];
  /** Accepted access token algorithms (default: asymmetric ones). */
  readonly algorithms?: readonly string[];
  /** Tolerated clock skew, seconds (default 5). */
  readonly clockTolerance?: number;
  /** Oldest accepted DPoP proof `iat`, seconds (default 300). */
  readonly dpopMaxAge?: number;
  /** Where DPoP proof `jti`s are remembered (default: in process memory); one that throws is 503, never acceptance. */
  readonly dpopReplay?: ProofReplayCache;
  /**
   * This resource's own client registration at actbridge, for introspection (RFC 7662). actbridge
   * answers for tokens whose `aud` names the client (its client_id or `resource_audiences`).
   */
  readonly introspection?: {
    readonly clientId: string;
    readonly clientSecret: string;
    /** How the client authenticates, as registered at actbridge (default `client_secret_basic`). */
    readonly authMethod?: 'client_secret_basic' | 'client_secret_post';
  };
  /** Check every token for revocation through introspection (default: true when `introspection` is set). */
  readonly checkRevocation?: boolean;
  /** Accept DPoP-bound tokens only (RFC 9728 `dpop_bound_access_tokens_required`; default false). */
  readonly dpopBoundRequired?: boolean;
  /**
   * Refuse revoked tokens (and tokens issued from revoked ones) from actbridge's signed revocation list,
   * refreshed in the background: no request to actbridge per token. `true` for the defaults.
   */
  readonly revocationList?: boolean | RevocationListOptions;
  /**
   * Require DPoP proofs to carry a nonce this resource server issued (RFC 9449 §9), which bounds how long
   * a proof made in advance stays usable. `secret` (at least 32 bytes) is shared by every instance of the
   * resource server, so each accepts the others' nonces; a nonce lasts one to two `window`s (seconds,
   * default 60).
   */
  readonly dpopNonce?: { readonly secret: string | Uint8Array; readonly window?: number };
  /** Allow an http:// issuer (development, tests on loopback). */
  readonly allowInsecureRequests?: boolean;
  /** Timeout of each request to actbridge, seconds (default 5). */
  readonly timeout?: number;
}

const DEFAULT_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'RS384', 'PS384', 'RS512', 'PS512', 'EdDSA'];

/**
 * Verifies access tokens issued by actbridge, at a resource server. Discovers actbridge's metadata
 * (openid-client, RFC 8414 issuer check) and keys (jose remote JWKS, cached, refetched on an unknown
 * `kid`) once, then per token: signature, `typ: at+jwt`, `iss`, `aud`, `exp`, DPoP binding (RFC 9449
 * §7: proof by the `cnf.jkt` key, `ath`, `htm`, `htu`, `iat`, single-use `jti`), revocation (optional,
 * by introspection) and scopes. Throws AccessTokenError.
 */
interface Discovered {
  readonly config: client.Configuration;
  readonly keys: JWTVerifyGetKey;
  readonly revocationList?: RevocationListPoller;
}

export class ActbridgeVerifier {
  private discovered: Promise<Discovered> | undefined;
  private readonly replay: ProofReplayCache;
  private readonly nonces: DpopNonces | undefined;

  constructor(private readonly options: ActbridgeVerifierOptions) {
    checkOptions(options);
    this.replay = options.dpopReplay ?? new MemoryReplayStore();
    const nonce = options.dpopNonce;
    this.nonces = nonce
      ? new DpopNonces(typeof nonce.secret === 'string' ? Buffer.from(nonce.secret) : nonce.secret, nonce.window ?? 60)
      : undefined;
  }

  /**
   * The nonce DPoP proofs must carry now, when `dpopNonce` is set: answer it in the `DPoP-Nonce` header
   * (the hook and guard do, on every response), so clients keep a fresh one (RFC 9449 §9).
   */
  currentDpopNonce(): string | undefined {
    return this.nonces?.current();
  }

  /** DPoP algorithms accepted in proofs (for `WWW-Authenticate: DPoP algs=...` and RFC 9728 metadata). */
  get dpopAlgorithms(): readonly string[] {
    return DPOP_SIGNING_ALGORITHMS;
  }

  async verify(token: string, options: VerifyOptions = {}): Promise<VerifiedAccessToken> {
    const audience = options.audience ?? this.options.audience;
    if (audience === undefined) throw new TypeError('ActbridgeVerifier: no expected audience given');
    // RFC 7515 §2: base64url segments without padding (which RFC 6750's b64token admits and jose's decoder
    // reads), as actbridge issued it; its introspection answers inactive for any other encoding.
    if (!COMPACT_JWS.test(token)) throw new AccessTokenError('invalid_token', 'token is not a well-formed JWT');
    const { config, keys, revocationList } = await this.discover();
    const issuer = config.serverMetadata().issuer;
    const clockTolerance = this.options.clockTolerance ?? 5;

    let claims: JWTPayload;
    try {
      ({ payload: claims } = await jwtVerify(token, keys, {
        issuer,
        audience: typeof audience === 'string' ? audience : [...audience],
        // RFC 9068 §4: typ at+jwt, so no other JWT of actbridge's (an ID-JAG) passes as an access token.
        typ: 'at+jwt',
        algorithms: [...(this.options.algorithms ?? DEFAULT_ALGORITHMS)],
        clockTolerance,
        requiredClaims: ['exp', 'iat', 'sub', 'jti', 'client_id'],
      }));
    } catch (error) {
      // The keys could not be fetched: the token cannot be judged either way.
      if (error instanceof errors.JWKSTimeout || !(error instanceof errors.JOSEError)) {
        throw new AccessTokenError('temporarily_unavailable', 'cannot fetch actbridge signing keys');
      }
      throw new AccessTokenError('invalid_token', describeJwtError(error));
    }
    const { sub, jti, client_id: clientId } = claims;
    if (typeof sub !== 'string' || typeof jti !== 'string' || typeof clientId !== 'string') {
      throw new AccessTokenError('invalid_token', 'token sub, jti and client_id must be strings');
    }

    if (await revocationList?.isRevoked(jti)) throw new AccessTokenError('invalid_token', 'token has been revoked');
    const jkt = await this.checkBinding(token, claims, options);
    const chain = actorChain(claims.act);
    const scopes = typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : [];

    if (options.checkRevocation ?? this.options.checkRevocation ?? this.options.introspection !== undefined) {
      await this.checkActive(config, token);
    }
    const missing = (options.scopes ?? []).filter((scope) => !scopes.includes(scope));
    if (missing.length > 0) {
      throw new AccessTokenError(
        'insufficient_scope',
        `token lacks scope ${missing.join(' ')}`,
        (options.scopes ?? []).join(' '),
      );
    }

    const login = checkLogin(claims, options, clockTolerance);

    const subId = claims.sub_id as { iss?: unknown } | undefined;
    return {
      subject: sub,
      subjectIssuer: typeof subId?.iss === 'string' ? subId.iss : undefined,
      actor: chain[0],
      chain,
      scopes,
      clientId,
      audience: claims.aud === undefined ? [] : Array.isArray(claims.aud) ? claims.aud : [claims.aud],
      jti,
      expiresAt: claims.exp!,
      jkt,
      ...login,
      claims,
    };
  }

  /** RFC 9449 §7: a bound token needs the DPoP scheme and a valid proof by its key; an unbound one, Bearer. */
  private async checkBinding(token: string, claims: JWTPayload, options: VerifyOptions): Promise<string | undefined> {
    const scheme = options.scheme?.toLowerCase();
    const cnf = claims.cnf as Record<string, unknown> | undefined;
    if (cnf === undefined) {
      // RFC 9728 §2 dpop_bound_access_tokens_required: a bearer token is refused, the challenge offering DPoP;
      // whatever its scheme, since 'use Bearer' would send the client to a refusal.
      if (options.dpopBoundRequired ?? this.options.dpopBoundRequired ?? false) {
        throw new AccessTokenError(
          'invalid_token',
          'this resource accepts DPoP-bound tokens only',
          undefined,
          undefined,
          true,
        );
      }
      if (scheme === 'dpop') throw new AccessTokenError('invalid_token', 'token is not DPoP-bound; use Bearer');
      return undefined;
    }
    if (typeof cnf !== 'object' || cnf === null || typeof cnf.jkt !== 'string' || Object.keys(cnf).length !== 1) {
      throw new AccessTokenError('invalid_token', 'token has a confirmation (cnf) this verifier cannot check');
    }
    const jkt = cnf.jkt;
    // RFC 9449 §7.2: a DPoP-bound token sent as a Bearer token is refused.
    if (scheme !== undefined && scheme !== 'dpop') {
      throw new AccessTokenError(
        'invalid_token',
        'token is DPoP-bound: send it with the DPoP scheme',
        undefined,
        undefined,
        true,
      );
    }
    const evidence = options.dpop;
    const proofs =
      evidence?.proof === undefined ? [] : typeof evidence.proof === 'string' ? [evidence.proof] : evidence.proof;
    if (!evidence || proofs.length === 0) {
      throw new AccessTokenError('invalid_dpop_proof', 'token is DPoP-bound: a DPoP proof is required');
    }
    if (proofs.length > 1) throw new AccessTokenError('invalid_dpop_proof', 'send exactly one DPoP header');
    const maxAge = this.options.dpopMaxAge ?? 300;
    const skew = this.options.clockTolerance ?? 5;
    let proof;
    try {
      proof = await verifyDpopProof(proofs[0]!, {
        method: evidence.method,
        url: evidence.url,
        maxAge,
        clockSkew: skew,
        accessToken: token,
      });
    } catch (error) {
      if (error instanceof DpopProofError)
        throw new AccessTokenError('invalid_dpop_proof', `DPoP proof ${error.message}`);
      throw error;
    }
    if (proof.jkt !== jkt) {
      throw new AccessTokenError('invalid_dpop_proof', 'DPoP proof key does not match the token binding (cnf.jkt)');
    }
    // RFC 9449 §9: before the jti is spent, so the client's next proof (with the nonce) is not a replay.
    if (this.nonces && (proof.nonce === undefined || !this.nonces.check(proof.nonce))) {
      throw new AccessTokenError(
        'use_dpop_nonce',
        proof.nonce === undefined
          ? 'DPoP proof must carry the nonce of the DPoP-Nonce header'
          : 'DPoP proof nonce is not current; use the nonce of the DPoP-Nonce header',
        undefined,
        undefined,
        false,
        undefined,
        this.nonces.current(),
      );
    }
    // RFC 9449 §11.1: single use. A store that cannot answer is no acceptance: fail closed, its cause for the log.
    let fresh: boolean;
    try {
      fresh = await this.replay.consume(`${proof.jkt}:${proof.jti}`, proof.iat + maxAge + 2 * skew);
    } catch (error) {
      throw new AccessTokenError(
        'temporarily_unavailable',
        'cannot verify DPoP proof single use right now; retry later',
        undefined,
        `dpopReplay: ${(error as Error)?.message ?? String(error)}`,
      );
    }
    if (!fresh) throw new AccessTokenError('invalid_dpop_proof', 'DPoP proof has already been used (jti replay)');
    return jkt;
  }

  /** RFC 7662: actbridge says whether the token is still active (not revoked). */
  private async checkActive(config: client.Configuration, token: string): Promise<void> {
    if (!this.options.introspection) {
      throw new TypeError('ActbridgeVerifier: checkRevocation needs the introspection client credentials');
    }
    let active: boolean;
    try {
      active = (await client.tokenIntrospection(config, token)).active === true;
    } catch (error) {
      throw new AccessTokenError(
        'temporarily_unavailable',
        'cannot reach actbridge introspection',
        undefined,
        (error as Error).message,
      );
    }
    if (!active) throw new AccessTokenError('invalid_token', 'token is not active (revoked)');
  }

  /** Stops the revocation list's background refresh. */
  async close(): Promise<void> {
    const discovered = await this.discovered?.catch(() => undefined);
    discovered?.revocationList?.close();
  }

  /** Metadata and keys, discovered once; a failed discovery is retried on the next call. */
  private discover(): Promise<Discovered> {
    this.discovered ??= (async () => {
      const { introspection, allowInsecureRequests } = this.options;
      const config = await client.discovery(
        new URL(this.options.issuer),
        introspection?.clientId ?? 'actbridge-verify',
        undefined,
        introspectionAuth(introspection),
        {
          algorithm: 'oauth2',
          timeout: this.options.timeout ?? 5,
          execute: allowInsecureRequests ? [client.allowInsecureRequests] : [],
        },
      );
      const jwksUri = config.serverMetadata().jwks_uri;
      if (!jwksUri) throw new Error('actbridge metadata has no jwks_uri');
      const keys = createRemoteJWKSet(new URL(jwksUri), { timeoutDuration: (this.options.timeout ?? 5) * 1000 });
      return { config, keys, revocationList: this.revocationList(config, keys) };
    })();
    return this.discovered.catch((error: unknown) => {
      this.discovered = undefined;
      throw new AccessTokenError(
        'temporarily_unavailable',
        'cannot discover actbridge',
        undefined,
        `${this.options.issuer}: ${(error as Error).message}`,
      );
    });
  }

  private revocationList(config: client.Configuration, keys: JWTVerifyGetKey): RevocationListPoller | undefined {
    const setting = this.options.revocationList;
    if (!setting) return undefined;
    const options = setting === true ? {} : setting;
    const metadata = config.serverMetadata();
    const url = options.url ?? metadata.revocation_list_uri;
    if (typeof url !== 'string') throw new Error('actbridge metadata has no revocation_list_uri');
    return new RevocationListPoller(url, keys, {
      issuer: metadata.issuer,
      algorithms: [...(this.options.algorithms ?? DEFAULT_ALGORITHMS)],
      clockTolerance: this.options.clockTolerance ?? 5,
      timeout: this.options.timeout ?? 5,
      options,
    });
  }
}

export function createActbridgeVerifier(options: ActbridgeVerifierOptions): ActbridgeVerifier {
  return new ActbridgeVerifier(options);
}

/** The client authentication of introspection requests: the method the resource is registered with. */
function introspectionAuth(introspection: ActbridgeVerifierOptions['introspection']): client.ClientAuth {
  if (!introspection) return client.None();
  // RFC 6749 §2.3.1: the registered method only; actbridge refuses any other for this client.
  return introspection.authMethod === 'client_secret_post'
    ? client.ClientSecretPost(introspection.clientSecret)
    : client.ClientSecretBasic(introspection.clientSecret);
}
