import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { OAuthExceptionFilter } from './oauth-exception.filter.js';

/**
 * The exception filter, as the application's global filter and as a provider: the token route, which
 * Fastify serves without Nest's pipeline (token-route.ts), answers its errors through the same instance.
 */
@Module({
  providers: [OAuthExceptionFilter, { provide: APP_FILTER, useExisting: OAuthExceptionFilter }],
  exports: [OAuthExceptionFilter],
})
export class OAuthErrorsModule {}
