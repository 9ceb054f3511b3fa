#!/usr/bin/env node
// Node loads a module graph whole (every file read and compiled: about half a second) before it runs its
// first module, so SIGHUP is held by this graph of two modules, and the server's code is loaded after it:
// SIGHUP reloads and never ends the server (docs/operations.md).
import './app/sighup-hold-at-start.js';

await import('./serve.js');
