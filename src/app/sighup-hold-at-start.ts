import { holdSighup } from './sighup-hold.js';

// Imported by main.ts before the rest of the code loads (about a second), and SIGHUP must not end
// the server meanwhile (it reloads and never stops it: docs/operations.md).
holdSighup();
