import 'reflect-metadata';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { ClientsModule } from '../clients/clients.module.js';
import { ConfigModule } from '../config/config.module.js';
import type { StsConfig } from '../config/sts-config.js';
import { DelegationModule } from '../delegation/delegation.module.js';
import { KeysModule } from '../keys/keys.module.js';
import { loadSigningKeys, type SigningKeySet } from '../keys/signing-keys.loader.js';
import { REPLAY_STORE, type ReplayStore } from '../stores/replay-store.js';
import { SubjectTokensModule } from '../subject-tokens/subject-tokens.module.js';
import { TrustAnchorsModule } from '../trust-anchors/trust-anchors.module.js';
import { PolicyCheck } from './policy-check.js';

/**
 * The replay store of the policy tools: never records, so explaining a single-use token (a SAML
 * assertion, an assertion `jti`) leaves it usable. Single use is therefore NOT checked by the tools;
 * their output says so.
 */
export class NonConsumingReplayStore implements ReplayStore {
  consume(): Promise<boolean> {
    return Promise.resolve(true);
  }
}

@Global()
@Module({})
class PolicyToolsStoresModule {
  static forRoot(): DynamicModule {
    return {
      module: PolicyToolsStoresModule,
      providers: [{ provide: REPLAY_STORE, useValue: new NonConsumingReplayStore() }],
      exports: [REPLAY_STORE],
    };
  }
}

/** The token endpoint's providers (config, keys, anchors, validators, delegation core, clients), no HTTP. */
@Module({})
export class PolicyToolsModule {
  static forRoot(config: StsConfig, keys: SigningKeySet): DynamicModule {
    return {
      module: PolicyToolsModule,
      imports: [
        ConfigModule.forRoot(config),
        PolicyToolsStoresModule.forRoot(),
        KeysModule.forRoot(keys),
        TrustAnchorsModule,
        SubjectTokensModule,
        DelegationModule,
        ClientsModule,
      ],
      providers: [PolicyCheck],
      exports: [PolicyCheck],
    };
  }
}

/** A Nest application context (nothing listens) with the real providers, for explain and policy tests. */
export async function createPolicyToolsContext(
  config: StsConfig,
  logger: LoggerService | false = false,
): Promise<INestApplicationContext> {
  const keys = await loadSigningKeys(config.server, config.mode);
  const context = await NestFactory.createApplicationContext(PolicyToolsModule.forRoot(config, keys), {
    logger,
    abortOnError: false,
  });
  await context.init();
  return context;
}
