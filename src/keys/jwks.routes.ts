import { Injectable } from '@nestjs/common';
import type { HttpRoute, RouteProvider } from '../http/http-route.js';
import { JWKS_PATH } from '../oauth/endpoint-paths.js';
import { KeyService } from './key-service.js';

/** `GET /.well-known/jwks.json`: the published keys. */
@Injectable()
export class JwksRoutes implements RouteProvider {
  constructor(private readonly keys: KeyService) {}

  routes(): HttpRoute[] {
    return [
      {
        name: 'JWKS',
        method: 'GET',
        path: JWKS_PATH,
        // Short enough that a newly published next key is seen well before it becomes active.
        headers: { 'content-type': 'application/jwk-set+json', 'cache-control': 'public, max-age=300' },
        handle: () => this.keys.jwks,
      },
    ];
  }
}
