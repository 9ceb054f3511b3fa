import { Inject, Injectable, Logger, type INestApplicationContext, type OnApplicationShutdown } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CLIENTS } from '../clients/client-registry.js';
import { clock } from '../common/clock.js';
import { LiveConfig, type Generation } from '../config/live-config.js';
import { RUN_MODE, type RunMode } from '../config/run-mode.js';
import { SERVER_CONFIG, type ServerConfig } from '../config/server-config.js';
import { ANCHORS } from '../trust-anchors/anchor-index.js';
import { KEYS } from '../keys/key-service.js';
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
 * request the token endpoint already saw reports its policy, not a replay), built on first use from
 * the configuration in force with this server's own keys, so tokens it issued (a chain) verify; built
 * again after a reload (SIGHUP, a key rotation), so it never explains a policy no longer in force.
 */
@Injectable()
export class PlaygroundExplain implements OnApplicationShutdown {
  private built: { readonly generation: Generation; readonly context: Promise<INestApplicationContext> } | undefined;

  constructor(
    @Inject(SERVER_CONFIG) private readonly server: ServerConfig,
    @Inject(RUN_MODE) private readonly mode: RunMode,
    private readonly live: LiveConfig,
  ) {}

  async explain(input: PolicyCheckInput): Promise<PlaygroundExplanation> {
    const { config, context } = this.policyTools();
    const report = withoutOperatorDetail(await (await context).get(PolicyCheck).run(input), this.mode);
    const text = formatReport(report, `now (${clock.date().toISOString()})`);
    if (this.mode !== 'development' || !report.anchor?.has_rules) return { report, text };
    // The policy's text is the operator's; a production page shows rule names and results only.
    const rules = config.anchors.find((a) => a.name === report.anchor!.name)?.config.rules ?? [];
    return { report, text, conditions: Object.fromEntries(rules.map((rule) => [rule.name, rule.condition])) };
  }

  async onApplicationShutdown(): Promise<void> {
    const built = this.built;
    this.built = undefined;
    if (built) await close(built.context);
  }

  /** The policy tools of the generation in force: the previous ones are closed once it changed. */
  private policyTools(): { config: PolicyToolsConfig; context: Promise<INestApplicationContext> } {
    const generation = this.live.generation;
    const config: PolicyToolsConfig = {
      mode: this.mode,
      server: this.server,
      anchors: [...generation.get(ANCHORS).byName.values()].map((built) => built.file),
      clients: generation.get(CLIENTS).clients,
    };
    if (this.built?.generation !== generation) {
      if (this.built) void close(this.built.context);
      const context = this.create(config, generation).catch((error: unknown) => {
        if (this.built?.context === context) this.built = undefined;
        throw error;
      });
      this.built = { generation, context };
    }
    return { config, context: this.built.context };
  }

  private async create(config: PolicyToolsConfig, generation: Generation): Promise<INestApplicationContext> {
    new Logger('Playground').log(
      `explain: loading the policy tools (anchors and validators, as npm run explain), configuration ${generation.id}`,
    );
    // The same keys as the server; not "ephemeral" again, which would log a second generated key.
    const keys = { ...generation.get(KEYS).set, ephemeral: false };
    // No logger option: Nest's logger is process-wide, and the server's must stay as configured.
    const context = await NestFactory.createApplicationContext(PolicyToolsModule.forRoot(config, keys), {
      abortOnError: false,
    });
    await context.init();
    return context;
  }
}

/** Closes a policy-tools context that is no longer in use (one that failed to build has nothing to close). */
async function close(context: Promise<INestApplicationContext>): Promise<void> {
  const built = await context.catch(() => undefined);
  await built?.close();
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
