/**
 * V8 settings every serving process (a single process, the primary, each worker) gives itself, so that
 * `node dist/main.js`, `npm start`, the container image and a cluster worker all run the same way.
 *
 * `--no-allocation-site-pretenuring`: V8 moves the objects of an allocation site straight to the old
 * generation once most of them survived a young collection. At saturation many requests are in flight
 * across each young collection, so sites on the request path (form fields, policy inputs, audit records)
 * got pretenured (not in every run), and from then on every request left several kB in the old
 * generation for the next full collection to find: in those runs the heap grew 5–6 MB per young
 * collection instead of under 1 MB and young collections took 9–11 ms on average instead of 3–5; full
 * ones were more frequent and longer (docs/performance-notes.md, #25). A request's objects die young; the one long-lived thing an exchange
 * makes (its lineage entry) is small and copied once more before promotion.
 */
export const V8_FLAGS: readonly string[] = ['--no-allocation-site-pretenuring'];

/** A flag's name without its `--`/`--no-` and with `_` read as `-` (V8 accepts both spellings). */
const nameOf = (flag: string): string =>
  flag
    .replace(/^--(no-|no_)?/, '')
    .split('=')[0]!
    .replace(/_/g, '-');

/** The flags of V8_FLAGS to set: those the command line (`execArgv`) does not set either way itself. */
export function v8FlagsToSet(execArgv: readonly string[]): string[] {
  const given = new Set(execArgv.filter((arg) => arg.startsWith('--')).map(nameOf));
  return V8_FLAGS.filter((flag) => !given.has(nameOf(flag)));
}
