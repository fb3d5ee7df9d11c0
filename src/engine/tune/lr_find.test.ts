import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { makeBatch } from '../../data/batch';
import { createModel, modelConfig } from '../model/registry';
import { Adam } from '../optim/adam';
import { batchTensors } from '../train/batch_tensors';
import { trainStep } from '../train/step';
import { demoRecords, SMALL_TRAIN } from '../train/test_setup';
import {
  blankOnly,
  greedyStats,
  LR_FIND_DEFAULTS,
  lrRangeTest,
  rampLr,
  rangeTest,
  smoothLosses,
  stopReason,
  suggestLr,
  type LrFindPoint,
  type StepBatches,
} from './lr_find';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const N = 100;
const xs = Array.from({ length: N }, (_, i) => -7 + (7 * i) / (N - 1)); // log10 lr of each step: the default ramp

/** A curve given as the smoothed loss over log10(lr), with per-point blank rate and output length. */
function curve(f: (x: number) => number, blank: (x: number) => boolean = () => false): LrFindPoint[] {
  return xs.map((x, step) => ({ step, lr: 10 ** x, loss: f(x), smoothed: f(x), blankRate: blank(x) ? 1 : 0.6, outputLength: blank(x) ? 0 : 3 }));
}

// A sigmoid-shaped descent centred at log10 lr = -3.3 (steepest there: tanh's inflection), then a quadratic rise past 1e-1.
const CENTRE = -3.3;
const descent = (x: number) => 2 - Math.tanh(1.5 * (x - CENTRE)) + 3 * Math.max(0, x + 1) ** 2;
// The same, with a blank plateau planted at 1e-6..1e-5: a fall twice as steep while the model emits only blanks.
const PLATEAU = [-6.2, -4.8];
const inPlateau = (x: number) => x >= PLATEAU[0] && x <= PLATEAU[1];
const withPlateau = (x: number) => descent(x) + 3 * (1 - Math.tanh(3 * (x + 5.5)));

describe('the ramp and the smoothing', () => {
  it('the rate goes exponentially from 1e-7 at step 0 to 1 at step 99', () => {
    expect(rampLr(0)).toBeCloseTo(1e-7, 20);
    expect(rampLr(99)).toBeCloseTo(1, 12);
    for (let i = 1; i < 100; i++) expect(rampLr(i) / rampLr(i - 1)).toBeCloseTo(10 ** (7 / 99), 12);
  });

  it('the EMA is bias-corrected: constant losses stay constant, and a step is weighted (1-β)/(1-β^(i+1))', () => {
    for (const v of smoothLosses([2, 2, 2, 2])) expect(v).toBeCloseTo(2, 14);
    const [a, b] = smoothLosses([1, 3], 0.98);
    expect(a).toBeCloseTo(1, 14);
    expect(b).toBeCloseTo((0.98 * 0.02 * 1 + 0.02 * 3) / (1 - 0.98 ** 2), 14); // hand-worked: (0.0196 + 0.06) / 0.0396
  });

  it('stops past 4× the best smoothed loss, on a non-finite loss, and after the last step; not before', () => {
    const pts = (smoothed: number[], last = smoothed.at(-1)!) =>
      smoothed.map((v, step) => ({ step, lr: rampLr(step), loss: step === smoothed.length - 1 ? last : v, smoothed: v, blankRate: 0.5, outputLength: 2 }));
    expect(stopReason(pts([3, 1, 3.9]))).toBeNull();
    expect(stopReason(pts([3, 1, 4.01]))).toMatch(/exceeded 4× its best \(1\.000\)/);
    expect(stopReason(pts([3, 1, 2], NaN))).toMatch(/the loss became NaN/);
    expect(stopReason(pts([3, 2, 1]), { ...LR_FIND_DEFAULTS, steps: 3 })).toMatch(/after 3 steps/);
  });
});

describe('the suggestion', () => {
  it('a sigmoid descent: the grid point nearest its inflection (float64 analytic steepest point)', () => {
    const s = suggestLr(curve(descent));
    // The analytic steepest descent is at x = CENTRE; the grid point there is the nearest to it.
    const nearest = xs.reduce((bi, x, i) => (Math.abs(x - CENTRE) < Math.abs(xs[bi] - CENTRE) ? i : bi), 0);
    expect(nearest).toBe(52);
    expect(s.index).toBe(nearest);
    expect(s.lr).toBeCloseTo(10 ** xs[nearest], 15);
    expect(s.slope).toBeLessThan(-1.4); // -1.5 at the inflection, less the central difference's smoothing
  });

  it('a convex quadratic falling to its minimum: the first point after the skipped 10, never the last', () => {
    const s = suggestLr(curve((x) => (x + 1) ** 2));
    expect(s.index).toBe(10);
    expect(
      suggestLr(
        curve((x) => (x + 1) ** 2),
        { ...LR_FIND_DEFAULTS, skipBegin: 0 },
      ).index,
    ).toBe(1); // the first has no central difference
    const rising = suggestLr(curve((x) => -((x + 7) ** 2))); // falls ever faster to the end: the last point is not a candidate
    expect(rising.index).toBe(N - 2);
  });

  it('a planted blank plateau is skipped; the same curve without blank flags would suggest inside it', () => {
    const naive = suggestLr(curve(withPlateau));
    expect(inPlateau(Math.log10(naive.lr!))).toBe(true); // the test can fail: the plateau is the steepest stretch
    const s = suggestLr(curve(withPlateau, inPlateau));
    expect(inPlateau(Math.log10(s.lr!))).toBe(false);
    expect(Math.abs(Math.log10(s.lr!) - CENTRE)).toBeLessThan(0.1);
    expect(s.reason).toMatch(/blank plateau skipped/);
  });

  it('nothing to suggest: all blank, flat, or too short — each with its reason', () => {
    expect(suggestLr(curve(descent, () => true))).toMatchObject({ lr: null, reason: expect.stringMatching(/emits only blanks/) });
    expect(suggestLr(curve(() => 1))).toMatchObject({ lr: null, reason: expect.stringMatching(/never falls/) });
    expect(suggestLr(curve(descent).slice(0, 2))).toMatchObject({ lr: null, reason: expect.stringMatching(/at least 12/) });
  });

  it('blank-only: an empty greedy output or a blank rate ≥ 0.995', () => {
    expect(blankOnly({ blankRate: 0.9, outputLength: 0 })).toBe(true);
    expect(blankOnly({ blankRate: 0.996, outputLength: 0.1 })).toBe(true);
    expect(blankOnly({ blankRate: 0.97, outputLength: 3 })).toBe(false);
  });
});

describe('greedy statistics of a step', () => {
  it('blank rate over real frames and tokens per sample, two micro-batches (hand-worked)', () => {
    // micro-batch 1: [2, 4] frames, real 4 and 2; micro-batch 2: [1, 3], real 3
    const best = [1, 1, 0, 2, /* pad */ 0, 0, 0, 0, 3, 0, 3, 0];
    const s = greedyStats(best, [
      { maxOutFrames: 4, outFrames: [4, 2] },
      { maxOutFrames: 3, outFrames: [3] },
    ]);
    // sample 1: "1 1 0 2" → 2 tokens, 1 blank; sample 2: "0 0" → 0 tokens, 2 blanks; sample 3: "3 0 3" → 2 tokens, 1 blank
    expect(s.blankRate).toBeCloseTo(4 / 9, 12);
    expect(s.outputLength).toBeCloseTo(4 / 3, 12);
  });
});

describe('the range test on a model (cpu backend)', () => {
  const { meta, samples } = demoRecords();
  const cfg = { ...SMALL_TRAIN, channels: 16, layers: 1, batchSize: 4, accumulationSteps: 1, maxTrainSamples: 8 };

  it('leaves the weights, the optimizer slots and its step count exactly as they were', async () => {
    const model = createModel(modelConfig(cfg, meta.featureDim, meta.vocab.length + 1), 1);
    const adam = new Adam(model.params, { lr: 1e-3 });
    const train = samples.filter((s) => s.split === 'train').slice(0, 8);
    const batch = makeBatch(train.slice(0, 4), meta);
    // Two real steps first, so the slots and the step count are not their initial zeros.
    for (let i = 0; i < 2; i++) await trainStep(model, adam, [() => ({ t: batchTensors(model, batch) })], { lr: 1e-3, clipNorm: 5 });
    const before = new Map([...model.params, ...adam.slots].map(([k, v]) => [k, v.dataSync().slice()]));
    const tensorsBefore = tf.memory().numTensors;
    const batches: StepBatches = async (i) => [() => ({ t: batchTensors(model, makeBatch(train.slice((i % 2) * 4, (i % 2) * 4 + 4), meta)), dropoutSeed: i })];
    const r = await rangeTest(model, adam, batches, 5, { ...LR_FIND_DEFAULTS, steps: 12 });
    expect(r.points.length).toBeGreaterThan(5);
    expect(r.points[0].lr).toBe(1e-7);
    expect(adam.step).toBe(2);
    for (const [k, v] of [...model.params, ...adam.slots]) expect(Array.from(v.dataSync()), k).toEqual(Array.from(before.get(k)!));
    expect(tf.memory().numTensors).toBe(tensorsBefore);
    // A test that throws half-way restores them too.
    const failing: StepBatches = async (i) => {
      if (i === 3) throw new Error('read error');
      return batches(i);
    };
    await expect(rangeTest(model, adam, failing, 5)).rejects.toThrow('read error');
    for (const [k, v] of [...model.params, ...adam.slots]) expect(Array.from(v.dataSync()), k).toEqual(Array.from(before.get(k)!));
    expect(adam.step).toBe(2);
    model.dispose();
    adam.dispose();
  }, 60_000);

  it('from the form settings on the demo: every step at the ramp rate, in the run batches; the suggestion is an inner recorded point', async () => {
    const seen: number[] = [];
    const s40 = { ...LR_FIND_DEFAULTS, steps: 40 };
    const r = await lrRangeTest(meta, samples, { ...cfg, lr: 1e-3 }, s40, { onPoint: (p) => void seen.push(p.step) });
    expect(seen).toEqual(r.points.map((p) => p.step));
    expect(r.trainSamples).toBe(8);
    for (const p of r.points) {
      expect(p.lr).toBe(rampLr(p.step, s40));
      expect(p.blankRate).toBeGreaterThanOrEqual(0);
      expect(p.blankRate).toBeLessThanOrEqual(1);
    }
    console.log(
      `[lr_find] ${r.points.length} steps; ${r.stopReason}; ${r.suggestion.reason}; suggestion ${r.suggestion.lr?.toExponential(2)}; ` +
        `min smoothed ${Math.min(...r.points.map((p) => p.smoothed)).toFixed(3)}`,
    );
    expect(r.suggestion.lr).not.toBeNull();
    expect(r.suggestion.index).toBeGreaterThan(0);
    expect(r.suggestion.index).toBeLessThan(r.points.length - 1);
    expect(r.suggestion.lr).toBe(r.points[r.suggestion.index!].lr);
  }, 120_000);
});

// Shared curves for the twin (python/tests/test_lr_find.py): the lab's smoothing, stop and suggestion on each.
const FIXTURE = new URL('./fixtures/lr_find.json', import.meta.url);

function fixture() {
  const noisy = (x: number, i: number) => descent(x) * (1 + 0.05 * Math.sin(i * 1.7)); // raw losses with wiggle: smoothing matters
  const curves: Record<string, { lr: number[]; loss: number[]; blankRate: number[]; outputLength: number[] }> = {};
  const add = (name: string, f: (x: number, i: number) => number, blank: (x: number) => boolean = () => false) => {
    curves[name] = {
      lr: xs.map((x) => 10 ** x),
      loss: xs.map((x, i) => f(x, i)),
      blankRate: xs.map((x) => (blank(x) ? 1 : 0.7)),
      outputLength: xs.map((x) => (blank(x) ? 0 : 2.5)),
    };
  };
  add('sigmoid', noisy);
  add('plateau', (x, i) => withPlateau(x) * (1 + 0.03 * Math.cos(i)), inPlateau);
  add('diverges', (x) => (x < -2 ? descent(x) : descent(x) * 10 ** (3 * (x + 2))));
  add('nan', (x) => (x < -1 ? descent(x) : NaN));
  return Object.fromEntries(
    Object.entries(curves).map(([name, c]) => {
      const smoothed = smoothLosses(c.loss);
      const points = c.lr.map((lr, i) => ({ step: i, lr, loss: c.loss[i], smoothed: smoothed[i], blankRate: c.blankRate[i], outputLength: c.outputLength[i] }));
      let stop = points.length;
      let reason: string | null = null;
      for (let k = 1; k <= points.length && reason === null; k++) {
        reason = stopReason(points.slice(0, k));
        stop = k;
      }
      return [
        name,
        {
          ...c,
          loss: c.loss.map((l) => (Number.isFinite(l) ? l : null)),
          smoothed: smoothed.map((v) => (Number.isFinite(v) ? v : null)),
          stop,
          reason,
          suggestion: suggestLr(points.slice(0, stop)),
        },
      ];
    }),
  );
}

describe('the twin fixture', () => {
  it('lr_find.json holds what the lab computes (rewrite with UPDATE_LR_FIND_FIXTURES=1); the twin asserts it', () => {
    const now = JSON.parse(JSON.stringify(fixture())) as Record<string, { stop: number; suggestion: { lr: number | null } }>;
    expect(now.diverges.stop).toBeLessThan(N);
    expect(now.nan.stop).toBeLessThan(N);
    expect(now.plateau.suggestion.lr).not.toBeNull();
    if (process.env.UPDATE_LR_FIND_FIXTURES) writeFileSync(FIXTURE, `${JSON.stringify(now)}\n`);
    expect(JSON.parse(readFileSync(FIXTURE, 'utf8'))).toEqual(now);
  });
});
