#!/usr/bin/env node
import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp, listenManagement } from './app/app.factory.js';
import { ConfigError } from './config/config-error.js';
import type { RunMode } from './config/run-mode.js';
import { loadStsConfig } from './app/sts-config.js';
import { AnchorHealth } from './health/anchor-health.js';
import { installShutdown } from './http/shutdown.js';

const USAGE = `usage: actbridge [serve | start-dev]
  serve       production (the default): refuses to start without signing keys, with development
              anchors, plaintext client secrets or a misspelt setting
  start-dev   the embedded development defaults: ephemeral signing key, demo IdP, demo clients
`;

const DEV_BANNER = `
  ================================================================================
   actbridge DEVELOPMENT MODE (start-dev): ephemeral signing key, the demo IdP whose
   private key is public, plaintext demo secrets. Never expose this to a network.
   Production: node dist/main.js (actbridge serve) with SIGNING_KEYS and your anchors.
  ================================================================================
`;

async function serve(mode: RunMode): Promise<void> {
  const config = loadStsConfig(process.env, mode);
  if (mode === 'development') process.stderr.write(DEV_BANNER);
  const app = await createApp(config);
  await app.listen({ port: config.server.port, host: config.server.host });
  await listenManagement(app, config.server);
  const anchors = app.get(AnchorHealth);
  installShutdown(app, config.server);
  new Logger('actbridge').log(
    `listening on ${config.server.host}:${config.server.port} (${mode}); issuer ${config.server.issuer}; ` +
      `${anchors.usable().length} of ${anchors.all().length} trust anchor(s) usable, ${config.clients.length} client(s)`,
  );
}

function commandOf(argv: readonly string[]): RunMode | 'help' | undefined {
  const [command, ...rest] = argv;
  if (rest.length > 0) return undefined;
  if (command === undefined || command === 'serve') return 'production';
  if (command === 'start-dev') return 'development';
  if (command === 'help' || command === '--help' || command === '-h') return 'help';
  return undefined;
}

const command = commandOf(process.argv.slice(2));
if (command === 'help' || command === undefined) {
  process.stderr.write(USAGE);
  process.exit(command === 'help' ? 0 : 2);
}
serve(command).catch((error: unknown) => {
  // A configuration problem is the operator's to fix: print the message (file + field), not a stack.
  if (error instanceof ConfigError) {
    process.stderr.write(`actbridge: configuration error: ${error.message}\n`);
  } else {
    process.stderr.write(`actbridge: failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  }
  process.exit(1);
});
