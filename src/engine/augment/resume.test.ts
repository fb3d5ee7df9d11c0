// Augmentation in a training run (cpu backend): it changes the training steps (and only those:
// validation is the same model's on plain batches), a run interrupted mid-epoch and resumed from its
// checkpoint takes the uninterrupted run's steps, and the checkpoint's config records the settings;
// the schema fills in augmentation off for a checkpoint without them and refuses bad values by field.

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { decodeCheckpoint } from '../checkpoint/checkpoint';
import { readSafetensors, writeSafetensors } from '../checkpoint/safetensors';
import type { TrainConfig } from '../train/config';
import { resumeStateFrom, Trainer, type EpochMetrics, type StepMetrics } from '../train/trainer';
import { demoRecords as demo, SMALL_TRAIN } from '../train/test_setup';
import { AUGMENT_OFF, type AugmentSettings } from './settings';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ALL: AugmentSettings = {
  stretchMin: 0.8,
  stretchMax: 1.2,
  timeMasks: 2,
  timeMaskWidth: 0.1,
  featureMasks: 1,
  featureMaskWidth: 0.2,
  featureWarp: 0.1,
  noise: 0.05,
  frameDrop: 0.1,
};
// 32 samples in micro-batches of 4, accumulation 2: 4 steps an epoch, 2 epochs.
const cfg: TrainConfig = { ...SMALL_TRAIN, channels: 16, layers: 1, dropout: 0.2, batchSize: 4, augment: ALL };

async function straightRun(c: TrainConfig) {
  const { meta, samples } = demo();
  const steps: StepMetrics[] = [],
    epochs: EpochMetrics[] = [];
  const t = new Trainer(meta, samples, c);
  await t.run({ onStep: (s) => void steps.push(s), onEpoch: (m) => void epochs.push(m) });
  t.dispose();
  return { steps, epochs };
}

describe('augmentation in training (cpu backend)', () => {
  it('changes the steps; stopped after step 3 of epoch 1 and resumed, the same steps and epochs as uninterrupted; the checkpoint records it', async () => {
    const { meta, samples } = demo();
    const straight = await straightRun(cfg);
    const plain = await straightRun({ ...cfg, augment: AUGMENT_OFF });
    expect(straight.steps[0].loss).not.toBeCloseTo(plain.steps[0].loss, 3); // the first step's batch differs
    expect(straight.steps.length).toBe(plain.steps.length);

    const b = new Trainer(meta, samples, cfg);
    await b.run({ shouldStop: () => b.state.step >= 3 });
    const bytes = await b.checkpoint('demo');
    b.dispose();
    const { meta: ck, tensors } = decodeCheckpoint(bytes, 'mid.safetensors');
    expect(ck.training.config).toMatchObject({ mode: 'train', augment: ALL });
    expect(ck.training.state.position).toMatchObject({ epoch: 1, batch: 6 });
    const resumed: StepMetrics[] = [],
      resumedEpochs: EpochMetrics[] = [];
    const c = new Trainer(meta, samples, cfg, { state: resumeStateFrom(ck), tensors });
    await c.run({ onStep: (s) => void resumed.push(s), onEpoch: (m) => void resumedEpochs.push(m) });
    c.dispose();
    const rest = straight.steps.filter((s) => s.step > 3);
    expect(resumed.map((s) => s.step)).toEqual(rest.map((s) => s.step));
    resumed.forEach((s, i) => {
      expect(s.loss).toBeCloseTo(rest[i].loss, 5);
      expect(s.gradNorm).toBeCloseTo(rest[i].gradNorm, 4);
    });
    resumedEpochs.forEach((m, i) => {
      expect(m.trainLoss).toBeCloseTo(straight.epochs[i].trainLoss, 5);
      expect(m.valLoss!).toBeCloseTo(straight.epochs[i].valLoss!, 5);
    });
  }, 120_000);

  it('old checkpoints load with augmentation off; bad settings are refused naming the field (schema and trainer)', async () => {
    const { meta, samples } = demo();
    const t = new Trainer(meta, samples, { ...cfg, epochs: 1 });
    await t.run({ shouldStop: () => t.state.step >= 1 });
    const bytes = await t.checkpoint('demo');
    t.dispose();
    const edit = (f: (c: Record<string, unknown>) => void) => {
      const { tensors, metadata } = readSafetensors(bytes);
      const m = JSON.parse(metadata.ctc_lab);
      f(m.training.config);
      return () => decodeCheckpoint(writeSafetensors(tensors, { ...metadata, ctc_lab: JSON.stringify(m) }), 'x.safetensors');
    };
    expect(edit((c) => delete c.augment)().meta.training.config).toMatchObject({ augment: AUGMENT_OFF });
    expect(edit((c) => (c.augment = { noise: 0.1 }))().meta.training.config).toMatchObject({ augment: { ...AUGMENT_OFF, noise: 0.1 } });
    for (const [a, msg] of [
      [{ stretchMin: 1.2, stretchMax: 0.9 }, 'training.config.augment.stretchMin: expected at most stretchMax'],
      [{ stretchMin: 0 }, 'training.config.augment.stretchMin: expected a factor above 0'],
      [{ timeMaskWidth: 1 }, 'training.config.augment.timeMaskWidth: expected a fraction of the frames above 0 and below 1, got 1'],
      [{ featureMaskWidth: 2 }, 'training.config.augment.featureMaskWidth'],
      [{ noise: -1 }, 'training.config.augment.noise: expected a σ from 0 to 10, got -1'],
    ] as const)
      expect(
        edit((c) => (c.augment = a)),
        JSON.stringify(a),
      ).toThrow(msg);
    expect(() => new Trainer(meta, samples, { ...cfg, augment: { ...ALL, stretchMin: 1.5 } })).toThrow(
      'training settings: augment.stretchMin: expected at most stretchMax (1.2), got 1.5',
    );
  }, 60_000);
});
