import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../../data/demo';
import { datasetSource, saveDataset } from '../../data/store';
import { makeBatch, tokenIndex } from '../../data/batch';
import type { SampleRecord } from '../../data/types';
import { decodeCheckpoint } from '../checkpoint/checkpoint';
import { ctcLoss } from '../ctc/ctc_loss';
import { TcnModel, TCN_DEFAULTS } from '../model/tcn';
import { TRAIN_DEFAULTS, type TrainConfig } from './config';
import { resumeStateFrom, Trainer, type StepMetrics } from './trainer';
import { demoRecords as demo, expectResumedSteps, SMALL_TRAIN as small } from './test_setup';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('Trainer (cpu backend)', () => {
  it('the tcn preset reaches val WER ≤ 10% on the demo dataset', async () => {
    const { meta, samples } = demo();
    const cfg: TrainConfig = {
      ...TRAIN_DEFAULTS,
      dropout: 0.05,
      batchSize: 8,
      accumulationSteps: 1,
      epochs: 40,
      lr: 3e-3,
      warmupEpochs: 1,
      patience: 8,
      minDelta: 0,
      restoreBest: true,
    };
    const t = new Trainer(meta, samples, cfg);
    let last = 1;
    const { reason } = await t.run({ onEpoch: (m) => void (last = m.valWer ?? last) });
    const ev = await t.evaluate();
    console.log(`[trainer] ${reason}; epochs ${t.state.epoch}, best val WER ${t.early.state.best}, final val WER ${ev!.wer}, last epoch ${last}`);
    expect(ev!.wer).toBeLessThanOrEqual(0.1);
    expect(t.state.history.every((h) => h.skippedBatches === 0)).toBe(true);
    expect(t.state.history.at(-1)!.paddingEfficiency).toBeGreaterThan(0.8);
    t.dispose();
  }, 300_000);

  // Every preset: the checkpoint carries weights, optimizer slots and state under stable names.
  for (const [preset, size] of [
    ['tcn', {}],
    ['tconv-bilstm', { channels: 16, layers: 1, hidden: 16 }],
    ['transformer', { channels: 16, layers: 1, heads: 2 }],
  ] as const) {
    it(`${preset}: resumed training gives the same next-step losses as uninterrupted training`, async () => {
      const { meta, samples } = demo();
      const cfg: TrainConfig = { ...small, preset, ...size };
      const straight: StepMetrics[] = [];
      const a = new Trainer(meta, samples, cfg);
      await a.run({ onStep: (s) => void straight.push(s) });
      a.dispose();

      const b = new Trainer(meta, samples, { ...cfg, epochs: 1 });
      await b.run();
      const bytes = await b.checkpoint('demo');
      b.dispose();
      const { meta: ck, tensors } = decodeCheckpoint(bytes);
      expect((ck.model as { preset: string }).preset).toBe(preset);
      const resumed: StepMetrics[] = [];
      const c = new Trainer(meta, samples, cfg, { state: resumeStateFrom(ck), tensors });
      expect(c.state.epoch).toBe(1);
      await c.run({ onStep: (s) => void resumed.push(s) });
      c.dispose();

      for (const [s, t] of expectResumedSteps(resumed, straight, 2)) expect(s.lr).toBe(t.lr);
    }, 120_000);
  }

  it('tf.memory().numTensors is flat over 200 steps', async () => {
    const { meta, samples } = demo();
    const t = new Trainer(meta, samples, { ...small, epochs: 100, accumulationSteps: 1, maxTrainSamples: 16, evalEvery: 50, restoreBest: false });
    const counts = new Map<number, number>();
    await t.run({ onStep: (s) => void counts.set(s.step, tf.memory().numTensors), shouldStop: () => t.state.step >= 200 });
    expect(t.state.step).toBeGreaterThanOrEqual(200);
    expect(counts.get(200)).toBe(counts.get(10));
    t.dispose();
  }, 120_000);

  it('accumulating k micro-batches equals one k-times batch', async () => {
    const { meta, samples } = demo();
    const model = new TcnModel({ preset: 'tcn', featureDim: meta.featureDim, numClasses: meta.vocab.length + 1, ...TCN_DEFAULTS }, 3);
    const idx = tokenIndex(meta.vocab);
    const vars = [...model.params.values()];
    const grad = (ss: SampleRecord[], scale: number) => {
      const b = makeBatch(ss, meta, idx);
      const maxOutFrames = model.outFrames(b.T);
      const outFrames = Array.from(b.frames, (f) => model.outFrames(f));
      const mask = new Float32Array(b.B * maxOutFrames);
      outFrames.forEach((n, i) => mask.fill(1, i * maxOutFrames, i * maxOutFrames + n));
      return tf.variableGrads(
        () =>
          tf.mul(
            ctcLoss(
              model.apply({ x: tf.tensor3d(b.x, [b.B, b.T, b.F]), frames: b.frames, mask: tf.tensor3d(mask, [b.B, maxOutFrames, 1]) }, false),
              tf.tensor2d(b.labels, [b.B, b.L], 'int32'),
              tf.tensor1d(outFrames, 'int32'),
              tf.tensor1d(b.labelLengths, 'int32'),
            ),
            scale,
          ) as tf.Scalar,
        vars,
      ).grads;
    };
    const batch = samples.filter((s) => s.split === 'train').slice(0, 8);
    const whole = grad(batch, 1);
    const g1 = grad(batch.slice(0, 4), 0.5);
    const g2 = grad(batch.slice(4), 0.5);
    for (const v of vars) {
      const [a, b1, b2] = await Promise.all([whole[v.name].data(), g1[v.name].data(), g2[v.name].data()]);
      const scale = Math.max(...Array.from(a, Math.abs));
      a.forEach((x, i) => expect(Math.abs(x - (b1[i] + b2[i])) / scale).toBeLessThan(1e-4));
    }
    model.dispose();
  });

  it('a non-finite batch is skipped and counted, and never reaches the weights', async () => {
    const { meta, samples } = demo();
    const bad = samples.map((s) => ({ ...s }));
    const first = bad.findIndex((s) => s.split === 'train');
    const x = new Float32Array(bad[first].features.slice(0));
    x[0] = NaN;
    bad[first] = { ...bad[first], features: x.buffer };
    const t = new Trainer(meta, bad, { ...small, epochs: 1, accumulationSteps: 1, maxTrainSamples: 16 });
    await t.run();
    expect(t.state.history[0].skippedBatches).toBe(1);
    const values = await Promise.all([...t.model.params.values()].map((v) => v.data()));
    const weightsFinite = values.every((d) => d.every(Number.isFinite));
    expect(weightsFinite).toBe(true);
    t.dispose();
  }, 60_000);
});

describe('Trainer over IndexedDB (fake-indexeddb): features read per batch', () => {
  it('gives the same step losses as training from memory', async () => {
    const p = generateDemo();
    const stored = await saveDataset(p);
    const cfg: TrainConfig = { ...small, epochs: 1, maxTrainSamples: 24 };
    const fromDb: StepMetrics[] = [],
      fromMemory: StepMetrics[] = [];
    const a = new Trainer(stored, await datasetSource(stored.id), cfg);
    await a.run({ onStep: (s) => void fromDb.push(s) });
    const evA = await a.evaluate();
    a.dispose();
    const { meta, samples } = demo();
    const b = new Trainer({ ...meta, id: stored.id }, samples, cfg);
    await b.run({ onStep: (s) => void fromMemory.push(s) });
    const evB = await b.evaluate();
    b.dispose();
    expect(fromDb.length).toBeGreaterThan(0);
    expect(fromDb.map((s) => s.loss)).toEqual(fromMemory.map((s) => s.loss));
    expect(evA!.hyps).toEqual(evB!.hyps);
  }, 120_000);
});
