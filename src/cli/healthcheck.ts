/**
 * Container HEALTHCHECK: exits 0 when this instance's readiness probe answers 200, else 1. Reads the
 * same PORT and TLS_CERT_FILE as the server; talks to loopback only.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { READINESS_PATH } from '../oauth/endpoint-paths.js';

const port = Number(process.env.PORT ?? 8080);
const tls = Boolean(process.env.TLS_CERT_FILE);
// The certificate names the public host, not 127.0.0.1: this local probe checks liveness, not identity.
const send = tls ? httpsRequest : httpRequest;
const probe = send(
  { host: '127.0.0.1', port, path: READINESS_PATH, method: 'GET', timeout: 3000, rejectUnauthorized: false },
  (response) => {
    response.resume();
    process.exit(response.statusCode === 200 ? 0 : 1);
  },
);
probe.on('timeout', () => probe.destroy(new Error('timeout')));
probe.on('error', () => process.exit(1));
probe.end();
