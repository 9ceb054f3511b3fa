/**
 * "Why was this token refused, and what would it get?" without issuing anything:
 *   npm run -s explain -- --subject-token <jwt|-|@file> --client <client_id> [--subject-token-type jwt]
 *     [--actor-token … --actor-token-type …] [--audience …]… [--resource …]… [--scope "a b"]
 *     [--at <ISO time|epoch seconds>] [--json]
 * Loads the real configuration (same environment as the server), validates the tokens with the real
 * validators in a Nest application context (nothing listens, nothing is issued, no single-use identifier
 * is consumed), evaluates the anchor's rules and the delegation core, and prints the outcome.
 * Exit code: 0 would issue, 1 would refuse, 2 usage or configuration error.
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { parseCliArgs } from './cli-args.js';
import { ConfigError } from '../config/config-error.js';
import { loadStsConfig } from '../app/sts-config.js';
import { PolicyCheck } from '../policy-tools/policy-check.js';
import { createPolicyToolsContext } from '../policy-tools/policy-tools.module.js';
import { formatReport, tokenTypeUri } from '../policy-tools/report-format.js';
import { clock } from '../common/clock.js';
import { parseInstant } from '../policy-tools/instant.js';

const USAGE =
  'usage: npm run -s explain -- --subject-token <token|-|@file> --client <client_id> [--subject-token-type jwt]\n' +
  '         [--actor-token <token|@file> --actor-token-type <type>] [--audience <a>]... [--resource <uri>]...\n' +
  '         [--scope "<scopes>"] [--at <ISO time|epoch seconds>] [--json]\n';

/** A token argument: the value, `-` for stdin (keeps it out of shell history), or `@file`. */
function readToken(value: string, option: string): string {
  let token: string;
  try {
    if (value === '-') token = readFileSync(0, 'utf8').trim();
    else if (value.startsWith('@')) token = readFileSync(value.slice(1), 'utf8').trim();
    else token = value.trim();
  } catch (error) {
    // A missing or unreadable file is the operator's to fix: one line naming it, not a stack.
    throw new UsageError(`${option} ${value}: cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  // Closed stdin or an empty file gives no token: a usage error, not a refusal the token would get (exit 1).
  if (token === '')
    throw new UsageError(`${value === '-' || value.startsWith('@') ? `${option} ${value}` : option}: is empty`);
  return token;
}

class UsageError extends Error {}

async function main(): Promise<number> {
  let args;
  try {
    args = parseCliArgs({
      options: {
        'subject-token': { type: 'string' },
        'subject-token-type': { type: 'string', default: 'jwt' },
        'actor-token': { type: 'string' },
        'actor-token-type': { type: 'string' },
        client: { type: 'string' },
        audience: { type: 'string', multiple: true, default: [] },
        resource: { type: 'string', multiple: true, default: [] },
        scope: { type: 'string' },
        at: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
      strict: true,
    }).values;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!args['subject-token'] || !args.client) {
    process.stderr.write(`--subject-token and --client are required\n${USAGE}`);
    return 2;
  }
  if ((args['actor-token'] === undefined) !== (args['actor-token-type'] === undefined)) {
    process.stderr.write(`--actor-token and --actor-token-type go together\n${USAGE}`);
    return 2;
  }
  let at: number | undefined;
  try {
    at = args.at === undefined ? undefined : parseInstant(args.at);
  } catch (error) {
    process.stderr.write(`--at: ${(error as Error).message}\n`);
    return 2;
  }

  if (args['subject-token'] === '-' && args['actor-token'] === '-') {
    process.stderr.write(`--subject-token and --actor-token cannot both be read from stdin (-); give one as @file\n`);
    return 2;
  }
  let subjectToken: string;
  let actorToken: string | undefined;
  try {
    subjectToken = readToken(args['subject-token'], '--subject-token');
    actorToken = args['actor-token'] === undefined ? undefined : readToken(args['actor-token'], '--actor-token');
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }

  // explain never issues: it evaluates the configured files as given, development anchors included.
  const config = loadStsConfig(process.env, 'development');
  // A target naming a token-vault connection is decided by the connection's rules, not trust-anchor policy.
  const targets = [...(args.audience ?? []), ...(args.resource ?? [])];
  const connection = config.vault.connections.find((c) => c.config.audiences.some((a) => targets.includes(a)));
  if (connection) {
    process.stderr.write(
      `explain covers trust-anchor policy, not token-vault exchanges: ${connection.config.audiences.find((a) => targets.includes(a))} names connection ${connection.name} (${connection.file}), decided by its rules (docs/token-vault.md)\n`,
    );
    return 2;
  }
  const context = await createPolicyToolsContext(config);
  try {
    const run = () =>
      context.get(PolicyCheck).run({
        client_id: args.client!,
        subject: { token: subjectToken, tokenType: tokenTypeUri(args['subject-token-type']!) },
        ...(actorToken !== undefined
          ? { actor: { token: actorToken, tokenType: tokenTypeUri(args['actor-token-type']!) } }
          : {}),
        audience: args.audience,
        resource: args.resource,
        ...(args.scope === undefined ? {} : { scope: args.scope }),
      });
    const report = at === undefined ? await run() : await clock.at(at * 1000, run);
    const when =
      at === undefined ? `now (${clock.date().toISOString()})` : `${new Date(at * 1000).toISOString()} (--at)`;
    process.stdout.write(args.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report, when));
    return report.outcome.decision === 'issue' ? 0 : 1;
  } finally {
    await context.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) process.stderr.write(`explain: configuration error: ${error.message}\n`);
    else process.stderr.write(`explain: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(2);
  },
);
