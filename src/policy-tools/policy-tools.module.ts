import 'reflect-metadata';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { ClientAuthModule } from '../client-auth/client-auth.module.js';
import { ConfigModule } from '../app/config.module.js';
import type { StsConfig } from '../app/sts-config.js';
import { DelegationModule } from '../delegation/delegation.module.js';
import { KeysModule } from '../keys/keys.module.js';
import { loadSigningKeys, type SigningKeySet } from '../keys/signing-keys.loader.js';
import { REPLAY_STORE, type ReplayStore } from '../stores/replay-store.js';
import { SubjectTokensModule } from '../subject-tokens/subject-tokens.module.js';
import { TrustAnchorsModule } from '../trust-anchors/trust-anchors.module.js';
import { PolicyCheck } from './policy-check.js';
import { MemoryRevocationStore } from '../stores/memory-revocation-store.js';
import { REVOCATION_STORE } from '../stores/revocation-store.js';

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
      providers: [
        { provide: REPLAY_STORE, useValue: new NonConsumingReplayStore() },
        // Revocations live in the server's store; the tools judge a token as if none were revoked.
        { provide: REVOCATION_STORE, useValue: new MemoryRevocationStore() },
      ],
      exports: [REPLAY_STORE, REVOCATION_STORE],
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
        ClientAuthModule,
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
