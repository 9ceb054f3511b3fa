/**
 * Container HEALTHCHECK: exits 0 when this instance's readiness probe answers 200, else 1. Reads the
 * same HOST, PORT and TLS_CERT_FILE as the server; talks to loopback when it listens on every address.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { READINESS_PATH } from '../oauth/endpoint-paths.js';

const port = Number(process.env.PORT ?? 8080);
// A server bound to one address (HOST=10.0.0.5) does not answer on 127.0.0.1: probe where it listens.
const bound = process.env.HOST?.trim();
const host = !bound || bound === '0.0.0.0' || bound === '::' ? '127.0.0.1' : bound;
const tls = Boolean(process.env.TLS_CERT_FILE);
// The certificate names the public host, not the address probed: this local probe checks liveness, not identity.
const send = tls ? httpsRequest : httpRequest;
const probe = send(
  { host, port, path: READINESS_PATH, method: 'GET', timeout: 3000, rejectUnauthorized: false },
  (response) => {
    response.resume();
    process.exit(response.statusCode === 200 ? 0 : 1);
  },
);
probe.on('timeout', () => probe.destroy(new Error('timeout')));
probe.on('error', () => process.exit(1));
probe.end();
