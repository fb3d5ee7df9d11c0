// Fault injection for the e2e suite (issue 14): destroy the GPU device, make the next checkpoint
// write fail as over quota, make no adapter come back after a reset. Enabled only when the page was
// opened by a test that set window.__ctcLabTestHooks before the page loaded (Playwright's
// addInitScript); no control on the page reaches it.

import { destroyDeviceForTest } from '../engine/backend';
import type { TestHook } from './api';

let enabled = false;

export function enableTestHooks(): void {
  enabled = true;
  console.warn('[ctc-lab] test hooks enabled (fault injection for the e2e suite)');
}

/** Makes IndexedDB refuse the next checkpoint record ('last' or 'best') as the browser does when the quota runs out. */
function quotaOnNextCheckpoint(): void {
  const proto = IDBObjectStore.prototype;
  const put = proto.put;
  proto.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
    const kind = (value as { kind?: string } | null)?.kind;
    if (this.name === 'checkpoints' && (kind === 'last' || kind === 'best')) {
      proto.put = put;
      throw new DOMException('The quota has been exceeded.', 'QuotaExceededError');
    }
    return put.call(this, value, key);
  } as typeof proto.put;
}

/** The next requestAdapter() answers null, as a browser that blocks WebGPU after repeated resets does. */
function noAdapterAfterReset(): void {
  const gpu = (globalThis.navigator as Navigator & { gpu: GPU }).gpu;
  gpu.requestAdapter = async () => null;
}

export async function runTestHook(hook: TestHook): Promise<void> {
  if (!enabled) throw new Error('test hooks are disabled (they are for the e2e suite only)');
  if (hook === 'destroy-device') destroyDeviceForTest();
  else if (hook === 'quota-on-next-checkpoint') quotaOnNextCheckpoint();
  else noAdapterAfterReset();
}
