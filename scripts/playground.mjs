// `npm run playground`: two development actbridges whose playgrounds pair up (docs/playground.md).
//   domain A  http://localhost:8080  the shipped configuration: demo IdP, demo clients, chat-agent's ID-JAGs
//   domain B  http://localhost:8082  examples/xaa/domain-b's client, trusting domain A's ID-JAGs
// Each names the other in PLAYGROUND_PEER. Ctrl-C stops both.
import { spawn } from 'node:child_process';

const domains = [
  { name: 'domain-a', env: { PORT: '8080', PLAYGROUND_PEER: 'http://localhost:8082', MANAGEMENT_PORT: '9000' } },
  {
    name: 'domain-b',
    env: {
      PORT: '8082',
      CLIENTS_FILE: 'examples/xaa/domain-b/clients.yaml',
      TRUST_ANCHORS_DIR: 'examples/playground/domain-b/trust-anchors',
      PLAYGROUND_PEER: 'http://localhost:8080',
      MANAGEMENT_PORT: '9002',
    },
  },
];

const children = domains.map(({ name, env }) => {
  const child = spawn(process.execPath, ['--enable-source-maps', 'dist/main.js', 'start-dev'], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) {
    let rest = '';
    stream.on('data', (chunk) => {
      const lines = (rest + chunk.toString()).split('\n');
      rest = lines.pop();
      for (const line of lines) process.stdout.write(`[${name}] ${line}\n`);
    });
  }
  child.on('exit', (code, signal) => {
    process.stdout.write(`[${name}] exited (${signal ?? code})\n`);
    stop();
  });
  return child;
});

process.stdout.write('playground: http://localhost:8080/playground (domain B: http://localhost:8082/playground)\n');

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
}
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
