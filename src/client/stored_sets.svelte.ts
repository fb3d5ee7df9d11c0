// A feature's stored sets on the page, shared by datasets and model-output sets: the staged import
// (analyse: read, validate and stage in the worker, with live progress and Abort; then store or
// cancel the pending import whose report is shown) and renaming a stored set. Each feature's state
// extends it and says how its steps reach the worker.

import * as Comlink from 'comlink';
import type { ImportProgress, InputFile } from '../worker/api';
import { message } from './context';

/** A progress callback the worker can call. */
export type OnProgress = ((p: ImportProgress) => void) & Comlink.ProxyMarked;

/** P: what the worker answers an analysis with (the pending import's id and its report). */
export abstract class StoredSetsState<P extends { pendingId: string }> {
  importing = $state(false);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  progress = $state.raw<ImportProgress | null>(null);
  /** The analysed import awaiting the user's decision (its report is shown), or null. */
  pending = $state.raw<P | null>(null);

  /** The worker's analysis: reads, validates and stages the files, calling `onProgress`. */
  protected abstract analyse(files: InputFile[], name: string, onProgress: OnProgress): Promise<P>;
  /** The worker's store of a pending import, and what the page shows after it. */
  protected abstract store(p: P): Promise<void>;
  /** The worker's cancel of a pending import. */
  protected abstract discard(pendingId: string): Promise<void>;
  /** The worker's abort of the running analysis. */
  protected abstract abort(): Promise<void>;
  /** The worker's rename of a stored set. */
  protected abstract renameStored(id: string, name: string): Promise<unknown>;
  /** Re-reads the stored sets. */
  abstract refresh(): Promise<void>;

  /**
   * Step 1: nothing without files or while an import runs; the pending import, if any, is
   * cancelled first. Progress shows until the analysis ends; a refusal or an abort leaves its
   * message in `error`.
   */
  async importFiles(files: InputFile[], name: string): Promise<void> {
    if (files.length === 0 || this.importing) return;
    if (this.pending) this.cancelImport();
    this.progress = null;
    await this.step(async () => {
      try {
        this.pending = await this.analyse(
          files,
          name,
          Comlink.proxy((p: ImportProgress) => (this.progress = p)),
        );
      } finally {
        this.progress = null;
      }
    });
  }

  abortImport(): void {
    void this.abort();
  }

  /** Step 2: stores the pending import (its report closes). */
  async commitImport(): Promise<void> {
    const p = this.pending;
    if (!p) return;
    this.pending = null;
    await this.step(() => this.store(p));
  }

  cancelImport(): void {
    if (this.pending) void this.discard(this.pending.pendingId);
    this.pending = null;
  }

  /** Renames a stored set; a refusal's message goes to `error`. */
  async rename(id: string, name: string): Promise<void> {
    try {
      await this.renameStored(id, name);
      await this.refresh();
    } catch (e) {
      this.error = message(e);
    }
  }

  /** One import job: `importing` while it runs, a failure's message in `error`. */
  protected async step(job: () => Promise<void>): Promise<void> {
    this.importing = true;
    this.error = null;
    this.notice = null;
    try {
      await job();
    } catch (e) {
      this.error = message(e);
    } finally {
      this.importing = false;
    }
  }
}
