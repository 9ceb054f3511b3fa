/**
 * Polls `condition` until it holds, for what has no promise to await (a background fetch reaching an
 * endpoint, requests arriving at a stub); fails naming `what` once `timeoutMs` has passed.
 */
export async function waitFor(condition: () => boolean, what: string, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
