import { parentPort, workerData } from 'node:worker_threads';
import { samlAssertionSigner, type SamlSignerSettings } from './saml-signer.js';

// A worker thread of the SAML assertion pool (saml-pool.ts): signs `count` fresh Assertions on request
// and answers with them RFC 7522 §2.1 encoded (base64url, no padding).
const sign = samlAssertionSigner(workerData as SamlSignerSettings);
parentPort!.on('message', (count: number) => {
  const assertions: string[] = [];
  for (let i = 0; i < count; i++) assertions.push(Buffer.from(sign(), 'utf8').toString('base64url'));
  parentPort!.postMessage(assertions);
});
