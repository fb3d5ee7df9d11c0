// Set-up shared by the tests that run the Trainer on the cpu backend (trainer, mid-epoch
// checkpoints, distillation): the demo dataset as stored records, a small, fast configuration, and
// the check that a resumed run continues with the uninterrupted run's steps.
// Imported by tests only.

import { expect } from 'vitest';
import { generateDemo } from '../../data/demo';
import type { DatasetMeta, SampleRecord } from '../../data/types';
import { TRAIN_DEFAULTS, type TrainConfig } from './config';
import type { StepMetrics } from './trainer';

/** The demo dataset (default seed) as the records a stored dataset 'ds' holds. */
export function demoRecords(): { meta: DatasetMeta; samples: SampleRecord[] } {
  const p = generateDemo();
  const meta: DatasetMeta = { ...p.meta, id: 'ds', createdAt: 0 };
  return { meta, samples: p.samples.map((s, index) => ({ ...s, datasetId: 'ds', index })) };
}

/** A small tcn, 32 training samples in batches of 8 with accumulation 2 (2 steps an epoch), 2 epochs, no early stopping. */
export const SMALL_TRAIN: TrainConfig = {
  ...TRAIN_DEFAULTS,
  channels: 32,
  layers: 2,
  dropout: 0.1,
  batchSize: 8,
  accumulationSteps: 2,
  epochs: 2,
  lr: 2e-3,
  warmupEpochs: 1,
  patience: 0,
  maxTrainSamples: 32,
};

/**
 * A run resumed at the start of `epoch` takes the uninterrupted run's steps of that epoch: the same
 * step numbers and losses (5 decimals). Returns the (resumed, uninterrupted) pairs for more checks.
 */
export function expectResumedSteps(resumed: StepMetrics[], straight: StepMetrics[], epoch: number): [StepMetrics, StepMetrics][] {
  const same = straight.filter((s) => s.epoch === epoch);
  expect(resumed.length).toBeGreaterThan(0);
  expect(resumed.map((s) => s.step)).toEqual(same.map((s) => s.step));
  return resumed.map((s, i) => {
    expect(s.loss).toBeCloseTo(same[i].loss, 5);
    return [s, same[i]];
  });
}
