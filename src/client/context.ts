// What every feature's page state shares: the worker handle and the lab-wide facts a feature needs
// (is the backend up, which dataset is selected, is a job running in this tab). The Lab provides it.

import type * as Comlink from 'comlink';
import type { DatasetMeta, LabApi } from '../worker/api';

export interface LabContext {
  readonly api: Comlink.Remote<LabApi>;
  /** The compute backend answered (GPU work can start). */
  readonly ready: boolean;
  /** The selected dataset, or null. */
  readonly dataset: DatasetMeta | null;
  /** A job (import, overfit test, training, diagnostics) is running in this tab. */
  readonly busy: boolean;
  /** Re-reads what a job may have changed for the selected dataset (checkpoints, runs). */
  refreshStored(): Promise<void>;
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
