// Starts the lab's worker and wraps it in its typed protocol.

import * as Comlink from 'comlink';
import type { LabApi } from '../worker/api';

export function connectWorker(): Comlink.Remote<LabApi> {
  const worker = new Worker(new URL('../worker/lab.worker.ts', import.meta.url), { type: 'module', name: 'ctc-lab-worker' });
  return Comlink.wrap<LabApi>(worker);
}
