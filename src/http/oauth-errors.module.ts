import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { OAuthExceptionFilter } from './oauth-exception.filter.js';

/** The exception filter, as the application's global filter: every error of every route reaches it. */
@Module({ providers: [{ provide: APP_FILTER, useClass: OAuthExceptionFilter }] })
export class OAuthErrorsModule {}
