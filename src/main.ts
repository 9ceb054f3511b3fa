import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp } from './app.factory.js';
import { ConfigError } from './config/config-error.js';
import { loadStsConfig } from './config/sts-config.js';
import { installShutdown } from './server/shutdown.js';

async function main(): Promise<void> {
  const config = loadStsConfig(process.env);
  const app = await createApp(config);
  await app.listen({ port: config.server.port, host: config.server.host });
  installShutdown(app, config.server);
  new Logger('actbridge').log(
    `listening on ${config.server.host}:${config.server.port}; issuer ${config.server.issuer}; ` +
      `${config.anchors.length} trust anchor(s), ${config.clients.length} client(s)`,
  );
}

main().catch((error: unknown) => {
  // A configuration problem is the operator's to fix: print the message (file + field), not a stack.
  if (error instanceof ConfigError) {
    process.stderr.write(`actbridge: configuration error: ${error.message}\n`);
  } else {
    process.stderr.write(
      `actbridge: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
