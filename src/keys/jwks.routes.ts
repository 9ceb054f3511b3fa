import { Inject, Injectable } from '@nestjs/common';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import type { HttpRoute, RouteProvider } from '../http/http-route.js';
import { JWKS_PATH } from '../oauth/endpoint-paths.js';
import { KeyService } from './key-service.js';

/** `GET /.well-known/jwks.json`: the published keys. */
@Injectable()
export class JwksRoutes implements RouteProvider {
  private readonly cacheControl: string;

  constructor(
    private readonly keys: KeyService,
    @Inject(SERVER_CONFIG) server: ServerConfig,
  ) {
    // Half the publish lead: a cache that fetched just before a key was published refetches (twice)
    // before that key may sign, so resource servers know it before its first token.
    this.cacheControl = `public, max-age=${Math.floor(server.signingKeysPublishLead / 2)}`;
  }

  routes(): HttpRoute[] {
    return [
      {
        name: 'JWKS',
        method: 'GET',
        path: JWKS_PATH,
        headers: { 'content-type': 'application/jwk-set+json', 'cache-control': this.cacheControl },
        handle: () => this.keys.jwks,
      },
    ];
  }
}
