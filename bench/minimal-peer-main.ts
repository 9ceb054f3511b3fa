import { readFileSync } from 'node:fs';
import { createMinimalPeer, type MinimalPeerOptions } from './minimal-peer.js';

// Runs the minimal peer as its own process, as the benchmark measures it: options from the JSON file
// named on the command line; prints {"port": N} once listening.
const options = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as MinimalPeerOptions & { port: number };
const app = await createMinimalPeer(options);
await app.listen({ port: options.port, host: '127.0.0.1' });
process.stdout.write(`${JSON.stringify({ port: options.port })}\n`);
