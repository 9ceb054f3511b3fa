// Preloaded (--import) into actbridge when the harness profiles it: Node writes --cpu-prof output only
// on a normal exit, and a profiled run has no use for the drain that SIGTERM otherwise starts.
process.prependListener('SIGTERM', () => process.exit(0));
