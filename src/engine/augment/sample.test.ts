// The inspector's augmented sample is what the trainer's batch path makes of that sample alone
// (cpu backend, ≤ 1e-6), and its output-frame rule is every preset's.

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { makeBatch, tokenIndex } from '../../data/batch';
import { generateDemo } from '../../data/demo';
import { createModel, modelConfig } from '../model/registry';
import { PRESET_NAMES, subsamplingOf } from '../model/presets';
import { TRAIN_DEFAULTS } from '../train/config';
import { disposeBatchTensors } from '../train/batch_tensors';
import { augmentedBatchTensors } from './augment';
import { augmentedSample, stridedOutFrames } from './sample';
import type { AugmentSettings } from './settings';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ALL: AugmentSettings = {
  stretchMin: 0.7,
  stretchMax: 1.3,
  timeMasks: 2,
  timeMaskWidth: 0.1,
  featureMasks: 2,
  featureMaskWidth: 0.2,
  featureWarp: 0.1,
  noise: 0.1,
  frameDrop: 0.2,
};

describe('the inspector’s augmented sample', () => {
  it('equals the training batch path for the sample alone (every op on), epoch by epoch', async () => {
    const demo = generateDemo();
    const meta = { ...demo.meta, id: 'ds', createdAt: 0 };
    const rec = { ...demo.samples[3], datasetId: 'ds', index: 3 };
    const b = makeBatch([rec], meta, tokenIndex(meta.vocab));
    for (const epoch of [1, 2]) {
      const t = augmentedBatchTensors({ outFrames: (f) => stridedOutFrames(f, 2) }, b, ALL, { seed: 5, epoch, batch: 0, batchSize: 1 });
      const want = await t.x.data();
      disposeBatchTensors(t);
      const got = augmentedSample(b.x, b.T, b.F, rec.text, ALL, 5, 2, epoch);
      expect(got.x.length).toBe(want.length);
      expect(got.frames * b.F).toBe(want.length);
      got.x.forEach((v, i) => expect(Math.abs(v - want[i])).toBeLessThanOrEqual(1e-6));
    }
  });

  it('output frames: every preset’s rule', () => {
    for (const preset of PRESET_NAMES)
      for (const subsampling of [2, 4] as const) {
        const cfg = { ...TRAIN_DEFAULTS, preset, subsampling, channels: 8, layers: 1, hidden: 8, heads: 2 };
        const m = createModel(modelConfig(cfg, 4, 5), 1);
        for (let f = 1; f <= 40; f++) expect(stridedOutFrames(f, subsamplingOf(cfg))).toBe(m.outFrames(f));
        m.dispose();
      }
  });
});
