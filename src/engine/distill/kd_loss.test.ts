import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../lib/rng';
import { kdLoss } from './kd_loss';
import { kdLossReference, type KdReferenceInput } from './kd_reference';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const B = 3,
  T = 7,
  C = 6;
const lengths = [7, 4, 1];

function logits(seed: number, scale = 2): Float64Array {
  const rng = new Rng(seed);
  return Float64Array.from({ length: B * T * C }, () => scale * rng.normal());
}

function maskOf(lens: number[], t = T): tf.Tensor3D {
  const m = new Float32Array(lens.length * t);
  lens.forEach((n, b) => m.fill(1, b * t, b * t + n));
  return tf.tensor3d(m, [lens.length, t, 1]);
}

/** The op's per-sample values and the gradient of their sum, on the cpu backend. */
function op(student: ArrayLike<number>, teacher: ArrayLike<number>, temperature: number, excludeBlank: boolean, lens = lengths) {
  const s = tf.tensor3d(Float32Array.from(student), [lens.length, T, C]);
  const t = tf.tensor3d(Float32Array.from(teacher), [lens.length, T, C]);
  const mask = maskOf(lens);
  const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => tf.sum(kdLoss(x as tf.Tensor3D, t, mask, { temperature, excludeBlank, reduction: 'none' })))(s);
  const per = tf.tidy(() => kdLoss(s, t, mask, { temperature, excludeBlank, reduction: 'none' }).dataSync().slice());
  const mean = tf.tidy(() => kdLoss(s, t, mask, { temperature, excludeBlank }).dataSync()[0]);
  const out = { perSample: per, sum: value.dataSync()[0], grad: grad.dataSync().slice(), mean };
  tf.dispose([s, t, mask, value, grad]);
  return out;
}

const ref = (student: ArrayLike<number>, teacher: ArrayLike<number>, temperature: number, excludeBlank: boolean, lens = lengths) =>
  kdLossReference({ student, teacher, lengths: lens, B: lens.length, T, C, temperature, excludeBlank } satisfies KdReferenceInput);

const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));

describe('kdLoss (cpu backend)', () => {
  for (const excludeBlank of [false, true]) {
    for (const tau of [1, 2.5, 8]) {
      it(`matches the float64 reference, ${excludeBlank ? 'blank excluded' : 'blank included'}, τ ${tau}`, () => {
        const s = logits(1),
          t = logits(2);
        const a = op(s, t, tau, excludeBlank),
          r = ref(s, t, tau, excludeBlank);
        expect(maxDiff(a.perSample, r.perSample) / maxAbs(r.perSample)).toBeLessThan(1e-5);
        expect(Math.abs(a.mean - r.perSample.reduce((x, y) => x + y, 0) / B) / maxAbs(r.perSample)).toBeLessThan(1e-5);
        expect(maxDiff(a.grad, r.grad) / maxAbs(r.grad)).toBeLessThan(1e-5);
        if (excludeBlank) for (let i = 0; i < B * T; i++) expect(a.grad[i * C]).toBe(0); // the blank gets no gradient
      });
    }

    it(`the reference gradient equals central finite differences of the float64 loss (${excludeBlank ? 'blank excluded' : 'blank included'})`, () => {
      const s = logits(3),
        t = logits(4);
      const tau = 3;
      const { grad } = ref(s, t, tau, excludeBlank);
      const sum = (x: Float64Array) => ref(x, t, tau, excludeBlank).perSample.reduce((a, v) => a + v, 0);
      const eps = 1e-6;
      for (let i = 0; i < s.length; i++) {
        const plus = s.slice(),
          minus = s.slice();
        plus[i] += eps;
        minus[i] -= eps;
        const fd = (sum(plus) - sum(minus)) / (2 * eps);
        expect(Math.abs(fd - grad[i]), `element ${i}`).toBeLessThan(1e-7 + 1e-6 * Math.abs(grad[i]));
      }
    });

    it(`the op's gradient equals central finite differences of the op (float32, ${excludeBlank ? 'blank excluded' : 'blank included'})`, () => {
      const s = logits(5),
        t = logits(6);
      const tau = 2;
      const a = op(s, t, tau, excludeBlank);
      const eps = 1e-2;
      const rng = new Rng(7);
      for (let k = 0; k < 40; k++) {
        const i = rng.int(0, s.length - 1);
        const plus = s.slice(),
          minus = s.slice();
        plus[i] += eps;
        minus[i] -= eps;
        const fd = (op(plus, t, tau, excludeBlank).sum - op(minus, t, tau, excludeBlank).sum) / (2 * eps);
        expect(Math.abs(fd - a.grad[i]), `element ${i}: fd ${fd}, grad ${a.grad[i]}`).toBeLessThan(2e-3 * maxAbs(a.grad) + 1e-4);
      }
    });
  }

  it('masked frames contribute nothing, even holding NaN or ±Inf, and get a zero gradient', () => {
    const s = logits(8),
      t = logits(9);
    const clean = op(s, t, 8, true);
    const dirtyS = s.slice(),
      dirtyT = t.slice();
    lengths.forEach((n, b) => {
      for (let f = n; f < T; f++) {
        for (let c = 0; c < C; c++) {
          dirtyS[(b * T + f) * C + c] = [NaN, Infinity, -Infinity, 1e30][(f + c) % 4];
          dirtyT[(b * T + f) * C + c] = [1e30, NaN, -Infinity, Infinity][(f + c) % 4];
        }
      }
    });
    // garbage in the student only (teacher's padded frames finite), the teacher only, and both
    for (const [ds, dt] of [
      [dirtyS, t],
      [s, dirtyT],
      [dirtyS, dirtyT],
    ]) {
      const dirty = op(ds, dt, 8, true);
      expect(Array.from(dirty.perSample)).toEqual(Array.from(clean.perSample));
      expect(Array.from(dirty.grad)).toEqual(Array.from(clean.grad));
      lengths.forEach((n, b) => {
        for (let i = (b * T + n) * C; i < (b + 1) * T * C; i++) expect(dirty.grad[i]).toBe(0);
      });
    }
    // and each sample's value is what it gets alone (no cross-sample leakage through the mask)
    for (let b = 0; b < B; b++) {
      const one = ref(s.slice(b * T * C, (b + 1) * T * C), t.slice(b * T * C, (b + 1) * T * C), 8, true, [lengths[b]]);
      expect(Math.abs(clean.perSample[b] - one.perSample[0])).toBeLessThan(1e-5 * Math.max(1, one.perSample[0]));
    }
  });

  it('a sample with no valid frames contributes 0 (not NaN)', () => {
    const a = op(logits(10), logits(11), 8, true, [7, 0, 3]);
    expect(a.perSample[1]).toBe(0);
    expect(a.grad.every(Number.isFinite)).toBe(true);
  });

  it('a teacher log-prob of −∞ (p = 0) adds nothing instead of NaN', () => {
    const s = logits(12),
      t = logits(13);
    t[2] = -Infinity; // sample 0, frame 0, class 2
    const a = op(s, t, 1, false),
      r = ref(s, t, 1, false);
    expect(a.perSample.every(Number.isFinite)).toBe(true);
    expect(maxDiff(a.perSample, r.perSample) / maxAbs(r.perSample)).toBeLessThan(1e-5);
  });

  it('identical student and teacher: loss and gradient exactly 0', () => {
    const s = logits(14);
    for (const excludeBlank of [false, true]) {
      const a = op(s, s, 8, excludeBlank);
      expect(Array.from(a.perSample)).toEqual([0, 0, 0]);
      expect(a.grad.every((g) => g === 0)).toBe(true);
    }
  });

  it('logits and log-probs of the same teacher give the same loss (softmax ignores a per-frame shift)', () => {
    const s = logits(15),
      t = logits(16);
    const logProbs = t.slice();
    for (let i = 0; i < B * T; i++) {
      const row = t.subarray(i * C, (i + 1) * C);
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      for (let c = 0; c < C; c++) logProbs[i * C + c] = row[c] - lse;
    }
    for (const excludeBlank of [false, true]) {
      const a = op(s, t, 8, excludeBlank),
        b = op(s, logProbs, 8, excludeBlank);
      expect(maxDiff(a.perSample, b.perSample)).toBeLessThan(1e-5 * maxAbs(a.perSample));
    }
  });

  it('τ² scaling (Hinton et al. 2015): at high τ the gradient tends to (s − t)/K and the loss to Σ(s − t)²/2K on zero-mean logits', () => {
    for (const excludeBlank of [false, true]) {
      const K = excludeBlank ? C - 1 : C;
      const kept = (c: number) => !(excludeBlank && c === 0);
      // zero-mean logits over the kept classes, per frame
      const center = (x: Float64Array) => {
        for (let i = 0; i < B * T; i++) {
          let m = 0;
          for (let c = 0; c < C; c++) if (kept(c)) m += x[i * C + c] / K;
          for (let c = 0; c < C; c++) if (kept(c)) x[i * C + c] -= m;
        }
        return x;
      };
      const s = center(logits(17, 1)),
        t = center(logits(18, 1));
      const tau = 1000;
      const r = ref(s, t, tau, excludeBlank);
      const gradLimit = new Float64Array(B * T * C),
        lossLimit = new Float64Array(B);
      lengths.forEach((n, b) => {
        for (let f = 0; f < n; f++) {
          for (let c = 0; c < C; c++) {
            if (!kept(c)) continue;
            const i = (b * T + f) * C + c;
            const d = s[i] - t[i];
            gradLimit[i] = d / K / n;
            lossLimit[b] += (d * d) / (2 * K) / n;
          }
        }
      });
      expect(maxDiff(r.grad, gradLimit) / maxAbs(gradLimit)).toBeLessThan(5e-3);
      expect(maxDiff(r.perSample, lossLimit) / maxAbs(lossLimit)).toBeLessThan(5e-3);
      // Without the τ² factor the loss would shrink as 1/τ²: at τ 100 vs τ 1000 the scaled loss barely moves.
      const r100 = ref(s, t, 100, excludeBlank);
      expect(maxDiff(r100.perSample, r.perSample) / maxAbs(r.perSample)).toBeLessThan(5e-2);
      // and the op agrees with the reference at τ 100 (float32)
      const a = op(s, t, 100, excludeBlank);
      expect(maxDiff(a.grad, r100.grad) / maxAbs(r100.grad)).toBeLessThan(1e-3);
    }
  });

  it('refuses mismatched shapes and a non-positive temperature, and leaks no tensors', () => {
    const s = tf.zeros([2, 3, 4]) as tf.Tensor3D,
      t = tf.zeros([2, 4, 4]) as tf.Tensor3D,
      m = maskOf([3, 2], 3);
    expect(() => kdLoss(s, t, m, { temperature: 8, excludeBlank: true })).toThrow("kdLoss: teacher shape [2,4,4] differs from the student's [2,3,4]");
    expect(() => kdLoss(s, s, m, { temperature: 0, excludeBlank: true })).toThrow(/temperature must be a positive number, got 0/);
    const before = tf.memory().numTensors;
    const { value, grad } = tf.valueAndGrad((x: tf.Tensor) => kdLoss(x as tf.Tensor3D, s, m, { temperature: 8, excludeBlank: true }) as tf.Scalar)(s);
    tf.dispose([value, grad]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([s, t, m]);
  });
});
