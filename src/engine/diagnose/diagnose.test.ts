import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../../data/demo';
import type { DatasetMeta, SampleRecord } from '../../data/types';
import { TcnModel, TCN_DEFAULTS } from '../model/tcn';
import { checkBlankRate, checkDataset, checkDecoding, checkEntropy, checkInitialLoss, checkOutputs } from './checks';
import { checkEarlyStopping, checkOverfit } from './run_checks';
import { checkGradients, gradBand } from './gradient_checks';
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
const repeat = <T>(x: T, n: number) => Array.from({ length: n }, () => x);

describe('checks fire on constructed cases and stay quiet on healthy ones', () => {
  const healthy = rows([
    [0.05, 0.9, 0.03, 0.02],
    [0.9, 0.05, 0.03, 0.02],
    [0.02, 0.03, 0.9, 0.05],
    [0.9, 0.04, 0.03, 0.03],
  ]);

  it('1. outputs: NaN or unnormalised → fail', () => {
    expect(checkOutputs(healthy).status).toBe('ok');
    const nan = { ...healthy, lp: healthy.lp.slice() };
    nan.lp[5] = NaN;
    expect(checkOutputs(nan)).toMatchObject({ status: 'fail', numbers: { nonFiniteFrames: 1 } });
    const raw = { ...healthy, lp: healthy.lp.map((x) => x + 2) };
    expect(checkOutputs(raw).status).toBe('fail');
  });

  it('2. uniform outputs → entropy fail for a trained model; the expected start of an untrained one', () => {
    expect(checkEntropy(rows(repeat([0.25, 0.25, 0.25, 0.25], 10)))).toMatchObject({ status: 'fail', numbers: { entropyRatio: expect.closeTo(1, 6) } });
    const fresh = checkEntropy(rows(repeat([0.25, 0.25, 0.25, 0.25], 10)), { trained: false });
    expect(fresh).toMatchObject({ status: 'ok', cause: '' });
    expect(fresh.summary).toContain('untrained model: near-uniform outputs are its expected start');
    expect(checkEntropy(healthy).status).toBe('ok');
  });

  it('3. a model biased to blank → blank-rate fail', () => {
    expect(checkBlankRate(rows(repeat([0.95, 0.02, 0.02, 0.01], 20)))).toMatchObject({ status: 'fail', numbers: { blankRate: 1 } });
    expect(checkBlankRate(rows(repeat([0.95, 0.02, 0.02, 0.01], 20)), 0, 6).cause).toContain('only 0.0% of the reference tokens are emitted');
    expect(checkBlankRate(healthy)).toMatchObject({ status: 'ok', numbers: { blankRate: 0.5 } });
  });
  it('3. a peaky model: 95% blank frames, every reference token emitted → ok, no cause', () => {
    // 40 frames: a spike of one frame per token (4 tokens), blank elsewhere.
    const frames = Array.from({ length: 40 }, (_, t) => (t % 10 === 5 ? [0.05, 0.9, 0.03, 0.02] : [0.97, 0.01, 0.01, 0.01]));
    const c = checkBlankRate(rows(frames), 0, 4);
    expect(c).toMatchObject({ status: 'ok', cause: '', numbers: { blankRate: 0.9, emittedTokens: 4, emittedRatio: 1 } });
    const spikes = Array.from({ length: 50 }, (_, t) => (t % 25 === 5 ? [0.05, 0.9, 0.03, 0.02] : [0.97, 0.01, 0.01, 0.01]));
    const d = checkBlankRate(rows(spikes), 0, 2);
    expect(d).toMatchObject({ status: 'ok', cause: '', numbers: { blankRate: 0.96 } });
    expect(d.summary).toContain('blank-heavy but the tokens are emitted');
  });

  it('4. zeroed gradients → vanishing; non-finite → fail; the field guide bands kept for the chart', () => {
    expect(
      checkGradients([
        { name: 'a', norm: 0 },
        { name: 'b', norm: 1e-3 },
      ]),
    ).toMatchObject({ status: 'fail', numbers: { vanishing: 1 } });
    expect(checkGradients([{ name: 'a', norm: NaN }]).status).toBe('fail');
    expect(
      checkGradients([
        { name: 'a', norm: 1e-3 },
        { name: 'b', norm: 0.5 },
      ]).status,
    ).toBe('ok');
    expect([1e-8, 1e-5, 1e-3, 1, 1e3].map(gradBand)).toEqual(['vanishing', 'low', 'healthy', 'high', 'exploding']);
  });
  it('4. a large norm is judged through the step the optimiser takes (the issue: 298 on a fresh tcn, Adam, clipped to 5)', () => {
    // head [64, 31] Glorot ×0.1 (‖w‖ ≈ 0.55), encoder [3, 64, 64] He (‖w‖ ≈ 8): realistic sizes.
    const fresh = [
      { name: 'model.blocks.0.weight', norm: 12, weightNorm: 8, size: 12288 },
      { name: 'model.head.weight', norm: 298, weightNorm: 0.55, size: 1984 },
    ];
    const adam = checkGradients(fresh, { optimizer: 'adam', lr: 5e-4, clipNorm: 5 });
    expect(adam).toMatchObject({ status: 'ok', cause: '' });
    expect(adam.numbers.maxUpdateRatio as number).toBeCloseTo((5e-4 * Math.sqrt(1984)) / 0.55, 4); // ≈ 0.04
    expect(adam.summary).toContain('clipped by global norm to 5 (this batch is clipped)');
    // The same gradients under plain SGD at lr 0.1 without clipping: a step 54× the head's weights.
    const sgd = checkGradients(fresh, { optimizer: 'sgd', lr: 0.1, clipNorm: 0 });
    expect(sgd).toMatchObject({ status: 'fail', numbers: { exploding: 1 } });
    expect(sgd.cause).toContain('a step would change model.head.weight by more than its own size');
    expect(sgd.cause).toContain('(exploding steps)');
    // With clipping to 5 the SGD step is bounded: 0.1 × 5 × 298/298.2 / 0.55 ≈ 0.9 → a warning, not a failure.
    expect(checkGradients(fresh, { optimizer: 'sgd', lr: 0.1, clipNorm: 5 }).status).toBe('warn');
    // A bias (64 elements, near 0) is not judged by its ratio: any step is large next to it.
    const bias = checkGradients([...fresh, { name: 'model.head.bias', norm: 3, weightNorm: 0.01, size: 64 }], { optimizer: 'adam', lr: 5e-4, clipNorm: 5 });
    expect(bias).toMatchObject({ status: 'ok' });
    expect((bias.details as { name: string; updateRatio: number | null }[]).at(-1)).toMatchObject({ name: 'model.head.bias', updateRatio: null });
  });
  it('4. a norm that keeps growing over the checkpoint history → warn with clipping, fail without', () => {
    const g = [{ name: 'w', norm: 40, weightNorm: 5, size: 1000 }];
    const history = [2, 4, 9, 18, 40];
    const c = checkGradients(g, { optimizer: 'adam', lr: 1e-4, clipNorm: 5, history });
    expect(c).toMatchObject({ status: 'warn', numbers: { growing: true } });
    expect(c.cause).toContain('the global gradient norm keeps growing (2.00 → 4.00 → 9.00 → 18.0 → 40.0 over the last 5 epochs)');
    expect(checkGradients(g, { optimizer: 'adam', lr: 1e-4, clipNorm: 0, history }).status).toBe('fail');
    expect(checkGradients(g, { optimizer: 'adam', lr: 1e-4, clipNorm: 5, history: [2, 4, 3, 18, 40] }).status).toBe('ok');
  });

  it('6. decoding: adaptive filtering that hides tokens → warn', () => {
    const base = { samples: 10, split: 'validation', greedyWer: 0.4, beamWer: 0.38, beamWidth: 8, greedyTokens: 50 };
    expect(checkDecoding({ ...base, adaptiveWer: 0.9, adaptiveDropped: 30 }).status).toBe('warn');
    const counted = checkDecoding({ ...base, adaptiveWer: 0.9, adaptiveDropped: 30, greedyCorrect: 35, correctDropped: 28 });
    expect(counted.status).toBe('warn');
    expect(counted.cause).toContain('Confidence filtering removes tokens the model gets right (28 of 35)');
    expect(checkDecoding({ ...base, adaptiveWer: 0.41, adaptiveDropped: 2 }).status).toBe('ok');
  });
  it('6. decoding on an untrained model (the issue: adaptive 100% beats greedy 627%) claims nothing', () => {
    const c = checkDecoding({
      samples: 64,
      split: 'validation',
      greedyWer: 6.27,
      adaptiveWer: 1,
      beamWer: 5.9,
      beamWidth: 8,
      greedyTokens: 410,
      adaptiveDropped: 410,
      greedyCorrect: 3,
      correctDropped: 3,
    });
    expect(c).toMatchObject({ status: 'ok', cause: '', fix: '' });
    expect(c.summary).toContain(
      'filtering lowers the WER: it removed 407 wrong tokens and 3 right ones (greedy WER above 100%: insertions of an untrained or early model)',
    );
  });

  it('7. loss against the uniform baseline', () => {
    expect(checkInitialLoss({ modelLoss: 30, uniformLoss: 15, samples: 4, split: 'validation', trained: false }).status).toBe('fail');
    expect(checkInitialLoss({ modelLoss: 15.5, uniformLoss: 15, samples: 4, split: 'validation', trained: false }).status).toBe('ok');
    expect(checkInitialLoss({ modelLoss: 14.8, uniformLoss: 15, samples: 4, split: 'validation', trained: true }).status).toBe('fail');
    expect(checkInitialLoss({ modelLoss: 2, uniformLoss: 15, samples: 4, split: 'validation', trained: true }).status).toBe('ok');
  });

  it('8. overfit test: not run → warn, failed → fail, passed → ok; not needed when the model learns', () => {
    expect(checkOverfit(null).status).toBe('warn');
    expect(checkOverfit(null, { wer: 0.03, split: 'validation' })).toMatchObject({ status: 'ok', cause: '' });
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
    // A run that learned (greedy WER 2%) was not cut short by its settings.
    expect(checkEarlyStopping({ patience: 15, minDelta: 0, maxEpochs: 150, trainSamples: 6000 }, { wer: 0.02, split: 'validation' })).toMatchObject({
      status: 'ok',
      cause: '',
    });
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
  const newModel = (meta: DatasetMeta) => new TcnModel({ preset: 'tcn', featureDim: meta.featureDim, numClasses: meta.vocab.length + 1, ...TCN_DEFAULTS }, 1);

  it('fresh model on the demo: ten checks, loss at the uniform baseline, report in Markdown', async () => {
    const { meta, samples } = demoStored();
    const model = newModel(meta);
    const r = await diagnose(model, meta, samples, opts);
    expect(r.checks.map((c) => c.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(r.checks[0].status).toBe('ok');
    expect(r.checks[4].status).toBe('ok');
    const loss = r.checks[6];
    expect(loss.numbers.ratio as number).toBeGreaterThan(0.7);
    expect(loss.numbers.ratio as number).toBeLessThan(1.5);
    expect(r.checks[7].status).toBe('warn'); // overfit test not run
    // Calibration: a fresh model on healthy data gets no FAIL (entropy near uniform is its start,
    // its large first gradients are judged through Adam's clipped step).
    expect(r.checks.filter((c) => c.status === 'fail').map((c) => c.title)).toEqual([]);
    expect(r.checks[1].summary).toContain('untrained model');
    expect(r.checks[3].numbers).toMatchObject({ optimizer: 'adam', clipNorm: 5 });
    const md = reportToMarkdown(r);
    for (const t of [
      'Model outputs',
      'Prediction entropy',
      'Blank rate',
      'Gradient flow',
      'Dataset quality',
      'Decoding',
      'Loss against the uniform baseline',
      'Overfit test',
      'Early-stopping settings',
    ]) {
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
