// Storage changes told to every tab (BroadcastChannel), so no page offers a dataset, run,
// checkpoint or model-output set that another tab deleted, and every page offers what another tab
// stored (each page re-reads on a message), and a tab training on a
// dataset that another tab deletes stops cleanly. Listeners in this worker hear its own changes too.

import { STORAGE_CHANNEL, type StorageChange } from './api';

const channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(STORAGE_CHANNEL);
const listeners = new Set<(c: StorageChange) => void>();
channel?.addEventListener('message', (e: MessageEvent<StorageChange>) => listeners.forEach((l) => l(e.data)));

export function announce(change: StorageChange): void {
  channel?.postMessage(change);
  listeners.forEach((l) => l(change));
}

/** Calls `listener` on every change, from any tab; returns the unsubscribe. */
export function onChange(listener: (c: StorageChange) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
