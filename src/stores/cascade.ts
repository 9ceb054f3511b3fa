import type { LineageStore } from './lineage-store.js';
import type { Revocation, RevocationStore } from './revocation-store.js';

/** Keys expanded per store round trip, and children revoked per write. */
export const CASCADE_BATCH = 500;

export interface CascadeResult {
  /** Descendants revoked (each once, however many paths lead to it). */
  readonly descendants: number;
  /** Of those, the ones not revoked before: fewer when this walk completes an earlier one cut short. */
  readonly newlyRevoked: number;
  /** Store round trips reading children (one per batch of CASCADE_BATCH keys). */
  readonly batches: number;
}

/**
 * Revokes `start` and, breadth first, every live descendant in the lineage. The graph holds only
 * tokens within their lifetime, and each is visited once, so the work is bounded by what exists: one
 * read per CASCADE_BATCH keys of a level and one write per CASCADE_BATCH children. There is no cap
 * that stops early: a wide tree takes more batches, never fewer revocations. `start` is revoked first,
 * so from that moment every exchange or introspection of a descendant finds the revoked ancestor (the
 * lineage store's `inspect`), even while the walk is still marking descendants for the feed. `start` is
 * flagged with a mark saying its walk is pending, cleared when the walk is done: a walk cut short (the
 * store failing mid-way) is completed by any instance (CascadeResumer), or by revoking `start` again:
 * every step is idempotent. `progress` is told when `start` is flagged (from then on the revocation
 * stands, whatever fails next) and of each descendant this walk revoked (not revoked before).
 * It runs while the store's memory is in doubt too (docs/operations.md: root and subject revocations
 * forgotten with a loss are repeated then), reaching what the store has recorded since.
 */
export async function revokeWithDescendants(
  revocations: RevocationStore,
  lineage: LineageStore,
  start: { readonly key: string; readonly exp: number },
  progress: { readonly flagged?: () => void; readonly reached?: (revocation: Revocation) => void } = {},
): Promise<CascadeResult> {
  const { reached } = progress;
  await revocations.beginWalk({ key: start.key, exp: start.exp, origin: start.key });
  progress.flagged?.();
  const seen = new Set<string>([start.key]);
  let frontier = [start.key];
  let descendants = 0;
  let newlyRevoked = 0;
  let batches = 0;
  while (frontier.length > 0) {
    const next: string[] = [];
    for (let i = 0; i < frontier.length; i += CASCADE_BATCH) {
      const children = await lineage.children(frontier.slice(i, i + CASCADE_BATCH), true);
      batches++;
      const fresh: Revocation[] = [];
      for (const child of children) {
        if (seen.has(child.jti)) continue;
        seen.add(child.jti);
        fresh.push({ key: child.jti, exp: child.exp, origin: start.key });
        next.push(child.jti);
      }
      for (let j = 0; j < fresh.length; j += CASCADE_BATCH) {
        const batch = fresh.slice(j, j + CASCADE_BATCH);
        const revoked = new Set(await revocations.revokeMany(batch));
        newlyRevoked += revoked.size;
        if (reached) for (const revocation of batch) if (revoked.has(revocation.key)) reached(revocation);
      }
      descendants += fresh.length;
    }
    frontier = next;
  }
  await revocations.endWalk(start);
  return { descendants, newlyRevoked, batches };
}
