// The worker's start-up: the compute backend (created once per worker, created again after a GPU
// reset) and the clean-up of imports a reload or crash interrupted.

import { deviceLost, initBackend, recoverWebGpu, type BackendInfo } from '../engine/backend';
import * as store from '../data/store';
import * as outputStore from '../data/store_outputs';
import { announce } from './changes';
import { importLocksHeld } from './jobs';

let backend: BackendInfo | null = null;

/** Removes samples of imports that a reload or crash interrupted (not those another tab is staging). */
async function cleanUpInterruptedImports(): Promise<void> {
  const held = await importLocksHeld();
  const orphans = [...(await store.removeOrphanSamples(held)), ...(await outputStore.removeOrphanOutputSamples(held))];
  if (orphans.length) console.info(`[ctc-lab] removed the staged samples of ${orphans.length} interrupted import(s)`);
}

/**
 * The backend, after the one-time start-up. Every feature awaits this before GPU work. A WebGPU
 * device lost since the last job (a driver reset, the GPU process restarting) is replaced here, so
 * the next job runs on a new device instead of failing like the last one (NoGpuAdapterError when
 * no adapter comes back: the page offers the fallback).
 */
export async function ready(): Promise<BackendInfo> {
  if (!backend) {
    await cleanUpInterruptedImports();
    backend = await initBackend();
  } else if (backend.name === 'webgpu' && (await deviceLost(0))) {
    await recover();
  }
  return backend;
}

/** After a device loss: a new adapter and device (the caller has disposed what it held). */
export async function recover(): Promise<BackendInfo> {
  backend = await recoverWebGpu();
  announce({ kind: 'backend' });
  return backend;
}

/** The fallback the page offers when no WebGPU adapter comes back. */
export async function useFallback(): Promise<BackendInfo> {
  backend = await initBackend(['webgl', 'cpu']);
  announce({ kind: 'backend' });
  return backend;
}

export function currentBackend(): BackendInfo | null {
  return backend;
}
