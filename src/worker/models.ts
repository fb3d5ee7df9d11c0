// Model presets in the worker: the parameter count and time subsampling of a preset at the sizes
// the page's forms hold, for a stored dataset's feature dim and vocabulary.

import { createModel, modelConfig } from '../engine/model/registry';
import * as store from '../data/store';
import type { ModelsApi } from './api';
import { ready } from './runtime';

export const models: ModelsApi = {
  async describeModel(datasetId, knobs) {
    await ready();
    const meta = await store.getDataset(datasetId);
    const model = createModel(modelConfig(knobs, meta.featureDim, meta.vocab.length + 1), 1);
    try {
      return { preset: model.config.preset, paramCount: model.paramCount(), subsampling: model.subsampling };
    } finally {
      model.dispose();
    }
  },
};
