/** Messages between the primary and its workers over the cluster's IPC channel. */

/** Worker → primary: listening, with what the startup line reports. */
export interface ReadyMessage {
  readonly actbridge: 'ready';
  readonly anchorsUsable: number;
  readonly anchorsConfigured: number;
}

/** Primary → worker: drain and exit, as on `signal` (the primary received it). */
export interface StopMessage {
  readonly actbridge: 'stop';
  readonly signal: string;
}

export function isReady(message: unknown): message is ReadyMessage {
  return (message as ReadyMessage | undefined)?.actbridge === 'ready';
}

export function isStop(message: unknown): message is StopMessage {
  return (message as StopMessage | undefined)?.actbridge === 'stop';
}
