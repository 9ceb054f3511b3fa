/** Messages between the primary and its workers over the cluster's IPC channel. */

import type { KeyStateSnapshot } from '../keys/key-rotation.js';

/** Worker → primary: listening, with what the startup line reports. */
export interface ReadyMessage {
  readonly actbridge: 'ready';
  readonly anchorsUsable: number;
  readonly anchorsConfigured: number;
  /** Its keys' state, for a replacement worker to start from. */
  readonly keys: KeyStateSnapshot;
}

/** Worker → primary: its keys' state after a reload changed it. */
export interface KeysMessage {
  readonly actbridge: 'keys';
  readonly keys: KeyStateSnapshot;
}

/** Primary → worker: drain and exit, as on `signal` (the primary received it). */
export interface StopMessage {
  readonly actbridge: 'stop';
  readonly signal: string;
}

export function isReady(message: unknown): message is ReadyMessage {
  return (message as ReadyMessage | undefined)?.actbridge === 'ready';
}

export function isKeys(message: unknown): message is KeysMessage {
  return (message as KeysMessage | undefined)?.actbridge === 'keys';
}

export function isStop(message: unknown): message is StopMessage {
  return (message as StopMessage | undefined)?.actbridge === 'stop';
}
