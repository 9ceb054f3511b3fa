// `node --import` this file: it sends the process SIGHUP while Node is loading dist/cluster/primary.js,
// a module of the server's code past the SIGHUP hold, so a test can tell whether the hold is in place
// before the code loads (the default action would end the process at once, exit by signal).
import { register } from 'node:module';

register('./sighup-while-loading-hooks.mjs', import.meta.url);
