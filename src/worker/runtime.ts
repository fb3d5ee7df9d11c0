// The worker's start-up: the compute backend (created once per worker) and the clean-up of imports
// a reload or crash interrupted.

import { initBackend, type BackendInfo } from '../engine/backend';
import * as store from '../data/store';
import { importLocksHeld } from './jobs';

let backend: BackendInfo | null = null;

/** Removes samples of imports that a reload or crash interrupted (not those another tab is staging). */
async function cleanUpInterruptedImports(): Promise<void> {
  const orphans = await store.removeOrphanSamples(await importLocksHeld());
  if (orphans.length) console.info(`[ctc-lab] removed the staged samples of ${orphans.length} interrupted import(s)`);
}

/** The backend, after the one-time start-up. Every feature awaits this before GPU work. */
export async function ready(): Promise<BackendInfo> {
  if (!backend) {
    await cleanUpInterruptedImports();
    backend = await initBackend();
  }
  return backend;
}
