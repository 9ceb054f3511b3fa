import 'reflect-metadata';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Min,
  MinLength,
  ValidateNested,
  ArrayNotEmpty,
} from 'class-validator';
import { loadClients } from '../clients/clients-loader.js';
import { loadTrustAnchorFiles, type LoadedTrustAnchor } from '../trust-anchors/anchor-loader.js';
import type { TrustAnchorRegistry } from '../trust-anchors/trust-anchor-registry.js';
import { listYamlFiles, readYamlFile, resolveBeside } from '../config/config-files.js';
import { loadServerConfig } from '../config/server-config.js';
import { configFailure, validateConfig } from '../config/validate-config.js';
import { ConfigError } from '../config/config-error.js';
import { tokenScope } from '../subject-tokens/jwt-token-verifier.js';
import { TokenTypes } from '../oauth/token-types.js';
import type { ValidatedToken } from '../subject-tokens/validated-token.js';
import type { PolicyCheckInput, PolicyCheckOutcome } from './policy-check.js';
import type { PolicyToolsConfig } from './policy-tools.module.js';
import { tokenTypeUri } from './report-format.js';
import { clock } from '../common/clock.js';
import { parseInstant } from './instant.js';

/** `expect.allowed`: the fields given are compared; others are not checked. */
export class ExpectedIssue {
  @IsOptional() @IsString() sub?: string;
  @IsOptional() @IsString() sub_iss?: string;
  @IsOptional() @IsString({ each: true }) audience?: string | string[];
  /** Space-separated; compared as a set. '' means no scope. */
  @IsOptional() @IsString() scope?: string;
  @IsOptional() @IsInt() @Min(0) ttl?: number;
  /** The rule that decides, as `<rule>` or `<anchor>/<rule>`. */
  @IsOptional() @IsString() rule?: string;
  @IsOptional() @IsIn(['delegation', 'impersonation']) mode?: string;
}

export class ExpectedRefusal {
  @IsString() error!: string;
  @IsOptional() @IsString() error_description?: string;
  @IsOptional() @IsIn(['request', 'client', 'subject_token', 'actor_token', 'delegation']) step?: string;
}

export class ExpectedDecision {
  @IsOptional() @ValidateNested() @Type(() => ExpectedIssue) allowed?: ExpectedIssue;
  @IsOptional() @ValidateNested() @Type(() => ExpectedRefusal) refused?: ExpectedRefusal;
}

export class PolicyTestCase {
  @IsString() @MinLength(1) name!: string;
  @IsString() client!: string;
  /** The anchor (by name) a claims/attributes subject comes from; a recorded token finds its own by `iss`. */
  @IsOptional() @IsString() anchor?: string;
  /** Fixed clock: ISO 8601 time or epoch seconds. Default: now (fine for claims without `exp`). */
  @IsOptional() at?: string | number | Date;
  @IsOptional() @IsObject() claims?: Record<string, unknown>;
  @IsOptional() @IsObject() attributes?: Record<string, string | string[]>;
  @IsOptional() @IsString() name_id?: string;
  @IsOptional() @IsString() name_id_format?: string;
  @IsOptional() @IsString() token?: string;
  /** Default `jwt`, or `saml2` for attributes / name_id; short names or full URIs. */
  @IsOptional() @IsString() token_type?: string;
  @IsOptional() @IsString() actor_token?: string;
  @IsOptional() @IsString() actor_token_type?: string;
  @IsOptional() @IsString({ each: true }) audience?: string | string[];
  @IsOptional() @IsString({ each: true }) resource?: string | string[];
  @IsOptional() @IsString() scope?: string;
  @ValidateNested() @Type(() => ExpectedDecision) @IsObject() expect!: ExpectedDecision;
}

export class PolicyTestFile {
  /** Anchor files to test, relative to this file (any name, `*.yaml.example` too). Default: TRUST_ANCHORS_DIR. */
  @IsOptional() @IsArray() @ArrayNotEmpty() @IsString({ each: true }) anchors?: string[];
  /** Clients file, relative to this file. Default: CLIENTS_FILE. */
  @IsOptional() @IsString() clients_file?: string;
  /** Server settings by environment variable name (e.g. ISSUER, TOKEN_TTL), over the process environment. */
  @IsOptional() @IsObject() env?: Record<string, string | number>;
  @IsArray() @ArrayNotEmpty() @ValidateNested({ each: true }) @Type(() => PolicyTestCase) cases!: PolicyTestCase[];
}

export interface LoadedPolicyTests {
  readonly file: string;
  readonly config: PolicyToolsConfig;
  readonly cases: readonly PolicyTestCase[];
}

/** Reads a test file and the configuration it names, through the server's own loaders. */
export function loadPolicyTestFile(file: string): LoadedPolicyTests {
  const parsed = validateConfig(PolicyTestFile, readYamlFile(file), file);
  const problems: Array<[string, string]> = [];
  parsed.cases.forEach((c, i) => {
    const at = `cases[${i}]`;
    const subjects = [c.claims ?? c.attributes ?? c.name_id, c.token].filter((v) => v !== undefined).length;
    if (subjects !== 1) problems.push([at, 'give either claims / attributes / name_id, or a recorded token']);
    if (c.token === undefined && c.anchor === undefined) problems.push([`${at}.anchor`, 'required with claims']);
    if ((c.actor_token === undefined) !== (c.actor_token_type === undefined)) {
      problems.push([at, 'actor_token and actor_token_type go together']);
    }
    if (c.at !== undefined) {
      // Checked with the file, so a bad clock is one line naming the case, not a stack mid-run.
      try {
        parseInstant(c.at);
      } catch (error) {
        problems.push([`${at}.at`, (error as Error).message]);
      }
    }
    if (c.expect && (c.expect.allowed === undefined) === (c.expect.refused === undefined)) {
      problems.push([`${at}.expect`, 'give exactly one of allowed, refused']);
    }
  });
  if (problems.length > 0) throw configFailure(file, problems);

  const env = {
    ...process.env,
    ...Object.fromEntries(Object.entries(parsed.env ?? {}).map(([k, v]) => [k, String(v)])),
  };
  // The policy tools never serve: every listed anchor is evaluated as given, development ones included.
  const server = loadServerConfig(env, 'development');
  const anchorFiles = parsed.anchors
    ? parsed.anchors.map((a) => resolveBeside(file, a))
    : listYamlFiles(resolveBeside(file, server.trustAnchorsDir));
  const anchors = loadTrustAnchorFiles(anchorFiles, server);
  const clients = loadClients(
    parsed.clients_file ? resolveBeside(file, parsed.clients_file) : server.clientsFile,
    server,
  );
  // Policy tests are about anchors and clients; connections are not loaded.
  return { file, config: { mode: 'development', server, clients, anchors }, cases: parsed.cases };
}

/** The PolicyCheck input of a case; a claims/attributes subject becomes a validated token of its anchor. */
export function caseInput(
  test: LoadedPolicyTests,
  c: PolicyTestCase,
  at: number,
  anchors: TrustAnchorRegistry,
): PolicyCheckInput {
  const list = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
  return {
    client_id: c.client,
    subject: c.token
      ? { token: c.token, tokenType: tokenTypeUri(c.token_type ?? 'jwt') }
      : { validated: claimsSubject(test, c, at, anchors) },
    ...(c.actor_token ? { actor: { token: c.actor_token, tokenType: tokenTypeUri(c.actor_token_type!) } } : {}),
    audience: list(c.audience),
    resource: list(c.resource),
    ...(c.scope === undefined ? {} : { scope: c.scope }),
  };
}

export function caseTime(c: PolicyTestCase): number {
  return c.at === undefined ? clock.seconds() : parseInstant(c.at);
}

/**
 * A subject given by its claims (or SAML attributes and NameID), as its anchor's validator would have
 * produced it; signature and time checks are what recorded-token cases are for. Claims without `exp`
 * are valid for a day from the case's clock.
 */
function claimsSubject(
  test: LoadedPolicyTests,
  c: PolicyTestCase,
  at: number,
  anchors: TrustAnchorRegistry,
): ValidatedToken {
  const anchor = anchors.anchors.find((a) => a.name === c.anchor && !a.self);
  const fail = (message: string): never => {
    throw new ConfigError(`${test.file}: case "${c.name}": ${message}`);
  };
  if (!anchor)
    return fail(
      `no anchor named "${c.anchor}" (have: ${test.config.anchors.map((a: LoadedTrustAnchor) => a.name).join(', ')})`,
    );
  const saml = c.attributes !== undefined || c.name_id !== undefined;
  const attributes = c.attributes
    ? Object.fromEntries(Object.entries(c.attributes).map(([k, v]) => [k, Array.isArray(v) ? v : [v]]))
    : undefined;
  const flattened = attributes
    ? Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, v.length === 1 ? v[0] : v]))
    : {};
  const claims: Record<string, unknown> = { iss: anchor.issuer, ...flattened, ...c.claims };
  if (claims.iss !== anchor.issuer) fail(`claims.iss is not the issuer of anchor ${anchor.name}`);
  const sub = c.name_id ?? claims.sub;
  if (typeof sub !== 'string' || sub.length === 0) return fail('needs claims.sub (or name_id)');
  const exp = claims.exp ?? at + 86_400;
  if (typeof exp !== 'number') return fail('claims.exp must be a number');
  const tokenType = tokenTypeUri(c.token_type ?? (saml ? TokenTypes.saml2 : TokenTypes.jwt));
  return {
    tokenType,
    principal: { sub, iss: anchor.issuer },
    anchor,
    claims,
    ...(c.name_id === undefined
      ? {}
      : { nameId: { value: c.name_id, ...(c.name_id_format ? { format: c.name_id_format } : {}) } }),
    ...(attributes ? { attributes } : {}),
    // As the validator reads it: an access token without scope grants none (no header here: no typ).
    scope: tokenScope(claims, anchor, tokenType, '', fail),
    expiresAt: exp,
    act: claims.act,
    mayAct: claims.may_act,
  };
}

/** Differences between what a case expects and what happened; [] when it passes. */
export function compareOutcome(expected: ExpectedDecision, actual: PolicyCheckOutcome): string[] {
  if (expected.refused) {
    if (actual.decision !== 'refuse')
      return [`expected a refusal (${expected.refused.error}), but it would issue: ${summary(actual)}`];
    const diffs: string[] = [];
    const want = expected.refused;
    if (want.error !== actual.error) diffs.push(field('error', want.error, actual.error));
    if (want.error_description !== undefined && want.error_description !== actual.error_description) {
      diffs.push(field('error_description', want.error_description, actual.error_description));
    }
    if (want.step !== undefined && want.step !== actual.step) diffs.push(field('step', want.step, actual.step));
    if (diffs.length > 0 && actual.detail) diffs.push(`(detail: ${actual.detail})`);
    return diffs;
  }
  const want = expected.allowed!;
  if (actual.decision !== 'issue') {
    return [
      `expected it to be allowed, but it would be refused at step "${actual.step}": ${actual.error}: ${actual.error_description}` +
        (actual.detail ? ` (detail: ${actual.detail})` : ''),
    ];
  }
  const diffs: string[] = [];
  const sortedScope = (s: string) => s.split(' ').filter(Boolean).sort().join(' ');
  const audience =
    want.audience === undefined ? undefined : Array.isArray(want.audience) ? want.audience : [want.audience];
  if (want.sub !== undefined && want.sub !== actual.sub) diffs.push(field('sub', want.sub, actual.sub));
  if (want.sub_iss !== undefined && want.sub_iss !== actual.sub_iss)
    diffs.push(field('sub_iss', want.sub_iss, actual.sub_iss));
  if (audience && [...audience].sort().join(' ') !== [...actual.audience].sort().join(' ')) {
    diffs.push(field('audience', audience, actual.audience));
  }
  if (want.scope !== undefined && sortedScope(want.scope) !== sortedScope(actual.scope)) {
    diffs.push(field('scope', want.scope, actual.scope));
  }
  if (want.ttl !== undefined && want.ttl !== actual.ttl) diffs.push(field('ttl', want.ttl, actual.ttl));
  if (want.mode !== undefined && want.mode !== actual.mode) diffs.push(field('mode', want.mode, actual.mode));
  if (want.rule !== undefined && want.rule !== actual.rule && !actual.rule?.endsWith(`/${want.rule}`)) {
    diffs.push(field('rule', want.rule, actual.rule));
  }
  return diffs;
}

function field(name: string, expected: unknown, actual: unknown): string {
  return `${name}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`;
}

function summary(outcome: Extract<PolicyCheckOutcome, { decision: 'issue' }>): string {
  return `sub ${outcome.sub}, audience ${outcome.audience.join(' ')}, scope "${outcome.scope}", ttl ${outcome.ttl}${outcome.rule ? `, rule ${outcome.rule}` : ''}`;
}
