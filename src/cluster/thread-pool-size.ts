/**
 * The size every serving process gives libuv's thread pool, where the single process computes its
 * signatures (node:crypto's callback form), and where async file writes and DNS lookups run. libuv makes
 * 4 threads unless `UV_THREADPOOL_SIZE` says otherwise, whatever the machine. With fewer cores than
 * that, the event loop, 4 pool threads and V8's helper threads take turns on too few cores, while an
 * exchange's signatures need well under one core (#29 in docs/performance-notes.md: on 2 cores, 2 threads
 * gave a shorter tail than 4, at no CPU cost the bench could see). So the pool gets one thread per usable core,
 * at least 2 (a slow DNS lookup holds a thread while it waits) and at most libuv's own 4. An operator's
 * `UV_THREADPOOL_SIZE` is left as given.
 */
const POOL_THREADS_MIN = 2;
const POOL_THREADS_MAX = 4;

/** The value to set `UV_THREADPOOL_SIZE` to, or undefined when the environment already sets it. */
export function threadPoolSize(env: NodeJS.ProcessEnv, usableCores: number): string | undefined {
  if (env.UV_THREADPOOL_SIZE !== undefined) return undefined;
  return String(Math.min(POOL_THREADS_MAX, Math.max(POOL_THREADS_MIN, usableCores)));
}
