// Tuning tools in the worker: the learning-rate range test (engine/tune/lr_find.ts) on the selected
// dataset's stored samples, a GPU job like training (one per tab, the one-trainer lock). It trains a
// new model of the form's settings for at most 100 steps and stores nothing.

import { TRAIN_DEFAULTS, type TrainConfig } from '../engine/train/config';
import { LR_FIND_DEFAULTS, lrRangeTest } from '../engine/tune/lr_find';
import * as store from '../data/store';
import type { TuneApi } from './api';
import { control, exclusive, withTrainingLock } from './jobs';
import { ready } from './runtime';

export const tune: TuneApi = {
  findLearningRate(datasetId, partial, onPoint, opts) {
    return exclusive(() =>
      withTrainingLock(async () => {
        await ready();
        const cfg: TrainConfig = { ...TRAIN_DEFAULTS, ...partial };
        const meta = await store.getDataset(datasetId);
        const steps = opts?.steps ?? LR_FIND_DEFAULTS.steps;
        if (!Number.isInteger(steps) || steps < 3) throw new Error(`range test steps must be an integer ≥ 3, got ${steps}`);
        return lrRangeTest(meta, await store.datasetSource(datasetId), cfg, { ...LR_FIND_DEFAULTS, steps }, { onPoint, shouldStop: control.shouldStop });
      }),
    );
  },
};
