import { Inject, Injectable } from '@nestjs/common';
import type { AuditRecord } from '../audit/audit-record.js';
import type { ClientConfig } from '../clients/client.config.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { KeyService } from '../keys/key-service.js';
import { endpointUrl, TOKEN_ENDPOINT_PATH } from '../oauth/endpoint-paths.js';
import { InvalidDpopProof, UseDpopNonce } from '../oauth/oauth-error.js';
import { storeUnavailable } from '../stores/replay-guard.js';
import { REPLAY_STORE, type ReplayStore } from '../stores/replay-store.js';
import { DpopNonces } from './dpop-nonces.js';
import { DPOP_SIGNING_ALGORITHMS, DpopProofError, verifyDpopProof, type DpopBinding } from './dpop-proof.js';

export interface DpopCheck {
  /** Every `DPoP` header value of the request (RFC 9449 §4.3 check 1: at most one). */
  readonly proofs: readonly string[];
  /** The authenticated client (its `dpop_bound_access_tokens` policy). */
  readonly client: ClientConfig;
  readonly audit: AuditRecord;
}

/**
 * DPoP at the token endpoint (RFC 9449 §5), for every grant: called by the dispatcher once the client
 * is authenticated. A valid proof yields the key the issued token is bound to; no proof yields nothing,
 * unless the client must use DPoP. Every failure is `invalid_dpop_proof` (400), a missing or stale
 * server nonce `use_dpop_nonce` with a fresh `DPoP-Nonce`.
 */
@Injectable()
export class DpopVerifier {
  private readonly server: Pick<ServerConfig, 'clockSkew' | 'dpopProofMaxAge' | 'dpopNonce'>;
  private readonly tokenEndpoint: string;
  /** Server nonces of the active signing key (and of the one before it, across a rotation). */
  private nonceKeys: { kid: string; nonces: DpopNonces; either: Pick<DpopNonces, 'check' | 'current'> } | undefined;

  constructor(
    @Inject(SERVER_CONFIG) server: ServerConfig,
    @Inject(REPLAY_STORE) private readonly replay: ReplayStore,
    private readonly keys: KeyService,
  ) {
    this.server = server;
    // RFC 9449 §4.3 check 9: the URL the client sent the request to, i.e. the public one in metadata.
    this.tokenEndpoint = endpointUrl(server.issuer, TOKEN_ENDPOINT_PATH);
  }

  /**
   * Nonces keyed by the active signing key (HKDF, so every instance with the same key agrees); after a
   * rotation, nonces of the previous key are still accepted, so clients in flight need no retry.
   */
  private nonces(): Pick<DpopNonces, 'check' | 'current'> | undefined {
    if (this.server.dpopNonce !== 'required') return undefined;
    const active = this.keys.active;
    if (this.nonceKeys?.kid !== active.kid) {
      const secret = active.privateKey.export({ format: 'der', type: 'pkcs8' });
      const nonces = new DpopNonces(secret, this.server.dpopProofMaxAge);
      const previous = this.nonceKeys?.nonces;
      const either = { current: () => nonces.current(), check: (n: string) => nonces.check(n) || !!previous?.check(n) };
      this.nonceKeys = { kid: active.kid, nonces, either };
    }
    return this.nonceKeys.either;
  }

  /** For metadata: `dpop_signing_alg_values_supported`. */
  get algorithms(): string[] {
    return [...DPOP_SIGNING_ALGORITHMS];
  }

  async verify({ proofs, client, audit }: DpopCheck): Promise<DpopBinding | undefined> {
    if (proofs.length === 0) {
      // RFC 9449 §5.2: a client registered with dpop_bound_access_tokens must always send a proof.
      if (client.dpop_bound_access_tokens) {
        throw new InvalidDpopProof('a DPoP proof is required for this client (dpop_bound_access_tokens)');
      }
      return undefined;
    }
    if (proofs.length > 1) throw new InvalidDpopProof('send exactly one DPoP header');

    let proof;
    try {
      proof = await verifyDpopProof(proofs[0]!, {
        method: 'POST',
        url: this.tokenEndpoint,
        maxAge: this.server.dpopProofMaxAge,
        clockSkew: this.server.clockSkew,
      });
    } catch (error) {
      if (error instanceof DpopProofError) throw new InvalidDpopProof(`DPoP proof ${error.message}`);
      throw error;
    }
    audit.dpop_jkt = proof.jkt;

    // RFC 9449 §8: a nonce the server handed out recently, else tell the client which to use.
    const nonces = this.nonces();
    if (nonces && (proof.nonce === undefined || !nonces.check(proof.nonce))) {
      throw new UseDpopNonce(
        proof.nonce === undefined ? 'DPoP proof must carry the server nonce' : 'DPoP proof nonce is stale or unknown',
        { headers: { 'dpop-nonce': nonces.current() } },
      );
    }

    // RFC 9449 §11.1: a proof is single use for as long as it could be accepted.
    let fresh: boolean;
    try {
      fresh = await this.replay.consume(
        `dpop:${proof.jkt}:${proof.jti}`,
        proof.iat + this.server.dpopProofMaxAge + 2 * this.server.clockSkew,
      );
    } catch (error) {
      // Fail closed: without the store, single use cannot be guaranteed.
      throw storeUnavailable('cannot verify DPoP proof single use right now; retry later', error);
    }
    if (!fresh) throw new InvalidDpopProof('DPoP proof has already been used (jti replay)');
    return { jkt: proof.jkt };
  }
}
