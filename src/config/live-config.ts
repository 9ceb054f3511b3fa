import { AsyncLocalStorage } from 'node:async_hooks';

/** A typed part of the reloadable configuration (clients, trust anchors, keys), owned by its folder. */
export class Slot<T> {
  declare private readonly type: T;
  constructor(readonly name: string) {}
}

/** One complete, validated configuration: every slot filled, never modified after it is built. */
export class Generation {
  private readonly parts = new Map<Slot<unknown>, unknown>();

  constructor(
    readonly id: number,
    parts: ReadonlyArray<readonly [Slot<unknown>, unknown]>,
  ) {
    for (const [slot, value] of parts) this.parts.set(slot, value);
  }

  get<T>(slot: Slot<T>): T {
    const value = this.parts.get(slot as Slot<unknown>);
    if (value === undefined) throw new Error(`configuration slot ${slot.name} is not filled`);
    return value as T;
  }

  /** A generation with `parts` replaced and the others kept. */
  with(id: number, parts: ReadonlyArray<readonly [Slot<unknown>, unknown]>): Generation {
    return new Generation(id, [...this.parts.entries(), ...parts]);
  }
}

/**
 * The configuration in force, swapped whole on reload (SIGHUP). A request pins the generation current
 * when it starts (`pin`) and reads it until it ends, so a reload never mixes two configurations within
 * one request; code outside a request reads the current one.
 */
export class LiveConfig {
  private readonly pinned = new AsyncLocalStorage<Generation>();

  constructor(private current: Generation) {}

  /** The slot's value in the request's generation, or the current one outside a request. */
  read<T>(slot: Slot<T>): T {
    return (this.pinned.getStore() ?? this.current).get(slot);
  }

  get generation(): Generation {
    return this.current;
  }

  /** Runs `fn` (and everything it awaits) on the generation current now. */
  pin<R>(fn: () => R): R {
    return this.pinned.run(this.current, fn);
  }

  /** Puts `next` in force for requests that start from now on; requests in flight keep theirs. */
  swap(next: Generation): void {
    this.current = next;
  }
}
