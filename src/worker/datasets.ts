// Datasets in the worker: the demo, the streamed import (analyse → stage → commit or cancel),
// rename, delete, and one stored sample for the inspector.

import * as Comlink from 'comlink';
import { generateDemo } from '../data/demo';
import { streamImport } from '../data/import';
import { stagingSink } from '../data/staging';
import { FLOAT16_MAX } from '../data/float16';
import { normalised } from '../data/norm';
import type { DatasetMeta } from '../data/types';
import * as store from '../data/store';
import type { DatasetsApi } from './api';
import { holdImportLock } from './jobs';
import { announce } from './changes';

/** Tells every tab the datasets changed; passes the value through. */
const announced = <T>(x: T): T => (announce({ kind: 'datasets' }), x);

// Staged imports awaiting the user's decision, and the running analysis (one per tab).
const pending = new Map<string, { meta: DatasetMeta; staged: store.Encoding; release: () => void }>();
let currentImport: AbortController | null = null;

export const datasets: DatasetsApi = {
  listDatasets: () => store.listDatasets(),

  createDemoDataset: (seed = 42) => store.saveDataset(generateDemo({ seed })).then(announced),

  async analyseImport(files, name, subsampling, storage, onProgress) {
    if (currentImport) throw new Error('an import is already running in this tab');
    const id = store.newId('ds');
    const abort = new AbortController();
    currentImport = abort;
    const release = await holdImportLock(id);
    try {
      const sink = stagingSink(id, { encoding: storage });
      const { meta, report } = await streamImport(files, name, sink, {
        subsampling,
        onProgress: (p) => onProgress(p),
        signal: abort.signal,
        maxAbs: storage === 'float16' ? FLOAT16_MAX : Infinity,
      });
      await sink.flush();
      pending.set(id, { meta: { ...meta, id, createdAt: Date.now(), bytes: sink.bytes }, staged: storage, release });
      return { pendingId: id, report: { ...report, stagedAs: storage } };
    } catch (e) {
      await store.discardStaged(id);
      release();
      if (abort.signal.aborted) throw new Error('import aborted; nothing was stored', { cause: e });
      throw e;
    } finally {
      currentImport = null;
    }
  },

  abortImport() {
    currentImport?.abort();
  },

  async commitImport(pendingId, storage) {
    const p = pending.get(pendingId);
    if (!p) throw new Error('this import was cancelled or already stored; choose the files again');
    pending.delete(pendingId);
    try {
      return announced(await store.commitStaged(p.meta, { staged: p.staged, storage }));
    } catch (e) {
      await store.discardStaged(pendingId);
      throw e;
    } finally {
      p.release();
    }
  },

  async cancelImport(pendingId) {
    const p = pending.get(pendingId);
    pending.delete(pendingId);
    await store.discardStaged(pendingId);
    p?.release();
  },

  async deleteDataset(id) {
    await store.deleteDataset(id);
    announce({ kind: 'dataset-deleted', datasetId: id }); // a tab training on it stops
    announce({ kind: 'datasets' });
  },

  renameDataset: (id, name) => store.renameDataset(id, name).then(announced),

  async getSample(datasetId, index) {
    const [meta, s] = await Promise.all([store.getDataset(datasetId), store.getSample(datasetId, index)]);
    const z = normalised(new Float32Array(s.features), meta.norm);
    return Comlink.transfer({ index, id: s.id, text: s.text, split: s.split, frames: s.frames, featureDim: meta.featureDim, normalised: z }, [z.buffer]);
  },
};
