// The two steps of a staged import on the page, shared by datasets and model-output sets: analyse
// (read, validate and stage in the worker, with live progress and Abort) and store or cancel.
// Each feature keeps its own state object; these run a step on its flags.

import * as Comlink from 'comlink';
import type { ImportProgress } from '../worker/api';
import { message } from './context';

/** The flags of a feature's import (its $state fields). */
export interface ImportFlags {
  importing: boolean;
  error: string | null;
  notice: string | null;
  progress: ImportProgress | null;
}

/**
 * Step 1: runs `analyse` (which keeps the staged import it gets) with a progress callback the
 * worker can call, showing its progress until it ends; a refusal or an abort leaves its message
 * in `error`.
 */
export async function analyseStaged(
  s: ImportFlags,
  analyse: (onProgress: ((p: ImportProgress) => void) & Comlink.ProxyMarked) => Promise<void>,
): Promise<void> {
  s.importing = true;
  s.error = null;
  s.notice = null;
  s.progress = null;
  try {
    await analyse(Comlink.proxy((p: ImportProgress) => (s.progress = p)));
  } catch (e) {
    s.error = message(e);
  } finally {
    s.importing = false;
    s.progress = null;
  }
}

/**
 * Step 1 as a feature starts it: nothing without files or while its import runs; the import
 * awaiting a decision, if any, is cancelled (`cancel`) before the new one is analysed.
 */
export async function startImport(
  s: ImportFlags,
  files: unknown[],
  pending: unknown,
  cancel: () => void,
  analyse: Parameters<typeof analyseStaged>[1],
): Promise<void> {
  if (files.length === 0 || s.importing) return;
  if (pending) cancel();
  await analyseStaged(s, analyse);
}

/** Step 2 (store) and other one-shot import jobs: `importing` while it runs, a failure's message in `error`. */
export async function importStep(s: ImportFlags, job: () => Promise<void>): Promise<void> {
  s.importing = true;
  s.error = null;
  s.notice = null;
  try {
    await job();
  } catch (e) {
    s.error = message(e);
  } finally {
    s.importing = false;
  }
}
