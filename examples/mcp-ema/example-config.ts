import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';

/** This directory: the actbridge configurations live in `enterprise/` and `mcp-as/` beside this file. */
export const EXAMPLE_DIR = import.meta.dirname.endsWith('/dist')
  ? resolve(import.meta.dirname, '..')
  : import.meta.dirname;

/** The two actbridge deployments of the example, as their directories are named. */
export type Side = 'enterprise' | 'mcp-as';

/** Where each party listens; the configuration files are written for these origins. */
export interface Origins {
  /** actbridge as the enterprise IdP (issues ID-JAGs). */
  readonly enterprise: string;
  /** actbridge as the MCP server's authorization server (redeems them). */
  readonly mcpAs: string;
  /** The MCP server; its resource identifier is `${mcpServer}/mcp`. */
  readonly mcpServer: string;
}

export const DEFAULT_ORIGINS: Origins = {
  enterprise: 'http://127.0.0.1:8181',
  mcpAs: 'http://127.0.0.1:8182',
  mcpServer: 'http://127.0.0.1:8183',
};

/** One side's configuration as actbridge reads it: anchor files by name, and the clients file's list. */
export interface SideConfig {
  readonly anchors: Record<string, Record<string, unknown>>;
  readonly clients: Array<Record<string, unknown>>;
}

/**
 * Reads one side's YAML files with the default origins moved to `origins` (another set of ports, as
 * the tests use): the files are the configuration shown in the docs, never a copy of it.
 */
export function readSide(side: Side, origins: Origins = DEFAULT_ORIGINS): SideConfig {
  const dir = join(EXAMPLE_DIR, side);
  const read = (file: string) => parse(moveOrigins(readFileSync(file, 'utf8'), origins)) as Record<string, unknown>;
  const anchors = Object.fromEntries(
    readdirSync(join(dir, 'trust-anchors'))
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => [f.replace(/\.yaml$/, ''), read(join(dir, 'trust-anchors', f))]),
  );
  return { anchors, clients: read(join(dir, 'clients.yaml')).clients as Array<Record<string, unknown>> };
}

/**
 * The directories actbridge is started with for one side: the committed ones for the default origins,
 * else a temporary copy with the origins moved (relative paths in the anchors made absolute).
 */
export function sideDirectories(
  side: Side,
  origins: Origins,
): { trustAnchorsDir: string; clientsFile: string; temporaryDir?: string } {
  const dir = join(EXAMPLE_DIR, side);
  if (sameOrigins(origins, DEFAULT_ORIGINS)) {
    return { trustAnchorsDir: join(dir, 'trust-anchors'), clientsFile: join(dir, 'clients.yaml') };
  }
  const out = mkdtempSync(join(tmpdir(), `actbridge-mcp-ema-${side}-`));
  mkdirSync(join(out, 'trust-anchors'));
  for (const file of readdirSync(join(dir, 'trust-anchors')).filter((f) => f.endsWith('.yaml'))) {
    const text = moveOrigins(readFileSync(join(dir, 'trust-anchors', file), 'utf8'), origins).replace(
      /^jwks_file: (.+)$/m,
      (_line, path: string) => `jwks_file: ${resolve(dir, 'trust-anchors', path.trim())}`,
    );
    writeFileSync(join(out, 'trust-anchors', file), text);
  }
  writeFileSync(join(out, 'clients.yaml'), moveOrigins(readFileSync(join(dir, 'clients.yaml'), 'utf8'), origins));
  return { trustAnchorsDir: join(out, 'trust-anchors'), clientsFile: join(out, 'clients.yaml'), temporaryDir: out };
}

function moveOrigins(text: string, origins: Origins): string {
  return text
    .replaceAll(DEFAULT_ORIGINS.enterprise, origins.enterprise)
    .replaceAll(DEFAULT_ORIGINS.mcpAs, origins.mcpAs)
    .replaceAll(DEFAULT_ORIGINS.mcpServer, origins.mcpServer);
}

function sameOrigins(a: Origins, b: Origins): boolean {
  return a.enterprise === b.enterprise && a.mcpAs === b.mcpAs && a.mcpServer === b.mcpServer;
}
