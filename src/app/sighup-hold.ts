let held: { received: boolean; listener: () => void } | undefined;

/**
 * SIGHUP's default action ends a Node process: from the first module main.ts loads until reloadOnSighup
 * listens, one arriving (logrotate, a configuration push, a primary passing it on) is held instead.
 */
export function holdSighup(): void {
  if (held) return;
  const hold = { received: false, listener: () => void (hold.received = true) };
  held = hold;
  process.on('SIGHUP', hold.listener);
}

/** Stops holding; true when a SIGHUP arrived meanwhile. */
export function releaseHeldSighup(): boolean {
  if (!held) return false;
  process.off('SIGHUP', held.listener);
  const { received } = held;
  held = undefined;
  return received;
}
