import { basename } from 'node:path';
import { listYamlFiles, readJwksFile, readYamlFile } from '../config/config-files.js';
import { secretKeyProblem } from '../config/config-validators.js';
import type { ServerConfig } from '../config/server-config.js';
import { configFailure, validateConfig } from '../config/validate-config.js';
import { compileAnchorPolicy, type AnchorPolicy } from '../policy/anchor-policy.js';
import { SELF_ANCHOR_NAME } from './anchor-index.js';
import { checkTokenSettings } from './anchor-token-settings.js';
import { checkAnchorKind } from './saml-anchor.loader.js';
import type { SecretValue } from './secret-value.js';
import { TrustAnchorConfig } from './trust-anchor.config.js';

/** A trust anchor as loaded: its validated file, its name and where it came from. */
export interface LoadedTrustAnchor {
  readonly name: string;
  readonly file: string;
  readonly config: TrustAnchorConfig;
  /** The anchor's compiled `rules:`; undefined when the file has none. */
  readonly policy?: AnchorPolicy;
  /** `introspection:` client secret, read from its environment variable or file at startup. */
  readonly introspectionSecret?: SecretValue;
}

/** The loaded trust anchors (injection token). */
export const ANCHOR_FILES = Symbol('ANCHOR_FILES');

export function loadTrustAnchors(
  dir: string,
  server: Pick<ServerConfig, 'issuer'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LoadedTrustAnchor[] {
  return loadTrustAnchorFiles(listYamlFiles(dir), server, env);
}

/** Loads the given anchor files (any name; `npm run policy:test` loads `*.yaml.example` files this way). */
export function loadTrustAnchorFiles(
  files: readonly string[],
  server: Pick<ServerConfig, 'issuer'>,
  env: Readonly<Record<string, string | undefined>> = process.env,
): LoadedTrustAnchor[] {
  const anchors: LoadedTrustAnchor[] = [];
  const byIssuer = new Map<string, string>();
  const byName = new Map<string, string>();
  for (const file of files) {
    const raw = readYamlFile(file);
    const config = validateConfig(TrustAnchorConfig, raw, file);
    const name = config.name ?? basename(file).replace(/\.ya?ml(\.example)?$/i, '');
    const problems: Array<[string, string]> = checkAnchorKind(raw, config, file);
    const sources = [config.discovery, config.jwks_uri, config.jwks, config.jwks_file].filter((v) => v !== undefined);
    if (sources.length > 1) {
      problems.push(['discovery', 'give at most one key source: discovery, jwks_uri, jwks or jwks_file']);
    }
    if (config.jwks_file !== undefined) config.jwks = readJwksFile(config.jwks_file, file, 'jwks_file');
    const secret = config.jwks && secretKeyProblem(config.jwks);
    if (secret) problems.push(['jwks', secret]);
    if (config.issuer === server.issuer) {
      problems.push(['issuer', "is actbridge's own issuer; its own tokens are trusted without an anchor file"]);
    }
    const otherIssuer = byIssuer.get(config.issuer);
    if (otherIssuer) problems.push(['issuer', `already configured in ${otherIssuer}`]);
    const otherName = byName.get(name);
    if (otherName) problems.push(['name', `"${name}" already used by ${otherName}`]);
    // Audit lines and metrics name the anchor of a token: "actbridge" says it is one actbridge issued.
    if (name === SELF_ANCHOR_NAME) {
      problems.push(['name', `"${name}" names actbridge's own tokens in audit lines and metrics; choose another name`]);
    }
    const tokenSettings = checkTokenSettings(config, file, env);
    problems.push(...tokenSettings.problems);
    if (problems.length > 0) throw configFailure(file, problems);
    byIssuer.set(config.issuer, file);
    byName.set(name, file);
    // Every rule expression is compiled now: a syntax or type error stops startup, naming file and rule.
    const policy =
      config.rules === undefined ? undefined : compileAnchorPolicy(file, name, config.rules, config.trusted_for_chains);
    anchors.push({
      name,
      file,
      config,
      introspectionSecret: tokenSettings.introspectionSecret,
      ...(policy ? { policy } : {}),
    });
  }
  return anchors;
}
