import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Adam } from './adam';
import { Sgd } from './sgd';
import { learningRate, SCHEDULE_DEFAULTS } from './schedule';
import { globalNorm } from './norm';
import { EarlyStopping } from '../train/early_stopping';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const params = (xs: number[]) => new Map([['w', tf.variable(tf.tensor1d(xs))]]);
const read = (m: Map<string, tf.Variable>) => Array.from(m.get('w')!.dataSync());

describe('optimisers against hand-computed steps', () => {
  it('Adam: two steps', () => {
    const p = params([1, -2]);
    const opt = new Adam(p, { lr: 0.1 });
    opt.apply(p, { w: tf.tensor1d([0.5, -1]) });
    // step 1: m = 0.1 g, v = 0.001 g²; mhat = g, vhat = g²; update = g/|g| = sign(g)
    expect(read(p)[0]).toBeCloseTo(1 - 0.1, 6);
    expect(read(p)[1]).toBeCloseTo(-2 + 0.1, 6);
    opt.apply(p, { w: tf.tensor1d([0.25, -1]) });
    // w0: m = 0.9*0.05 + 0.1*0.25 = 0.07; v = 0.999*0.00025 + 0.001*0.0625 = 0.00031225
    // mhat = 0.07/0.19; vhat = 0.00031225/0.001999; update = mhat/(sqrt(vhat)+1e-8)
    const mhat = 0.07 / (1 - 0.81),
      vhat = 0.00031225 / (1 - 0.999 ** 2);
    expect(read(p)[0]).toBeCloseTo(0.9 - 0.1 * (mhat / (Math.sqrt(vhat) + 1e-8)), 5);
  });
  it('AdamW: decoupled weight decay lr * wd * p, independent of the gradient scale', () => {
    const p = params([2]);
    const opt = new Adam(p, { lr: 0.1, weightDecay: 0.01 });
    opt.apply(p, { w: tf.tensor1d([1e-3]) });
    expect(read(p)[0]).toBeCloseTo(2 - 0.1 * (1 + 0.01 * 2), 5);
  });
  it('SGD with momentum and L2 weight decay (PyTorch semantics)', () => {
    const p = params([1]);
    const opt = new Sgd(p, { lr: 0.1, momentum: 0.9, weightDecay: 0.5 });
    opt.apply(p, { w: tf.tensor1d([2]) }); // g' = 2 + 0.5 = 2.5; v = 2.5; p = 1 - 0.25 = 0.75
    expect(read(p)[0]).toBeCloseTo(0.75, 6);
    opt.apply(p, { w: tf.tensor1d([2]) }); // g' = 2 + 0.375 = 2.375; v = 0.9*2.5 + 2.375 = 4.625; p = 0.75 - 0.4625
    expect(read(p)[0]).toBeCloseTo(0.2875, 6);
  });
});

describe('learning-rate schedule', () => {
  const c = { ...SCHEDULE_DEFAULTS, lr: 1e-3, warmupEpochs: 5, epochs: 105 };
  it('linear warmup from lr/100 to lr', () => {
    expect(learningRate(c, 0, 10)).toBeCloseTo(1e-5, 12);
    expect(learningRate(c, 25, 10)).toBeCloseTo(1e-5 + (1e-3 - 1e-5) * 0.5, 12);
    expect(learningRate(c, 50, 10)).toBeCloseTo(1e-3, 12);
  });
  it('cosine decay to minLrRatio * lr at the last epoch', () => {
    expect(learningRate(c, 550, 10)).toBeCloseTo(1e-5 + (1e-3 - 1e-5) * 0.5, 10); // halfway
    expect(learningRate(c, 1050, 10)).toBeCloseTo(1e-5, 12);
  });
  it('step decay', () => {
    const s = { ...c, decay: 'step' as const, stepEvery: 30, stepGamma: 0.5 };
    expect(learningRate(s, 50 + 299, 10)).toBeCloseTo(1e-3, 12);
    expect(learningRate(s, 50 + 300, 10)).toBeCloseTo(5e-4, 12);
  });
});

describe('global norm', () => {
  it('is the L2 norm over all tensors (more than 8 of them)', () => {
    const ts = Array.from({ length: 12 }, (_, i) => tf.tensor1d([i, 1]));
    const expected = Math.sqrt(Array.from({ length: 12 }, (_, i) => i * i + 1).reduce((a, b) => a + b, 0));
    expect(globalNorm(ts).dataSync()[0]).toBeCloseTo(expected, 4);
  });
});

describe('early stopping', () => {
  it('stops after `patience` epochs without an improvement larger than minDelta', () => {
    const es = new EarlyStopping({ patience: 3, minDelta: 0.01, monitor: 'val_wer', restoreBest: true });
    const seq = [0.9, 0.8, 0.795, 0.79, 0.805, 0.7];
    const out = seq.map((m, i) => es.update(i + 1, m));
    expect(out.map((o) => o.improved)).toEqual([true, true, false, false, false, true]);
    expect(out.map((o) => o.stop)).toEqual([false, false, false, false, true, false]);
    expect(es.state).toMatchObject({ best: 0.7, bestEpoch: 6, counter: 0 });
  });
  it('patience 0 never stops; NaN never improves', () => {
    const es = new EarlyStopping({ patience: 0, minDelta: 0, monitor: 'val_loss', restoreBest: false });
    for (let i = 1; i < 100; i++) expect(es.update(i, NaN).stop).toBe(false);
    expect(es.state.best).toBeNull();
  });
});
