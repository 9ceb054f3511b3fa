import type { Sealed } from './envelope.js';
import {
  nowSeconds,
  type GrantKey,
  type GrantRecord,
  type GrantUpdate,
  type PendingConnect,
  type VaultStore,
} from './vault-store.js';

/**
 * The vault in process memory (development without DATABASE_URL): forgotten on restart, not shared
 * between instances. Same semantics as PostgreSQL: one locked section per grant at a time, and a new
 * connection or a removal of the grant waits for the one under way (as for the row lock).
 */
export class MemoryVaultStore implements VaultStore {
  private readonly grants = new Map<string, GrantRecord>();
  private readonly pending = new Map<string, PendingConnect>();
  private readonly locks = new Map<string, Promise<unknown>>();

  async migrate(): Promise<void> {}

  async read(key: GrantKey): Promise<GrantRecord | undefined> {
    return this.grants.get(id(key));
  }

  async withGrantLock<T>(
    key: GrantKey,
    work: (record: GrantRecord | undefined) => Promise<{ readonly update?: GrantUpdate; readonly value: T }>,
  ): Promise<T> {
    return this.locked(key, async () => {
      const { update, value } = await work(this.grants.get(id(key)));
      if (update) this.apply(key, update);
      return value;
    });
  }

  /** As PostgreSQL's upsert waits for the grant's row lock: never in the middle of a locked section. */
  async save(key: GrantKey, tokens: Extract<GrantUpdate, { kind: 'tokens' }>): Promise<void> {
    await this.locked(key, async () => {
      const now = nowSeconds();
      this.grants.set(id(key), {
        key,
        status: 'connected',
        scopes: [...tokens.scopes],
        expiresAt: tokens.expiresAt,
        sealed: tokens.sealed,
        connectedAt: now,
        updatedAt: now,
      });
    });
  }

  /** As PostgreSQL's DELETE waits for the row lock: returns the grant as a locked section under way left it. */
  async remove(key: GrantKey): Promise<GrantRecord | undefined> {
    return this.locked(key, async () => {
      const record = this.grants.get(id(key));
      this.grants.delete(id(key));
      return record;
    });
  }

  async savePending(pending: PendingConnect): Promise<void> {
    const now = nowSeconds();
    for (const [hash, p] of this.pending) if (p.expiresAt <= now) this.pending.delete(hash);
    this.pending.set(pending.stateHash, pending);
  }

  async findPendingByState(stateHash: string): Promise<PendingConnect | undefined> {
    const pending = this.pending.get(stateHash);
    return pending && pending.connectCodeHash === undefined && pending.expiresAt > nowSeconds() ? pending : undefined;
  }

  async markReturned(stateHash: string, connectCodeHash: string, sealed: Sealed): Promise<boolean> {
    const pending = this.pending.get(stateHash);
    if (!pending || pending.connectCodeHash !== undefined) return false;
    this.pending.set(stateHash, { ...pending, connectCodeHash, sealed });
    return true;
  }

  async takePendingByCode(connectCodeHash: string): Promise<PendingConnect | undefined> {
    for (const [hash, pending] of this.pending) {
      if (pending.connectCodeHash !== connectCodeHash) continue;
      this.pending.delete(hash);
      return pending.expiresAt > nowSeconds() ? pending : undefined;
    }
    return undefined;
  }

  async removePending(stateHash: string): Promise<void> {
    this.pending.delete(stateHash);
  }

  async close(): Promise<void> {}

  /** Runs `step` after every earlier step on this grant has settled, as a row lock orders them. */
  private locked<T>(key: GrantKey, step: () => Promise<T>): Promise<T> {
    const name = id(key);
    const previous = this.locks.get(name) ?? Promise.resolve();
    const run = previous.then(step);
    const settled = run.catch(() => undefined);
    this.locks.set(name, settled);
    void settled.then(() => {
      if (this.locks.get(name) === settled) this.locks.delete(name);
    });
    return run;
  }

  private apply(key: GrantKey, update: GrantUpdate): void {
    const current = this.grants.get(id(key));
    if (!current) return;
    const updatedAt = nowSeconds();
    this.grants.set(
      id(key),
      update.kind === 'tokens'
        ? {
            ...current,
            status: 'connected',
            sealed: update.sealed,
            scopes: [...update.scopes],
            expiresAt: update.expiresAt,
            updatedAt,
          }
        : { ...current, status: 'disconnected', sealed: null, expiresAt: null, reason: update.reason, updatedAt },
    );
  }
}

function id(key: GrantKey): string {
  return JSON.stringify([key.connection, key.user.iss, key.user.sub]);
}
