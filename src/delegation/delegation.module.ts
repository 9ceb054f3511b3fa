import { Module } from '@nestjs/common';
import { DelegationPolicy } from './delegation-policy.js';

@Module({ providers: [DelegationPolicy], exports: [DelegationPolicy] })
export class DelegationModule {}
