import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../../data/demo';
import type { DatasetMeta, SampleRecord } from '../../data/types';
import { TcnModel, TCN_DEFAULTS } from '../model/tcn';
import {
  checkBlankRate, checkDataset, checkDecoding, checkEarlyStopping, checkEntropy, checkGradients, checkInitialLoss,
  checkOutputs, checkOverfit, gradBand,
} from './checks';
import { diagnose, DIAGNOSE_DEFAULTS } from './run';
import { datasetFacts, streamDatasetFacts } from '../../data/dataset_facts';
import { memorySource } from '../../data/source';
import { reportToMarkdown } from './report';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

/** Rows of log-probabilities from per-frame probability vectors. */
function rows(probs: number[][]) {
  return { lp: Float32Array.from(probs.flat().map(Math.log)), frames: probs.length, V: probs[0].length };
}
const repeat = <T,>(x: T, n: number) => Array.from({ length: n }, () => x);

describe('checks fire on constructed cases and stay quiet on healthy ones', () => {
  const healthy = rows([[0.05, 0.9, 0.03, 0.02], [0.9, 0.05, 0.03, 0.02], [0.02, 0.03, 0.9, 0.05], [0.9, 0.04, 0.03, 0.03]]);

  it('1. outputs: NaN or unnormalised → fail', () => {
    expect(checkOutputs(healthy).status).toBe('ok');
    const nan = { ...healthy, lp: healthy.lp.slice() };
    nan.lp[5] = NaN;
    expect(checkOutputs(nan)).toMatchObject({ status: 'fail', numbers: { nonFiniteFrames: 1 } });
    const raw = { ...healthy, lp: healthy.lp.map((x) => x + 2) };
    expect(checkOutputs(raw).status).toBe('fail');
  });

  it('2. uniform outputs → entropy fail', () => {
    expect(checkEntropy(rows(repeat([0.25, 0.25, 0.25, 0.25], 10)))).toMatchObject({ status: 'fail', numbers: { entropyRatio: expect.closeTo(1, 6) } });
    expect(checkEntropy(healthy).status).toBe('ok');
  });

  it('3. a model biased to blank → blank-rate fail', () => {
    expect(checkBlankRate(rows(repeat([0.95, 0.02, 0.02, 0.01], 20)))).toMatchObject({ status: 'fail', numbers: { blankRate: 1 } });
    expect(checkBlankRate(healthy)).toMatchObject({ status: 'ok', numbers: { blankRate: 0.5 } });
  });

  it('4. zeroed gradients → vanishing; huge → exploding; the field guide bands', () => {
    expect(checkGradients([{ name: 'a', norm: 0 }, { name: 'b', norm: 1e-3 }])).toMatchObject({ status: 'fail', numbers: { vanishing: 1 } });
    expect(checkGradients([{ name: 'a', norm: 1e3 }])).toMatchObject({ status: 'fail', numbers: { exploding: 1 } });
    expect(checkGradients([{ name: 'a', norm: NaN }]).status).toBe('fail');
    expect(checkGradients([{ name: 'a', norm: 1e-3 }, { name: 'b', norm: 0.5 }]).status).toBe('ok');
    expect([1e-8, 1e-5, 1e-3, 1, 1e3].map(gradBand)).toEqual(['vanishing', 'low', 'healthy', 'high', 'exploding']);
  });

  it('6. decoding: adaptive filtering that hides tokens → warn', () => {
    const base = { samples: 10, split: 'validation', greedyWer: 0.4, beamWer: 0.38, beamWidth: 8, greedyTokens: 50 };
    expect(checkDecoding({ ...base, adaptiveWer: 0.9, adaptiveDropped: 30 }).status).toBe('warn');
    expect(checkDecoding({ ...base, adaptiveWer: 0.41, adaptiveDropped: 2 }).status).toBe('ok');
  });

  it('7. loss against the uniform baseline', () => {
    expect(checkInitialLoss({ modelLoss: 30, uniformLoss: 15, samples: 4, split: 'validation', trained: false }).status).toBe('fail');
    expect(checkInitialLoss({ modelLoss: 15.5, uniformLoss: 15, samples: 4, split: 'validation', trained: false }).status).toBe('ok');
    expect(checkInitialLoss({ modelLoss: 14.8, uniformLoss: 15, samples: 4, split: 'validation', trained: true }).status).toBe('fail');
    expect(checkInitialLoss({ modelLoss: 2, uniformLoss: 15, samples: 4, split: 'validation', trained: true }).status).toBe('ok');
  });

  it('8. overfit test: not run → warn, failed → fail, passed → ok', () => {
    expect(checkOverfit(null).status).toBe('warn');
    const r = { epochs: 20, seconds: 3, finalLoss: 0.1, finalWer: 0, when: '2026-11-24' };
    expect(checkOverfit({ ...r, passed: true }).status).toBe('ok');
    expect(checkOverfit({ ...r, passed: false, finalWer: 0.4 }).status).toBe('fail');
  });

  it('9. low patience on a large dataset → warning (the field guide: 15 on 6000 samples)', () => {
    const c = checkEarlyStopping({ patience: 15, minDelta: 0, maxEpochs: 150, trainSamples: 6000 });
    expect(c).toMatchObject({ status: 'warn', numbers: { recommendedPatience: 30 } });
    expect(c.cause).toContain('epoch 45');
    expect(checkEarlyStopping({ patience: 30, minDelta: 0.01, maxEpochs: 150, trainSamples: 6000 }).status).toBe('ok');
    expect(checkEarlyStopping({ patience: 15, minDelta: 0, maxEpochs: 150, trainSamples: 144 }).status).toBe('ok');
  });
});

function demoStored(): { meta: DatasetMeta; samples: SampleRecord[] } {
  const p = generateDemo();
  const meta: DatasetMeta = { ...p.meta, id: 'ds', createdAt: 0 };
  return { meta, samples: p.samples.map((s, index) => ({ ...s, datasetId: 'ds', index })) };
}

describe('5. dataset check on stored samples', () => {
  it('healthy demo: nothing fails, normalisation applied', () => {
    const { meta, samples } = demoStored();
    const c = checkDataset(datasetFacts(meta, samples, 2));
    expect(c.status).toBe('ok');
    expect(c.numbers.normalisedMeanAbs as number).toBeLessThan(0.1);
    expect(c.numbers.normalisedMeanStd as number).toBeGreaterThan(0.8);
  });
  it('NaN features → fail naming the sample; read in chunks from a source the facts are the same', async () => {
    const { meta, samples } = demoStored();
    new Float32Array(samples[3].features)[7] = NaN;
    new Float32Array(samples[150].features)[0] = -Infinity;
    const whole = datasetFacts(meta, samples, 2);
    const c = checkDataset(whole);
    expect(c.status).toBe('fail');
    expect(c.cause).toContain(samples[3].id);
    expect(whole.nonFinite.map((x) => x.id)).toEqual([samples[3].id, samples[150].id]);
    expect(await streamDatasetFacts(meta, memorySource(samples), 2, 7)).toEqual(whole);
  });
  it('infeasible labels (too many tokens for the frames at ×2) → fail listing the ids', () => {
    const { meta, samples } = demoStored();
    samples[0] = { ...samples[0], text: Array(samples[0].frames).fill('HELLO').join(' ') };
    const f = datasetFacts(meta, samples, 2);
    expect(f.infeasible.map((x) => x.id)).toEqual([samples[0].id]);
    expect(checkDataset(f).status).toBe('fail');
  });
  it('zero-variance dims and out-of-vocabulary val tokens → warn', () => {
    const { meta, samples } = demoStored();
    const m2 = { ...meta, norm: { ...meta.norm, std: meta.norm.std.map((s, d) => (d === 4 ? 0 : s)) } };
    const val = samples.findIndex((s) => s.split === 'val');
    samples[val] = { ...samples[val], text: samples[val].text + ' GOODBYE' };
    const c = checkDataset(datasetFacts(m2, samples, 2));
    expect(c.status).toBe('warn');
    expect(c.numbers).toMatchObject({ zeroVarianceDims: 1, oovTokens: 1 });
  });
});

describe('diagnose() end to end on the cpu backend', () => {
  const opts = { ...DIAGNOSE_DEFAULTS, overfit: null, trainedSteps: 0, modelSource: 'fresh', backend: 'cpu' };
  const newModel = (meta: DatasetMeta) =>
    new TcnModel({ preset: 'tcn', featureDim: meta.featureDim, numClasses: meta.vocab.length + 1, ...TCN_DEFAULTS }, 1);

  it('fresh model on the demo: nine checks, loss at the uniform baseline, report in Markdown', async () => {
    const { meta, samples } = demoStored();
    const model = newModel(meta);
    const r = await diagnose(model, meta, samples, opts);
    expect(r.checks.map((c) => c.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(r.checks[0].status).toBe('ok');
    expect(r.checks[4].status).toBe('ok');
    const loss = r.checks[6];
    expect(loss.numbers.ratio as number).toBeGreaterThan(0.7);
    expect(loss.numbers.ratio as number).toBeLessThan(1.5);
    expect(r.checks[7].status).toBe('warn'); // overfit test not run
    const md = reportToMarkdown(r);
    for (const t of ['Model outputs', 'Prediction entropy', 'Blank rate', 'Gradient flow', 'Dataset quality', 'Decoding', 'Loss against the uniform baseline', 'Overfit test', 'Early-stopping settings']) {
      expect(md).toContain(t);
    }
    model.dispose();
  });

  it('a head that outputs nothing → no gradient reaches the encoder (vanishing)', async () => {
    const { meta, samples } = demoStored();
    const model = newModel(meta);
    const head = model.p('model.head.weight');
    head.assign(tf.zerosLike(head));
    const r = await diagnose(model, meta, samples, opts);
    const g = r.checks[3];
    expect(g.status).toBe('fail');
    expect(g.cause).toContain('model.blocks.0.weight');
    model.dispose();
  });

  it('an output bias towards blank → blank-rate fail', async () => {
    const { meta, samples } = demoStored();
    const model = newModel(meta);
    const bias = model.p('model.head.bias');
    bias.assign(tf.tensor1d([20, ...Array(meta.vocab.length).fill(0)]));
    const r = await diagnose(model, meta, samples, opts);
    expect(r.checks[2]).toMatchObject({ status: 'fail', numbers: { blankRate: 1 } });
    model.dispose();
  });
});
