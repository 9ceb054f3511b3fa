import { holdSighup } from './sighup-hold.js';

// Imported first by main.ts: loading the other modules takes about a second, and SIGHUP must not end
// the server meanwhile (it reloads and never stops it: docs/operations.md).
holdSighup();
