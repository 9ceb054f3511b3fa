import type { StoreObserver } from '../observability/metrics.js';
import { observed } from '../stores/observed-stores.js';
import type { VaultStore } from './vault-store.js';

/**
 * The vault's store with its commands timed as `store="vault"`. The grant lock passes through untimed:
 * its time is mostly the refresh at the provider it guards (the upstream timeout bounds it).
 */
export function observedVaultStore(store: VaultStore, observer: StoreObserver): VaultStore {
  return observed(store, observer, 'vault', {
    migrate: 'migrate',
    read: 'read',
    withGrantLock: null,
    save: 'save',
    remove: 'remove',
    savePending: 'save_pending',
    findPendingByState: 'find_pending',
    markReturned: 'mark_returned',
    takePendingByCode: 'take_pending',
    removePending: 'remove_pending',
  });
}
