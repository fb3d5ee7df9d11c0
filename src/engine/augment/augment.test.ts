// Augmentation ops (cpu backend): shapes and lengths, values against the float64 reference and
// against closed forms (linear ramps are interpolated exactly), the masked fraction, the noise's
// moments, determinism under the key, the identity when every op is off, the feasibility clamp,
// and no tensor left behind.

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../../data/batch';
import { batchTensors, disposeBatchTensors } from '../train/batch_tensors';
import { applyPlan, augmentedBatchTensors } from './augment';
import { applyPlanReference, planAugmentation, uniform, streamKey, type AugmentKey, type PlanInput } from './plan';
import { AUGMENT_OFF, augmentActive, augmentProblems, type AugmentSettings } from './settings';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const KEY: AugmentKey = { seed: 1, epoch: 3, batch: 5, batchSize: 4 };
const x2 = (f: number) => Math.ceil(f / 2); // ×2 subsampling
const on = (o: Partial<AugmentSettings>): AugmentSettings => ({ ...AUGMENT_OFF, ...o });

/** A padded batch with features f(b, t, d) on real frames, 0 after; labels of `labelLen` distinct ids. */
function batch(frames: number[], F: number, f: (b: number, t: number, d: number) => number, labelLen = 2): Batch {
  const B = frames.length;
  const T = Math.max(...frames);
  const x = new Float32Array(B * T * F);
  frames.forEach((n, b) => {
    for (let t = 0; t < n; t++) for (let d = 0; d < F; d++) x[(b * T + t) * F + d] = f(b, t, d);
  });
  const labels = new Int32Array(B * labelLen).map((_, i) => (i % labelLen) + 1);
  return {
    B,
    T,
    F,
    L: labelLen,
    x,
    frames: Int32Array.from(frames),
    labels,
    labelLengths: new Int32Array(B).fill(labelLen),
    ids: frames.map((_, b) => `s${b}`),
    texts: frames.map(() => ''),
    realFrames: frames.reduce((s, n) => s + n, 0),
  };
}
const noisy = (b: number, t: number, d: number) => Math.sin(1.3 * b + 0.7 * t + 0.31 * d * d) * 2;
const input = (b: Batch, need = 2, out = x2): PlanInput => ({ T: b.T, F: b.F, frames: b.frames, minFrames: new Array(b.B).fill(need), outFrames: out });

/** The augmented features of a batch on the cpu backend, with the plan's lengths. */
async function run(a: AugmentSettings, b: Batch, key = KEY, out = x2) {
  const t = augmentedBatchTensors({ outFrames: out }, b, a, key);
  const x = (await t.x.data()) as Float32Array;
  const r = { x, shape: t.x.shape, frames: Array.from(t.frames), outFrames: t.outFrames, xl: Array.from(await t.xl.data()), mask: await t.mask.data() };
  disposeBatchTensors(t);
  return r;
}

describe('augmentation ops (cpu backend)', () => {
  const b = batch([20, 13, 7], 6, noisy);

  it('every op off is the batch exactly (batchTensors), and each op at strength 0 is off', async () => {
    expect(augmentActive(AUGMENT_OFF)).toBe(false);
    expect(augmentActive(undefined)).toBe(false);
    for (const o of [{ stretchMin: 1, stretchMax: 1 }, { timeMasks: 0 }, { featureMasks: 0 }, { featureWarp: 0 }, { noise: 0 }, { frameDrop: 0 }])
      expect(augmentActive(on(o))).toBe(false);
    const plain = batchTensors({ outFrames: x2 }, b);
    const r = await run(AUGMENT_OFF, b);
    expect(r.x).toEqual(await plain.x.data());
    expect(r.frames).toEqual([20, 13, 7]);
    disposeBatchTensors(plain);
    // A time op drawn at factor 1 with nothing dropped is the identity row for row, bit for bit.
    const p = planAugmentation(on({ frameDrop: 1e-9 }), KEY, input(b));
    expect(p.time).not.toBeNull();
    const y = tf.tidy(() => applyPlan(p, tf.tensor3d(b.x, [b.B, b.T, b.F])));
    expect(Array.from(await y.data(), (v) => v + 0)).toEqual(Array.from(b.x)); // + 0: padding rows are x · 0, which is −0 for negative x
    y.dispose();
  });

  it('time stretch: lengths round(T·factor), a ramp resampled exactly, padding 0, the float64 reference within 1e-6', async () => {
    const ramp = batch([20, 13, 7], 3, (bi, t, d) => t * (d + 1) + bi);
    const a = on({ stretchMin: 0.6, stretchMax: 1.5 });
    const p = planAugmentation(a, KEY, input(ramp));
    const r = await run(a, ramp);
    ramp.frames.forEach((Tb, i) => {
      const n = r.frames[i];
      const f = 0.6 + 0.9 * uniform(streamKey([KEY.seed, KEY.epoch, KEY.batch * KEY.batchSize + i, 1]), 0); // the sample's draw
      expect(n).toBe(Math.max(1, Math.floor(Tb * f + 0.5)));
      expect(p.stretch[i]).toBe(n / Tb);
      for (let j = 0; j < r.shape[1]; j++)
        for (let d = 0; d < 3; d++) {
          const want = j < n ? ((j * (Tb - 1)) / (n - 1)) * (d + 1) + i : 0; // endpoints kept, linear in between
          expect(r.x[(i * r.shape[1] + j) * 3 + d]).toBeCloseTo(want, 4);
        }
    });
    expect(r.shape).toEqual([3, Math.max(...r.frames), 3]);
    expect(r.xl).toEqual(r.frames.map(x2));
    expect(new Set(r.frames).size).toBeGreaterThan(1); // drawn per sample
    const ref = applyPlanReference(planAugmentation(a, KEY, input(b)), b.x);
    const got = await run(a, b);
    got.x.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(1e-6));
  });

  it('a stretch or a drop that would leave too few output frames for the labels is clamped for that sample only', async () => {
    const x4 = (f: number) => Math.floor(f / 4);
    const long = batch([24, 40], 2, noisy, 5); // 5 distinct labels: 5 output frames, 20 input frames at ×4
    const p = planAugmentation(on({ stretchMin: 0.5, stretchMax: 0.5 }), KEY, input(long, 5, x4));
    expect(Array.from(p.frames)).toEqual([20, 20]); // 24 → 12 is infeasible: the shortest feasible length; 40 → 20 fits as drawn
    expect(p.clamped).toEqual([true, false]);
    const d = planAugmentation(on({ frameDrop: 0.99 }), { ...KEY, batch: 0 }, input(long, 5, x4));
    d.frames.forEach((n) => expect(x4(n)).toBeGreaterThanOrEqual(5));
    expect(d.frames[0]).toBeLessThanOrEqual(24);
    // Unclamped, the same settings on labels that fit go below.
    const free = planAugmentation(on({ stretchMin: 0.5, stretchMax: 0.5 }), KEY, input(long, 1, x4));
    expect(Array.from(free.frames)).toEqual([12, 20]);
  });

  it('frame dropping keeps the remaining frames in order, up to the fraction', async () => {
    const ramp = batch([30, 25], 1, (_b, t) => t);
    const a = on({ frameDrop: 0.4 });
    const r = await run(a, ramp);
    r.frames.forEach((n, i) => {
      const Tb = ramp.frames[i];
      expect(n).toBeGreaterThanOrEqual(Tb - Math.floor(0.4 * Tb));
      const kept = Array.from(r.x.subarray(i * r.shape[1], i * r.shape[1] + n));
      expect(kept.every((v, j) => Number.isInteger(v) && v < Tb && (j === 0 || v > kept[j - 1]))).toBe(true); // source frames, increasing
    });
    expect(r.frames.some((n, i) => n < ramp.frames[i])).toBe(true);
  });

  it('feature warp: a ramp along the features becomes d / s (clamped to the last bin), per sample', async () => {
    const ramp = batch([4, 4, 4, 4], 10, (_b, _t, d) => d);
    const a = on({ featureWarp: 0.1 });
    const r = await run(a, ramp);
    const scales = new Set<number>();
    for (let i = 0; i < 4; i++) {
      const s = 1 + 0.1 * (2 * uniform(streamKey([KEY.seed, KEY.epoch, KEY.batch * KEY.batchSize + i, 1]), 2) - 1);
      scales.add(s);
      for (let d = 0; d < 10; d++) expect(r.x[(i * 4 + 2) * 10 + d]).toBeCloseTo(Math.min(d / s, 9), 5);
    }
    expect(scales.size).toBe(4);
  });

  it('time and feature masks: zeros (the normalised mean) over the expected fraction, within each sample', async () => {
    const ones = batch(new Array(64).fill(50), 20, () => 1);
    const a = on({ timeMasks: 1, timeMaskWidth: 0.2, featureMasks: 1, featureMaskWidth: 0.25 });
    const r = await run(a, ones, { ...KEY, batchSize: 64 });
    let timeMasked = 0,
      featMasked = 0;
    for (let i = 0; i < 64; i++) {
      const rowsZero = [...Array(50).keys()].filter((t) => [...Array(20).keys()].every((d) => r.x[(i * 50 + t) * 20 + d] === 0)).length;
      const colsZero = [...Array(20).keys()].filter((d) => [...Array(50).keys()].every((t) => r.x[(i * 50 + t) * 20 + d] === 0)).length;
      expect(rowsZero).toBeLessThanOrEqual(10); // width ≤ floor(0.2 · 50)
      expect(colsZero).toBeLessThanOrEqual(5); // ≤ floor(0.25 · 20)
      timeMasked += rowsZero;
      featMasked += colsZero;
      // Everything else untouched.
      const zeros = Array.from(r.x.subarray(i * 1000, (i + 1) * 1000)).filter((v) => v === 0).length;
      expect(zeros).toBe(rowsZero * 20 + colsZero * 50 - rowsZero * colsZero);
    }
    // Width uniform on 0..10 frames → mean 5 of 50 (10%); 0..5 bins → 2.5 of 20 (12.5%).
    expect(timeMasked / (64 * 50)).toBeGreaterThan(0.07);
    expect(timeMasked / (64 * 50)).toBeLessThan(0.13);
    expect(featMasked / (64 * 20)).toBeGreaterThan(0.09);
    expect(featMasked / (64 * 20)).toBeLessThan(0.16);
  });

  it('noise: mean 0, standard deviation σ on real frames, none on padding', async () => {
    const zero = batch([200, 100], 16, () => 0);
    const r = await run(on({ noise: 0.3 }), zero);
    const real = [...r.x.subarray(0, 200 * 16), ...r.x.subarray(200 * 16, 300 * 16)];
    const mean = real.reduce((s, v) => s + v, 0) / real.length;
    const sd = Math.sqrt(real.reduce((s, v) => s + (v - mean) ** 2, 0) / real.length);
    expect(Math.abs(mean)).toBeLessThan(0.02);
    expect(sd).toBeGreaterThan(0.28);
    expect(sd).toBeLessThan(0.32);
    expect(r.x.subarray(300 * 16).every((v) => v === 0)).toBe(true);
  });

  it('all ops together: the float64 reference within 1e-6; the same key gives the same batch, another epoch or place another', async () => {
    const a = on({
      stretchMin: 0.8,
      stretchMax: 1.2,
      timeMasks: 2,
      timeMaskWidth: 0.1,
      featureMasks: 1,
      featureMaskWidth: 0.3,
      featureWarp: 0.1,
      noise: 0.1,
      frameDrop: 0.1,
    });
    const p = planAugmentation(a, KEY, input(b));
    const ref = applyPlanReference(p, b.x);
    const r1 = await run(a, b);
    expect(r1.frames).toEqual(Array.from(p.frames));
    expect(r1.x.length).toBe(ref.length);
    r1.x.forEach((v, i) => expect(Math.abs(v - ref[i])).toBeLessThan(1e-6));
    expect((await run(a, b)).x).toEqual(r1.x);
    expect((await run(a, b, { ...KEY, epoch: 4 })).x).not.toEqual(r1.x);
    expect((await run(a, b, { ...KEY, batch: 6 })).x).not.toEqual(r1.x);
    expect((await run(a, b, { ...KEY, seed: 2 })).x).not.toEqual(r1.x);
    // The mask follows the new lengths.
    r1.outFrames.forEach((n, i) => {
      const row = Array.from(r1.mask.subarray(i * x2(p.T2), (i + 1) * x2(p.T2)));
      expect(row.filter((m) => m === 1).length).toBe(n);
    });
  });

  it('leaves no tensor behind', async () => {
    const a = on({ stretchMin: 0.8, stretchMax: 1.2, timeMasks: 2, featureMasks: 2, featureWarp: 0.1, noise: 0.1, frameDrop: 0.1 });
    await run(a, b);
    const before = tf.memory().numTensors;
    await run(a, b);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('augmentation settings', () => {
  it('accepts the defaults and refuses bad values naming the field', () => {
    expect(augmentProblems(AUGMENT_OFF)).toEqual([]);
    const bad: [Partial<AugmentSettings>, string][] = [
      [{ stretchMin: 1.2, stretchMax: 0.9 }, 'augment.stretchMin: expected at most stretchMax (0.9), got 1.2'],
      [{ stretchMin: 0 }, 'augment.stretchMin: expected a factor above 0'],
      [{ stretchMax: -1 }, 'augment.stretchMax: expected a factor above 0'],
      [{ timeMaskWidth: 1 }, 'augment.timeMaskWidth: expected a fraction of the frames above 0 and below 1, got 1'],
      [{ featureMaskWidth: 1.5 }, 'augment.featureMaskWidth'],
      [{ timeMasks: 1.5 }, 'augment.timeMasks: expected an integer'],
      [{ noise: -0.1 }, 'augment.noise: expected a σ from 0 to 10, got -0.1'],
      [{ frameDrop: 1 }, 'augment.frameDrop'],
      [{ featureWarp: -0.1 }, 'augment.featureWarp'],
    ];
    for (const [o, msg] of bad) {
      const p = augmentProblems(on(o));
      expect(p.length).toBe(1);
      expect(p[0]).toContain(msg);
    }
  });
});
