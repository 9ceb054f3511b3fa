import { Module } from '@nestjs/common';
import { ClientAuthModule } from '../client-auth/client-auth.module.js';
import { DelegationPolicy } from './delegation-policy.js';

@Module({ imports: [ClientAuthModule], providers: [DelegationPolicy], exports: [DelegationPolicy] })
export class DelegationModule {}
