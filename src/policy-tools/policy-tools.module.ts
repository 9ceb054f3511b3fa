import 'reflect-metadata';
import { Global, Module, type DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext, LoggerService } from '@nestjs/common';
import { ClientAuthModule } from '../client-auth/client-auth.module.js';
import type { ClientConfig } from '../clients/client.config.js';
import { CLIENT_CONFIGS } from '../clients/clients-loader.js';
import { RUN_MODE, type RunMode } from '../config/run-mode.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { ANCHOR_FILES, type LoadedTrustAnchor } from '../trust-anchors/anchor-loader.js';
import { DelegationModule } from '../delegation/delegation.module.js';
import { KeysModule } from '../keys/keys.module.js';
import { LiveConfig } from '../config/live-config.js';
import { buildGeneration } from '../trust-anchors/generation.js';
import { loadSigningKeys, type SigningKeySet } from '../keys/signing-keys.loader.js';
import { REPLAY_STORE, type ReplayStore } from '../stores/replay-store.js';
import { SubjectTokensModule } from '../subject-tokens/subject-tokens.module.js';
import { TrustAnchorsModule } from '../trust-anchors/trust-anchors.module.js';
import { PolicyCheck } from './policy-check.js';
import { MemoryRevocationStore } from '../stores/memory-revocation-store.js';
import { MemoryLineageStore } from '../stores/memory-lineage-store.js';
import { LINEAGE_STORE } from '../stores/lineage-store.js';
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
    const revocations = new MemoryRevocationStore();
    return {
      module: PolicyToolsStoresModule,
      providers: [
        { provide: REPLAY_STORE, useValue: new NonConsumingReplayStore() },
        // Revocations and lineage live in the server's store; the tools judge a token as if none were
        // revoked, and record nothing there.
        { provide: REVOCATION_STORE, useValue: revocations },
        { provide: LINEAGE_STORE, useValue: new MemoryLineageStore(revocations) },
      ],
      exports: [REPLAY_STORE, REVOCATION_STORE, LINEAGE_STORE],
    };
  }
}

/** What the policy tools read: the configuration as the server would load it. */
export interface PolicyToolsConfig {
  readonly mode: RunMode;
  readonly server: ServerConfig;
  readonly clients: readonly ClientConfig[];
  readonly anchors: readonly LoadedTrustAnchor[];
}

@Global()
@Module({})
class PolicyToolsConfigModule {
  static forRoot(config: PolicyToolsConfig, keys: SigningKeySet): DynamicModule {
    const providers = [
      { provide: LiveConfig, useValue: new LiveConfig(buildGeneration(1, config, keys)) },
      { provide: SERVER_CONFIG, useValue: config.server },
      { provide: RUN_MODE, useValue: config.mode },
      { provide: ANCHOR_FILES, useValue: config.anchors },
      { provide: CLIENT_CONFIGS, useValue: config.clients },
    ];
    return { module: PolicyToolsConfigModule, providers, exports: providers.map((p) => p.provide) };
  }
}

/** The token endpoint's providers (config, keys, anchors, validators, delegation core, clients), no HTTP. */
@Module({})
export class PolicyToolsModule {
  static forRoot(config: PolicyToolsConfig, keys: SigningKeySet): DynamicModule {
    return {
      module: PolicyToolsModule,
      imports: [
        PolicyToolsConfigModule.forRoot(config, keys),
        PolicyToolsStoresModule.forRoot(),
        KeysModule,
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
  config: PolicyToolsConfig,
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
