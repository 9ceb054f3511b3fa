import type { Type } from '@nestjs/common';
import type { RunMode } from '../config/run-mode.js';
import type { ServerConfig } from '../config/server-config.js';
import { HealthRoutes } from '../health/health.routes.js';
import type { RouteProvider } from '../http/http-route.js';
import { AdminRevocationRoutes } from '../introspection/admin-revocation.routes.js';
import { IntrospectionRoutes } from '../introspection/introspection.routes.js';
import { RevocationListRoutes } from '../introspection/revocation-list.routes.js';
import { RevocationRoutes } from '../introspection/revocation.routes.js';
import { JwksRoutes } from '../keys/jwks.routes.js';
import { MetadataRoutes } from '../metadata/metadata.routes.js';
import { PlaygroundModule } from '../playground/playground.module.js';
import { PlaygroundRoutes } from '../playground/playground-routes.js';
import { playgroundEnabled } from '../playground/playground-settings.js';
import { TokenRoute } from '../token-endpoint/token-route.js';
import { VaultRoutes } from '../vault/vault.routes.js';

/** The modules of optional endpoints this configuration turns on. */
export function optionalModules(config: { mode: RunMode; server: ServerConfig }): Array<Type<unknown>> {
  return playgroundEnabled(config.mode, config.server) ? [PlaygroundModule] : [];
}

/** Every HTTP route the STS serves: one line per endpoint group. */
export function routeProviders(config: { mode: RunMode; server: ServerConfig }): Array<Type<RouteProvider>> {
  return [
    TokenRoute,
    IntrospectionRoutes,
    RevocationRoutes,
    RevocationListRoutes,
    AdminRevocationRoutes,
    MetadataRoutes,
    JwksRoutes,
    HealthRoutes,
    VaultRoutes,
    ...(playgroundEnabled(config.mode, config.server) ? [PlaygroundRoutes] : []),
  ];
}
