/**
 * Revokes a token and everything delegated from it, across every instance (the shared store, REDIS_URL):
 *   npm run -s revoke -- --jti <jti>                              a token actbridge issued
 *   npm run -s revoke -- --root-issuer <iss> --root-jti <jti>     an upstream token (as its anchor issued it)
 *   npm run -s revoke -- --root-issuer <iss> --sub <sub>          every token of that subject
 * A token stays revoked until its expiry; a root or subject (and a token whose lineage is unknown) for
 * MAX_TOKEN_TTL + CLOCK_SKEW, during which exchanges of it are refused. Writes a token.revoked audit
 * line to AUDIT_LOG (opened first: nothing is revoked when it cannot be). Exit code: 0 done, 1 the store
 * could not be used (if it failed after the start was revoked, that revocation is audited and the walk is
 * left to the server's CascadeResumer or a rerun) or the audit line could not be written after the
 * revocation, 2 usage or configuration error.
 */
import 'reflect-metadata';
import { hostname, userInfo } from 'node:os';
import { parseCliArgs } from './cli-args.js';
import { StreamAuditSink } from '../audit/audit-sink.js';
import { AuditTrail } from '../audit/audit-trail.js';
import { revokeWithDescendants } from '../stores/cascade.js';
import { lineageTarget } from '../stores/lineage-target.js';
import { clock } from '../common/clock.js';
import { ConfigError } from '../config/config-error.js';
import { iso, openOperatorStores } from './lineage-stores.js';
import { printable } from '../common/printable.js';

const USAGE =
  'usage: npm run -s revoke -- --jti <jti> | --root-issuer <iss> --root-jti <jti> | --root-issuer <iss> --sub <sub>\n';

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseCliArgs({
      options: {
        jti: { type: 'string' },
        'root-issuer': { type: 'string' },
        'root-jti': { type: 'string' },
        sub: { type: 'string' },
      },
      strict: true,
    }));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const target = lineageTarget({
    jti: values.jti,
    rootIssuer: values['root-issuer'],
    rootJti: values['root-jti'],
    sub: values.sub,
  });
  if (typeof target === 'string') {
    process.stderr.write(`revoke: ${target.replace(/_/g, '-')}\n${USAGE}`);
    return 2;
  }
  const stores = openOperatorStores('revoke');
  if (typeof stores === 'string') {
    process.stderr.write(`${stores}\n`);
    return 2;
  }
  const { config, connection, revocations, lineage } = stores;
  let audit: StreamAuditSink;
  try {
    // Opened before anything is revoked: an unwritable AUDIT_LOG must not leave an unaudited revocation.
    audit = new StreamAuditSink(config.server.auditLog, config.server.auditFormat);
  } catch (error) {
    await connection.close();
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`revoke: configuration error: ${error.message}; nothing revoked\n`);
    return 2;
  }
  let done: string;
  let audited: () => void;
  let code = 0;
  let exp = 0;
  let flagged = false;
  let reached = 0;
  const auditLine = (descendants: number) => () =>
    new AuditTrail(audit).revoked(
      { client_authenticated: false },
      {
        operator: `${userInfo().username}@${hostname()}`,
        revoked_by: 'operator',
        ...(target.jti ? { jti: target.jti } : { key: target.key }),
        exp,
        descendants_revoked: descendants,
      },
    );
  try {
    const window = config.server.maxTokenTtl + config.server.clockSkew;
    const [entry] = target.jti ? await lineage.entries([target.jti]) : [undefined];
    exp = entry?.exp ?? clock.seconds() + window;
    const result = await revokeWithDescendants(
      revocations,
      lineage,
      { key: target.key, exp },
      { flagged: () => (flagged = true), reached: () => reached++ },
    );
    done =
      `revoked ${printable(target.key)} until ${iso(exp)}${target.jti && !entry ? ' (no lineage recorded: unknown or expired token)' : ''}, ` +
      `and ${result.descendants} descendant(s) (${result.batches} store read(s))\n`;
    audited = auditLine(result.descendants);
  } catch (error) {
    if (!flagged) {
      process.stderr.write(`revoke: cannot use the store: ${(error as Error).message}\n`);
      return 1;
    }
    process.stderr.write(`revoke: the store failed while revoking the descendants: ${(error as Error).message}\n`);
    // The start is revoked (it stands, as every revocation): its audit line is due all the same; its walk is
    // marked pending, for any server instance to complete (docs/lineage.md), or a rerun of this command.
    done =
      `revoked ${printable(target.key)} until ${iso(exp)}, and ${reached} descendant(s) before the store failed; ` +
      'the walk of the others is completed by the server (CASCADE_RESUME_INTERVAL) or by running this command again\n';
    audited = auditLine(reached);
    code = 1;
  } finally {
    await connection.close();
  }
  try {
    audited();
    process.stdout.write(done);
    return code;
  } catch (error) {
    process.stdout.write(done);
    // The revocation stands: say so, and that its audit line is missing, rather than blame the store.
    const detail = (error as { detail?: string }).detail ?? (error as Error).message;
    process.stderr.write(`revoke: revoked, but the token.revoked audit line could not be written: ${detail}\n`);
    return 1;
  } finally {
    await audit.close();
  }
}

process.exitCode = await main();
