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
import { stagedImports } from './staged_imports';
import { announce } from './changes';

/** Tells every tab the datasets changed; passes the value through. */
const announced = <T>(x: T): T => (announce({ kind: 'datasets' }), x);

// Staged imports awaiting the user's decision (the dataset's record, and the encoding it was staged
// in), and the running analysis (one per tab).
const imports = stagedImports<{ meta: DatasetMeta; staged: store.Encoding }>('an import is already running in this tab', (id) => store.discardStaged(id));

export const datasets: DatasetsApi = {
  listDatasets: () => store.listDatasets(),

  createDemoDataset: (seed = 42) => store.saveDataset(generateDemo({ seed })).then(announced),

  analyseImport(files, name, subsampling, storage, onProgress) {
    const id = store.newId('ds');
    return imports.analyse(id, async (signal) => {
      const sink = stagingSink(id, { encoding: storage });
      const { meta, report } = await streamImport(files, name, sink, {
        subsampling,
        onProgress: (p) => onProgress(p),
        signal,
        maxAbs: storage === 'float16' ? FLOAT16_MAX : Infinity,
      });
      await sink.flush();
      return {
        staged: { meta: { ...meta, id, createdAt: Date.now(), bytes: sink.bytes }, staged: storage },
        answer: { pendingId: id, report: { ...report, stagedAs: storage } },
      };
    });
  },

  abortImport() {
    imports.abort();
  },

  commitImport: (pendingId, storage) => imports.commit(pendingId, (p) => store.commitStaged(p.meta, { staged: p.staged, storage }).then(announced)),

  cancelImport: (pendingId) => imports.cancel(pendingId),

  async deleteDataset(id) {
    await store.deleteDataset(id);
    announce({ kind: 'dataset-deleted', datasetId: id }); // a tab training on it stops
    announce({ kind: 'datasets' });
    announce({ kind: 'outputs' }); // output sets attached to it were made standalone
  },

  renameDataset: (id, name) => store.renameDataset(id, name).then(announced),

  async getSample(datasetId, index) {
    const [meta, s] = await Promise.all([store.getDataset(datasetId), store.getSample(datasetId, index)]);
    const z = normalised(new Float32Array(s.features), meta.norm);
    return Comlink.transfer({ index, id: s.id, text: s.text, split: s.split, frames: s.frames, featureDim: meta.featureDim, normalised: z }, [z.buffer]);
  },
};
