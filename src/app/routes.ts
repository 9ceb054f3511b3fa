import type { Type } from '@nestjs/common';
import type { RouteProvider } from '../http/http-route.js';
import { HealthRoutes } from '../health/health.routes.js';
import { IntrospectionRoutes } from '../introspection/introspection.routes.js';
import { RevocationRoutes } from '../introspection/revocation.routes.js';
import { JwksRoutes } from '../keys/jwks.routes.js';
import { MetadataRoutes } from '../metadata/metadata.routes.js';
import { TokenRoute } from '../token-endpoint/token-route.js';

/** Every HTTP route the STS serves: one line per endpoint group. */
export const ROUTE_PROVIDERS: ReadonlyArray<Type<RouteProvider>> = [
  TokenRoute,
  IntrospectionRoutes,
  RevocationRoutes,
  MetadataRoutes,
  JwksRoutes,
  HealthRoutes,
];
