// Preloaded (--import) into actbridge when the harness profiles it: Node writes --cpu-prof output only
// on a normal exit, and NestJS's shutdown hook re-raises SIGTERM after closing the app.
process.prependListener('SIGTERM', () => process.exit(0));
