import { Inject, Injectable } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { HttpRoute, RouteProvider } from '../http/http-route.js';
import { KeyService } from '../keys/key-service.js';
import { TokenMinter } from '../keys/token-minter.js';
import { REVOCATION_LIST_PATH } from '../oauth/endpoint-paths.js';
import { RevocationList } from '../subject-tokens/revocation-check.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { clock } from '../common/clock.js';

/** The JOSE `typ` of the signed list (RFC 8725 §3.11: no other actbridge JWT passes for one). */
export const REVOCATION_LIST_TYP = 'revocation-list+jwt';
/** Seconds a cache may serve the list without asking again (ETag revalidation is cheap). */
const MAX_AGE = 5;

interface SignedList {
  readonly version: string;
  /** The key that signed it: a list signed before a key rotation is signed again by the new key. */
  readonly kid: string;
  readonly token: string;
  readonly etag: string;
  readonly iat: number;
}

/**
 * `GET /oauth/revocations`: the revoked `jti`s of actbridge's tokens still within their lifetime, for
 * resource servers that verify tokens locally (actbridge/verify polls it). A JWT signed with the
 * token-signing key, `typ: revocation-list+jwt`, claims `iss`, `iat`, `exp` (iat + REVOCATION_LIST_TTL),
 * `jti`, `revoked: [{jti, exp}]`. Public, like the JWKS: a `jti` is a random identifier, not a credential.
 * One store read per request (the list's version); the signed document is rebuilt only when the version
 * changed, half its lifetime has passed or another key signs, and `If-None-Match` with its (weak) ETag, the store's version
 * of the list, is answered 304.
 */
@Injectable()
export class RevocationListRoutes implements RouteProvider {
  private readonly ttl: number;
  private signed: SignedList | undefined;
  private building: Promise<SignedList> | undefined;

  constructor(
    private readonly revocations: RevocationList,
    private readonly minter: TokenMinter,
    private readonly keys: KeyService,
    @Inject(SERVER_CONFIG) server: ServerConfig,
  ) {
    this.ttl = server.revocationListTtl;
  }

  routes(): HttpRoute[] {
    return [
      {
        name: 'the revocation list',
        method: 'GET',
        path: REVOCATION_LIST_PATH,
        handle: (request, reply) => this.serve(request, reply),
      },
    ];
  }

  private async serve(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    const list = await this.current();
    reply.header('etag', list.etag).header('cache-control', `public, max-age=${MAX_AGE}`);
    const match = request.headers['if-none-match'];
    // RFC 9110 §13.1.2: weak comparison; `*` matches any current representation (there always is one).
    if (
      typeof match === 'string' &&
      (match.trim() === '*' || match.split(',').some((tag) => tag.trim().replace(/^W\//, '') === list.etag.slice(2)))
    ) {
      return reply.code(304).send();
    }
    return reply.header('content-type', `application/${REVOCATION_LIST_TYP}`).send(list.token);
  }

  private async current(): Promise<SignedList> {
    const version = await this.revocations.version();
    const signed = this.signed;
    // docs/keys.md: only the active key signs, and a retired key leaves the JWKS once the tokens it signed
    // have expired (MAX_TOKEN_TTL, often shorter than the list's lifetime): re-sign after every rotation.
    if (
      signed &&
      signed.version === version &&
      signed.kid === this.keys.active.kid &&
      clock.seconds() < signed.iat + this.ttl / 2
    ) {
      return signed;
    }
    // Concurrent requests share one rebuild.
    this.building ??= this.build().finally(() => {
      this.building = undefined;
    });
    return this.building;
  }

  private async build(): Promise<SignedList> {
    const { version, entries } = await this.revocations.list();
    const iat = clock.seconds();
    const { kid } = this.keys.active;
    const revoked = entries.map(({ jti, exp }) => ({ jti, exp }));
    const minted = await this.minter.mint(
      { revoked },
      { typ: REVOCATION_LIST_TYP, issuedAt: iat, expiresAt: iat + this.ttl },
    );
    // Weak, and the same on every instance for one version: the lists differ only in iat, exp and jti,
    // so a resource server behind a load balancer still gets 304 while nothing was revoked.
    this.signed = { version, kid, token: minted.token, etag: `W/"v-${version}"`, iat };
    return this.signed;
  }
}
