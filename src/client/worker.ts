// Starts the lab's worker and wraps it in its typed protocol. A page opened by the e2e suite with
// window.__ctcLabTestHooks set (before load) also gets window.__ctcLabTest: terminate the worker
// (as a crashed tab would) and the worker's fault-injection hooks. Nothing on the page reaches them.

import * as Comlink from 'comlink';
import type { LabApi, TestHook } from '../worker/api';

export const testHooksEnabled = (globalThis as { __ctcLabTestHooks?: unknown }).__ctcLabTestHooks === true;

export function connectWorker(): Comlink.Remote<LabApi> {
  const worker = new Worker(new URL('../worker/lab.worker.ts', import.meta.url), { type: 'module', name: 'ctc-lab-worker' });
  const api = Comlink.wrap<LabApi>(worker);
  if (testHooksEnabled) {
    (globalThis as { __ctcLabTest?: unknown }).__ctcLabTest = {
      terminateWorker: () => worker.terminate(),
      hook: (h: TestHook) => api.testHook(h),
    };
  }
  return api;
}
