import { Inject, Injectable, Logger, type INestApplicationContext, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { ClientConfig } from '../clients/client.config.js';
import { CLIENT_CONFIGS } from '../clients/clients-loader.js';
import { clock } from '../common/clock.js';
import { RUN_MODE, type RunMode } from '../config/run-mode.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { ANCHOR_FILES, type LoadedTrustAnchor } from '../trust-anchors/anchor-loader.js';
import { KeyService } from '../keys/key-service.js';
import { PolicyCheck, type PolicyCheckInput, type PolicyCheckReport } from '../policy-tools/policy-check.js';
import { PolicyToolsModule, type PolicyToolsConfig } from '../policy-tools/policy-tools.module.js';
import { formatReport } from '../policy-tools/report-format.js';

export interface PlaygroundExplanation {
  readonly report: PolicyCheckReport;
  /** What `npm run explain` prints for the same request. */
  readonly text: string;
  /** Development only: each traced rule's condition as written in its anchor file, by rule name. */
  readonly conditions?: Readonly<Record<string, string>>;
}

/**
 * The playground's explain view: `npm run explain`'s PolicyCheck in `npm run explain`'s Nest context
 * (PolicyToolsModule: the real validators with a replay store that never consumes, so explaining a
 * request the token endpoint already saw reports its policy, not a replay), built once on first use
 * with this server's own keys, so tokens it issued (a chain) verify.
 */
@Injectable()
export class PlaygroundExplain implements OnApplicationShutdown {
  private context: Promise<INestApplicationContext> | undefined;

  private readonly config: PolicyToolsConfig;

  constructor(
    @Inject(SERVER_CONFIG) server: ServerConfig,
    @Inject(RUN_MODE) mode: RunMode,
    @Inject(ANCHOR_FILES) anchors: readonly LoadedTrustAnchor[],
    @Inject(CLIENT_CONFIGS) clients: readonly ClientConfig[],
    private readonly keys: KeyService,
  ) {
    this.config = { mode, server, anchors, clients };
  }

  async explain(input: PolicyCheckInput): Promise<PlaygroundExplanation> {
    const context = await this.policyTools();
    const report = withoutOperatorDetail(await context.get(PolicyCheck).run(input), this.config.mode);
    const text = formatReport(report, `now (${clock.date().toISOString()})`);
    if (this.config.mode !== 'development' || !report.anchor?.has_rules) return { report, text };
    // The policy's text is the operator's; a production page shows rule names and results only.
    const rules = this.config.anchors.find((a) => a.name === report.anchor!.name)?.config.rules ?? [];
    return { report, text, conditions: Object.fromEntries(rules.map((rule) => [rule.name, rule.condition])) };
  }

  async onApplicationShutdown(): Promise<void> {
    const context = this.context;
    this.context = undefined;
    if (context) await (await context).close();
  }

  private policyTools(): Promise<INestApplicationContext> {
    this.context ??= this.create().catch((error: unknown) => {
      this.context = undefined;
      throw error;
    });
    return this.context;
  }

  private async create(): Promise<INestApplicationContext> {
    new Logger('Playground').log('explain: loading the policy tools (anchors and validators, as npm run explain)');
    // The same keys as the server; not "ephemeral" again, which would log a second generated key.
    const keys = { active: this.keys.active, published: this.keys.published, ephemeral: false };
    // No logger option: Nest's logger is process-wide, and the server's must stay as configured.
    const context = await NestFactory.createApplicationContext(PolicyToolsModule.forRoot(this.config, keys), {
      abortOnError: false,
    });
    await context.init();
    return context;
  }
}

/**
 * Production keeps operator detail (upstream URLs, network errors, rule internals named in `detail`)
 * in the operator's log, as the token endpoint does; a development page shows it.
 */
export function withoutOperatorDetail(report: PolicyCheckReport, mode: RunMode): PolicyCheckReport {
  if (mode === 'development' || report.outcome.decision !== 'refuse' || report.outcome.detail === undefined) {
    return report;
  }
  const { detail: _detail, ...outcome } = report.outcome;
  return { ...report, outcome };
}
