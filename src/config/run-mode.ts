/**
 * `production`: `actbridge serve` (`node dist/main.js`), which refuses to start insecure.
 * `development`: `actbridge start-dev` (`npm start`), the embedded defaults: an ephemeral signing key,
 * the demo IdP and plaintext demo secrets, only ever when explicitly asked for.
 */
export type RunMode = 'production' | 'development';

/** How this process was started (injection token). */
export const RUN_MODE = Symbol('RUN_MODE');
