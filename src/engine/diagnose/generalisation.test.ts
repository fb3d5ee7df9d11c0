// 10. Generalisation: the verdicts on constructed scores (healthy → OK, each broken case its own
// verdict and fix), the config read defensively (no augment field: off), and calibrated end to
// end on real checkpoints through diagnose(): a healthy demo run → OK, the overfit test's
// checkpoint diagnosed on the full data → FAIL naming it.

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../../data/demo';
import type { DatasetMeta, SampleRecord } from '../../data/types';
import { checkpointForDataset } from '../checkpoint/fit';
import { runOverfitTest, overfitSamples } from '../train/overfit';
import { OVERFIT_DEFAULTS } from '../train/overfit_config';
import { overfitCheckpoint } from '../train/run_checkpoint';
import { Trainer } from '../train/trainer';
import { SMALL_TRAIN } from '../train/test_setup';
import { checkGeneralisation, trainedHow, untriedLevers, type SplitScores, type TrainedHow } from './generalisation';
import { diagnose, DIAGNOSE_DEFAULTS } from './run';
import { checkpointSubject } from './subject';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const scores = (wer: number, loss = wer * 2): SplitScores => ({ samples: 32, loss, wer, blankRate: 0.6 });
const plain: TrainedHow = trainedHow({ mode: 'train', dropout: 0.2, weightDecay: 0, optimizer: 'adam' }, 50_000, 400);

describe('10. generalisation on constructed scores', () => {
  it('a healthy run (val WER 3 points above train) → OK; a fresh model or no val split → info', () => {
    expect(checkGeneralisation({ train: scores(0.05), val: scores(0.08), how: plain })).toMatchObject({ n: 10, status: 'ok', cause: '', fix: '' });
    expect(checkGeneralisation({ train: null, val: null, how: null }).status).toBe('info');
    expect(checkGeneralisation({ train: null, val: null, how: plain }).summary).toContain('needs training and validation samples');
  });

  it('a model that does not fit its own samples is not judged on the gap (info)', () => {
    const c = checkGeneralisation({ train: scores(0.7), val: scores(0.95), how: plain });
    expect(c.status).toBe('info');
    expect(c.summary).toContain('does not fit its own training samples yet');
  });

  it('a gap of 15 points → WARN, augmentation named first when it is off (also when the config has no augment field)', () => {
    expect(plain.augment).toBeNull();
    const c = checkGeneralisation({ train: scores(0.05), val: scores(0.2), how: plain });
    expect(c.status).toBe('warn');
    expect(c.numbers).toMatchObject({ werGap: expect.closeTo(0.15, 9), augmentation: 'off (not recorded)' });
    expect(c.summary).toContain('gap 15.0 points');
    expect(c.fix).toMatch(/^First augmentation \(it is off: the Generalise recipe/);
    expect(c.fix).toContain(
      'then more dropout (0.2 now; 0.3), then weight decay (AdamW with 1e-4), then a smaller model (50,000 parameters now), then more training data (400 samples now)',
    );
  });

  it('a gap of 60 points after augmentation, dropout and weight decay → FAIL naming a smaller model, then more data', () => {
    const tried = trainedHow(
      { mode: 'train', dropout: 0.3, weightDecay: 1e-4, optimizer: 'adamw', maxTrainSamples: 100, augment: { stretchMin: 0.9, stretchMax: 1.1, timeMasks: 2 } },
      50_000,
      400,
    );
    expect(tried).toMatchObject({ augment: true, trainedOn: 100 });
    const c = checkGeneralisation({ train: scores(0.02), val: scores(0.62), how: tried });
    expect(c.status).toBe('fail');
    expect(c.fix).toBe('First a smaller model (50,000 parameters now); then more training data (100 samples now).');
    expect(untriedLevers({ ...tried, augment: false })[0]).toMatch(/^augmentation/);
  });
});

function demoStored(): { meta: DatasetMeta; samples: SampleRecord[] } {
  const p = generateDemo();
  const meta: DatasetMeta = { ...p.meta, id: 'ds', createdAt: 0 };
  return { meta, samples: p.samples.map((s, index) => ({ ...s, datasetId: 'ds', index })) };
}

describe('10. generalisation calibrated on real checkpoints (cpu backend, diagnose())', () => {
  const opts = { ...DIAGNOSE_DEFAULTS, overfit: null, backend: 'cpu' };

  async function diagnoseBytes(bytes: Uint8Array, meta: DatasetMeta, samples: SampleRecord[]) {
    const ck = checkpointForDataset(bytes, 'ck.safetensors', meta);
    const subject = checkpointSubject(ck, 'ck.safetensors', meta.counts.train);
    try {
      const r = await diagnose(subject.model, meta, samples, {
        ...opts,
        trainedSteps: subject.trainedSteps,
        modelSource: subject.source,
        trainedHow: subject.trainedHow,
      });
      return r.checks.find((c) => c.id === 'generalisation')!;
    } finally {
      subject.model.dispose();
    }
  }

  it('the overfit test’s checkpoint on the full data → FAIL: train WER 0 on its 5 samples, val near 100%', async () => {
    const { meta, samples } = demoStored();
    const cfg = { ...OVERFIT_DEFAULTS, channels: 16, layers: 1, lr: 1e-2, maxEpochs: 300 };
    const { result, model, optimizer } = await runOverfitTest(overfitSamples(samples, cfg.numSamples), meta, cfg);
    expect(result.passed).toBe(true);
    const bytes = await overfitCheckpoint(model, optimizer, result, cfg, meta);
    model.dispose();
    optimizer.dispose();
    const c = await diagnoseBytes(bytes, meta, samples);
    expect(c.status).toBe('fail');
    expect(c.numbers).toMatchObject({ samplesPerSplit: 5, trainWer: 0 });
    expect(c.numbers.valWer as number).toBeGreaterThan(0.6);
    expect(c.cause).toContain("The overfit test's checkpoint: it memorised its 5 samples by design");
    expect(c.fix).toMatch(/^Diagnose a full training run's checkpoint instead; for that run, first augmentation/);
  }, 180_000);

  it('a healthy demo run → OK (train and val WER within 10 points)', async () => {
    const { meta, samples } = demoStored();
    const t = new Trainer(meta, samples, {
      ...SMALL_TRAIN,
      channels: 16,
      layers: 1,
      dropout: 0,
      maxTrainSamples: 0,
      epochs: 6,
      lr: 1e-2,
      warmupEpochs: 0,
      decay: 'none',
      batchSize: 16,
      accumulationSteps: 1,
      restoreBest: false,
    });
    await t.run();
    const bytes = await t.checkpoint('demo');
    t.dispose();
    const c = await diagnoseBytes(bytes, meta, samples);
    expect(c.status, c.summary).toBe('ok');
    expect(c.numbers.trainWer as number).toBeLessThan(0.5);
  }, 180_000);
});
