import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../lib/rng';
import { ctcLossReference, ctcMinFrames } from './ctc_reference';
import { ctcNllBruteForce } from './ctc_oracle';
import { ctcLoss, ctcNll } from './ctc_loss';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function randomCase(rng: Rng, T: number, V: number, labels: number[]) {
  const logits = Array.from({ length: T * V }, () => rng.normal() * 2);
  return { logits, labels };
}

describe('ctcLossReference vs brute-force oracle', () => {
  const rng = new Rng(7);
  const cases: Array<{ T: number; V: number; label: number[]; what: string }> = [
    { T: 1, V: 2, label: [], what: 'empty label, one frame' },
    { T: 4, V: 3, label: [], what: 'empty label' },
    { T: 3, V: 3, label: [1], what: 'single label' },
    { T: 5, V: 3, label: [1, 2], what: 'two labels' },
    { T: 5, V: 3, label: [1, 1], what: 'repeated label' },
    { T: 3, V: 3, label: [1, 1], what: 'repeat at the feasibility limit (T = L + repeats)' },
    { T: 6, V: 4, label: [1, 2, 3], what: 'three labels' },
    { T: 6, V: 3, label: [2, 2, 2], what: 'triple repeat, T = 5 needed' },
    { T: 5, V: 3, label: [2, 2, 2], what: 'triple repeat at the limit' },
    { T: 7, V: 3, label: [1, 2, 1, 2], what: 'alternating' },
    { T: 2, V: 3, label: [1, 1], what: 'infeasible: repeat needs a blank' },
    { T: 2, V: 3, label: [1, 2, 1], what: 'infeasible: label longer than input' },
  ];
  for (const c of cases) {
    it(c.what, () => {
      const { logits } = randomCase(rng, c.T, c.V, c.label);
      const oracle = ctcNllBruteForce(logits, c.T, c.V, c.label);
      const { nll } = ctcLossReference({
        logits,
        labels: c.label.length ? c.label : [0],
        logitLengths: [c.T],
        labelLengths: [c.label.length],
        B: 1,
        T: c.T,
        V: c.V,
        L: Math.max(c.label.length, 1),
      });
      const feasible = c.T >= ctcMinFrames(c.label);
      if (!feasible) {
        expect(oracle).toBe(Infinity);
        expect(nll[0]).toBe(Infinity);
      } else {
        expect(Number.isFinite(nll[0])).toBe(true);
        expect(nll[0]).toBeCloseTo(oracle, 10);
      }
    });
  }

  it('50 random tiny cases with padding in the batch', () => {
    const B = 50,
      T = 6,
      V = 3,
      L = 4;
    const logits: number[] = [],
      labels: number[] = [],
      xl: number[] = [],
      yl: number[] = [];
    const expected: number[] = [];
    for (let b = 0; b < B; b++) {
      const Tb = rng.int(1, T);
      const Lb = rng.int(0, L);
      const lab = Array.from({ length: Lb }, () => rng.int(1, V - 1));
      const lg = Array.from({ length: T * V }, () => rng.normal() * 2);
      logits.push(...lg);
      labels.push(...lab, ...new Array(L - Lb).fill(0));
      xl.push(Tb);
      yl.push(Lb);
      expected.push(ctcNllBruteForce(lg.slice(0, Tb * V), Tb, V, lab));
    }
    const { nll } = ctcLossReference({ logits, labels, logitLengths: xl, labelLengths: yl, B, T, V, L });
    for (let b = 0; b < B; b++) {
      if (expected[b] === Infinity) expect(nll[b]).toBe(Infinity);
      else expect(nll[b]).toBeCloseTo(expected[b], 9);
    }
  });
});

describe('ctcLossReference gradient', () => {
  it('matches central finite differences of the float64 loss', () => {
    const rng = new Rng(11);
    const T = 7,
      V = 4,
      label = [1, 2, 2, 3];
    const logits = Array.from({ length: T * V }, () => rng.normal());
    const p = (lg: number[]) => ({ logits: lg, labels: label, logitLengths: [T], labelLengths: [label.length], B: 1, T, V, L: label.length });
    const { grad } = ctcLossReference(p(logits));
    const h = 1e-6;
    for (let i = 0; i < T * V; i++) {
      const up = logits.slice();
      up[i] += h;
      const dn = logits.slice();
      dn[i] -= h;
      const fd = (ctcLossReference(p(up), false).nll[0] - ctcLossReference(p(dn), false).nll[0]) / (2 * h);
      expect(grad![i]).toBeCloseTo(fd, 6);
    }
  });

  it('is zero on padded frames and sums to zero over classes on real ones', () => {
    const rng = new Rng(3);
    const T = 8,
      V = 5;
    const logits = Array.from({ length: T * V }, () => rng.normal());
    const { grad } = ctcLossReference({ logits, labels: [1, 2], logitLengths: [5], labelLengths: [2], B: 1, T, V, L: 2 });
    for (let t = 0; t < T; t++) {
      let s = 0;
      for (let v = 0; v < V; v++) s += grad![t * V + v];
      if (t >= 5) for (let v = 0; v < V; v++) expect(grad![t * V + v]).toBe(0);
      expect(Math.abs(s)).toBeLessThan(1e-12);
    }
  });
});

describe('ctcLoss op (cpu backend) against the brute-force oracle', () => {
  // The op on cpu wraps the float64 reference, so it is checked against what does not share its
  // code: the path-enumerating oracle, its central finite differences, and PyTorch's reduction
  // rules written out here. The batch has padding (frames and labels) and a one-frame sample.
  const B = 3,
    T = 6,
    V = 4,
    L = 3;
  const rng = new Rng(5);
  const logitsArr = Array.from({ length: B * T * V }, () => rng.normal());
  const labelsArr = [1, 2, 3, 2, 2, 0, 3, 0, 0];
  const xl = [6, 5, 1];
  const yl = [3, 2, 1];
  const sample = (lg: number[], b: number) => lg.slice(b * T * V, (b * T + xl[b]) * V);
  const label = (b: number) => labelsArr.slice(b * L, b * L + yl[b]);
  const oracleNll = (lg: number[]) => [0, 1, 2].map((b) => ctcNllBruteForce(sample(lg, b), xl[b], V, label(b)));
  // PyTorch's 'mean': each sample's loss / its label length, then the batch mean.
  const reduce = (nll: number[], reduction: 'sum' | 'mean') =>
    reduction === 'sum' ? nll.reduce((x, y) => x + y, 0) : nll.reduce((x, y, b) => x + y / yl[b], 0) / B;
  /** d(reduced oracle loss)/d(logits) by central differences (float64 oracle); padded frames: 0. */
  const oracleGrad = (reduction: 'sum' | 'mean') => {
    const h = 1e-5;
    return logitsArr.map((_, i) => {
      const up = logitsArr.slice(),
        dn = logitsArr.slice();
      up[i] += h;
      dn[i] -= h;
      return (reduce(oracleNll(up), reduction) - reduce(oracleNll(dn), reduction)) / (2 * h);
    });
  };

  const run = (reduction: 'none' | 'sum' | 'mean') => {
    const logits = tf.tensor3d(logitsArr, [B, T, V]);
    const labels = tf.tensor2d(labelsArr, [B, L], 'int32');
    const a = tf.tensor1d(xl, 'int32');
    const b = tf.tensor1d(yl, 'int32');
    const f = (x: tf.Tensor) => tf.tidy(() => ctcLoss(x as tf.Tensor3D, labels, a, b, { reduction }).sum());
    const v = f(logits);
    const g = tf.grad(f)(logits);
    const value = v.arraySync() as number;
    const grad = g.arraySync() as number[][][];
    tf.dispose([logits, labels, a, b, v, g]);
    return { value, grad: grad.flat(2) };
  };

  it("reduction 'none' and 'sum': the oracle's per-sample losses and their finite-difference gradient", () => {
    const none = tf.tidy(
      () =>
        ctcLoss(tf.tensor3d(logitsArr, [B, T, V]), tf.tensor2d(labelsArr, [B, L], 'int32'), tf.tensor1d(xl, 'int32'), tf.tensor1d(yl, 'int32'), {
          reduction: 'none',
        }).arraySync() as number[],
    );
    oracleNll(logitsArr).forEach((x, b) => expect(none[b]).toBeCloseTo(x, 4));
    const s = run('sum');
    expect(s.value).toBeCloseTo(reduce(oracleNll(logitsArr), 'sum'), 4);
    const fd = oracleGrad('sum');
    s.grad.forEach((g, i) => expect(g).toBeCloseTo(fd[i], 4));
    // Padded frames get no gradient.
    for (let t = xl[1]; t < T; t++) for (let v = 0; v < V; v++) expect(s.grad[(T + t) * V + v]).toBe(0);
  });

  it("reduction 'mean' divides by label length then averages (PyTorch), gradient included", () => {
    const m = run('mean');
    expect(m.value).toBeCloseTo(reduce(oracleNll(logitsArr), 'mean'), 5);
    const fd = oracleGrad('mean');
    m.grad.forEach((g, i) => expect(g).toBeCloseTo(fd[i], 4));
  });

  it('infeasible sample: inf loss, or 0 loss and 0 gradient with zeroInfinity', () => {
    const logits = tf.tensor3d(logitsArr.slice(0, 2 * T * V), [2, T, V]);
    const labels = tf.tensor2d([1, 1, 1, 2, 0, 0], [2, 3], 'int32');
    const a = tf.tensor1d([3, 6], 'int32'); // sample 0 needs 5 frames
    const b = tf.tensor1d([3, 1], 'int32');
    const none = ctcLoss(logits, labels, a, b, { reduction: 'none' }).arraySync() as number[];
    expect(none[0]).toBe(Infinity);
    expect(none[1]).toBeCloseTo(ctcNllBruteForce(logitsArr.slice(T * V, 2 * T * V), 6, V, [2]), 4);
    const f = (x: tf.Tensor) => ctcLoss(x as tf.Tensor3D, labels, a, b, { reduction: 'mean', zeroInfinity: true });
    const v = f(logits).arraySync() as number;
    expect(v).toBeCloseTo(none[1] / 1 / 2, 5); // the zeroed sample still counts in the mean
    const g = tf.grad(f)(logits).arraySync() as number[][][];
    expect(g[0].flat().every((x) => x === 0)).toBe(true);
    expect(g[1].flat().some((x) => x !== 0)).toBe(true);
    tf.dispose([logits, labels, a, b]);
  });

  it('ctcNll equals the oracle without computing a gradient', () => {
    const logits = tf.tensor3d(logitsArr, [B, T, V]);
    const labels = tf.tensor2d(labelsArr, [B, L], 'int32');
    const nll = ctcNll(logits, labels, tf.tensor1d(xl, 'int32'), tf.tensor1d(yl, 'int32')).arraySync();
    oracleNll(logitsArr).forEach((x, i) => expect(nll[i]).toBeCloseTo(x, 4));
  });

  it('does not leak tensors over repeated calls', () => {
    run('mean');
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) run('mean');
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('ctcLossComposed (TF.js ops, loop over T) agrees with the reference', () => {
  it('loss and autodiff gradient', async () => {
    const { ctcLossComposed } = await import('./ctc_composed');
    const rng = new Rng(21);
    const B = 4,
      T = 9,
      V = 5,
      L = 3;
    const logitsArr = Array.from({ length: B * T * V }, () => rng.normal());
    const labelsArr = [1, 2, 2, 3, 4, 0, 1, 0, 0, 2, 2, 2];
    const xl = [9, 7, 3, 9],
      yl = [3, 2, 1, 3];
    const ref = ctcLossReference({ logits: logitsArr, labels: labelsArr, logitLengths: xl, labelLengths: yl, B, T, V, L });
    const labels = tf.tensor2d(labelsArr, [B, L], 'int32');
    const a = tf.tensor1d(xl, 'int32'),
      b = tf.tensor1d(yl, 'int32');
    const x = tf.tensor3d(logitsArr, [B, T, V]);
    const nll = ctcLossComposed(x, labels, a, b).arraySync();
    nll.forEach((v, i) => expect(v).toBeCloseTo(ref.nll[i], 4));
    const g = (
      tf
        .grad((z: tf.Tensor) => ctcLossComposed(z as tf.Tensor3D, labels, a, b).sum())(x)
        .arraySync() as number[][][]
    ).flat(2);
    g.forEach((v, i) => expect(v).toBeCloseTo(ref.grad![i], 4));
  });
});
