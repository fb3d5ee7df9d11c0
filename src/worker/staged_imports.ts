// Staged imports in the worker, shared by datasets and model-output sets: one running analysis per
// tab (abortable), each staged import holding its import lock (so no tab's start-up clean-up
// removes what it staged) until the user stores or cancels it; a refused, aborted or failed step
// discards what was staged.

import { holdImportLock } from './jobs';

export interface StagedImports<M> {
  /**
   * Runs one analysis under the import lock of `id` (refused while another runs in this tab);
   * `run` stages under `id` and returns what to keep until the user decides (`staged`) and what
   * to answer the page (`answer`).
   */
  analyse<A>(id: string, run: (signal: AbortSignal) => Promise<{ staged: M; answer: A }>): Promise<A>;
  /** Aborts the running analysis, if any. */
  abort(): void;
  /** Stores a staged import with `store`; refused when it was cancelled or already stored. */
  commit<T>(id: string, store: (staged: M) => Promise<T>): Promise<T>;
  /** Drops a staged import (nothing happens to one that is not staged). */
  cancel(id: string): Promise<void>;
}

/**
 * `busy`: the refusal while an analysis runs; `discard`: removes what was staged under an id.
 */
export function stagedImports<M>(busy: string, discard: (id: string) => Promise<void>): StagedImports<M> {
  const pending = new Map<string, { staged: M; release: () => void }>();
  let current: AbortController | null = null;
  return {
    async analyse(id, run) {
      if (current) throw new Error(busy);
      const abort = new AbortController();
      current = abort;
      const release = await holdImportLock(id);
      try {
        const { staged, answer } = await run(abort.signal);
        pending.set(id, { staged, release });
        return answer;
      } catch (e) {
        await discard(id);
        release();
        if (abort.signal.aborted) throw new Error('import aborted; nothing was stored', { cause: e });
        throw e;
      } finally {
        current = null;
      }
    },

    abort() {
      current?.abort();
    },

    async commit(id, store) {
      const p = pending.get(id);
      if (!p) throw new Error('this import was cancelled or already stored; choose the files again');
      pending.delete(id);
      try {
        return await store(p.staged);
      } catch (e) {
        await discard(id);
        throw e;
      } finally {
        p.release();
      }
    },

    async cancel(id) {
      const p = pending.get(id);
      pending.delete(id);
      await discard(id);
      p?.release();
    },
  };
}
