// Stored checkpoints in the worker: listing and download (whether one fits a dataset is the
// engine's rule: engine/checkpoint/fit.ts).

import * as Comlink from 'comlink';
import * as store from '../data/store';
import type { CheckpointsApi } from './api';

export const checkpoints: CheckpointsApi = {
  listCheckpoints: (datasetId) => store.listCheckpoints(datasetId),

  async getCheckpointBytes(id) {
    const rec = await store.getCheckpoint(id);
    return Comlink.transfer({ fileName: rec.fileName, bytes: rec.bytes }, [rec.bytes]);
  },
};
