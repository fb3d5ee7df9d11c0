// The lab's augmented batches for the twin: python/tests/fixtures/augment.json holds, for each op
// and for all of them together, the settings, the key, the batch and what augmentedBatchTensors
// makes of it on the cpu backend (features, lengths), and a few raw draws of the generator.
// This test checks the file still holds what the lab computes (rewrite it with
// UPDATE_AUGMENT_FIXTURES=1); python/tests/test_augment.py asserts the twin's batches equal it (≤ 1e-6).

import { readFileSync, writeFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import type { Batch } from '../../data/batch';
import { disposeBatchTensors } from '../train/batch_tensors';
import { augmentedBatchTensors } from './augment';
import { draw32, mix32, normal, streamKey, uniform, type AugmentKey } from './plan';
import { AUGMENT_OFF, type AugmentSettings } from './settings';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const FIXTURE = new URL('../../../python/tests/fixtures/augment.json', import.meta.url);
const F = 6;
const FRAMES = [16, 11, 7, 3];
// Labels per sample (class ids); the second has a repeat (it needs 4 output frames for 3 labels).
const LABELS = [[1, 2, 3], [2, 2, 1], [3], [1]];

function batch(): Batch {
  const B = FRAMES.length;
  const T = Math.max(...FRAMES);
  const L = Math.max(...LABELS.map((l) => l.length));
  const x = new Float32Array(B * T * F);
  FRAMES.forEach((n, b) => {
    for (let t = 0; t < n; t++) for (let d = 0; d < F; d++) x[(b * T + t) * F + d] = Math.fround(Math.sin(0.9 * b + 0.37 * t * (d + 1)) * 1.7 + 0.1 * d);
  });
  const labels = new Int32Array(B * L);
  LABELS.forEach((l, b) => labels.set(l, b * L));
  return {
    B,
    T,
    F,
    L,
    x,
    frames: Int32Array.from(FRAMES),
    labels,
    labelLengths: Int32Array.from(LABELS.map((l) => l.length)),
    ids: FRAMES.map((_, b) => `s${b}`),
    texts: FRAMES.map(() => ''),
    realFrames: FRAMES.reduce((s, n) => s + n, 0),
  };
}

const on = (o: Partial<AugmentSettings>): AugmentSettings => ({ ...AUGMENT_OFF, ...o });
const CASES: { name: string; augment: AugmentSettings; key: AugmentKey; subsampling: 2 | 4 }[] = [
  { name: 'stretch', augment: on({ stretchMin: 0.7, stretchMax: 1.3 }), key: { seed: 1, epoch: 1, batch: 0, batchSize: 4 }, subsampling: 2 },
  { name: 'stretch-clamped', augment: on({ stretchMin: 0.3, stretchMax: 0.5 }), key: { seed: 7, epoch: 2, batch: 3, batchSize: 4 }, subsampling: 4 },
  { name: 'frame-drop', augment: on({ frameDrop: 0.5 }), key: { seed: 1, epoch: 5, batch: 2, batchSize: 8 }, subsampling: 2 },
  { name: 'feature-warp', augment: on({ featureWarp: 0.1 }), key: { seed: 3, epoch: 1, batch: 1, batchSize: 4 }, subsampling: 2 },
  { name: 'noise', augment: on({ noise: 0.2 }), key: { seed: 1, epoch: 9, batch: 0, batchSize: 4 }, subsampling: 2 },
  { name: 'time-masks', augment: on({ timeMasks: 2, timeMaskWidth: 0.3 }), key: { seed: 2, epoch: 1, batch: 0, batchSize: 4 }, subsampling: 2 },
  { name: 'feature-masks', augment: on({ featureMasks: 2, featureMaskWidth: 0.4 }), key: { seed: 2, epoch: 3, batch: 4, batchSize: 4 }, subsampling: 2 },
  {
    name: 'all',
    augment: {
      stretchMin: 0.8,
      stretchMax: 1.2,
      timeMasks: 2,
      timeMaskWidth: 0.2,
      featureMasks: 1,
      featureMaskWidth: 0.3,
      featureWarp: 0.1,
      noise: 0.1,
      frameDrop: 0.2,
    },
    key: { seed: 11, epoch: 4, batch: 7, batchSize: 4 },
    subsampling: 4,
  },
];
// Output frames of the lab's tcn at ×2 / ×4 are not needed here: any rule the twin can read does. These are tables.
const outRule = (s: 2 | 4) => (f: number) => (s === 2 ? Math.ceil(f / 2) : Math.floor(f / 4));

async function compute() {
  const b = batch();
  const cases = [];
  for (const c of CASES) {
    const out = outRule(c.subsampling);
    const t = augmentedBatchTensors({ outFrames: out }, b, c.augment, c.key);
    cases.push({ ...c, shape: t.x.shape, frames: Array.from(t.frames), y: Array.from(await t.x.data()) });
    disposeBatchTensors(t);
  }
  const k = streamKey([1, 2, 3, 4]);
  return {
    batch: { frames: FRAMES, labels: LABELS, F, T: b.T, x: Array.from(b.x) },
    outFrames: { 2: Array.from({ length: 4 * b.T + 2 }, (_, f) => outRule(2)(f)), 4: Array.from({ length: 4 * b.T + 2 }, (_, f) => outRule(4)(f)) },
    draws: {
      mix32: [0, 1, 12345, 0xffffffff, 0x80000000].map((x) => [x, mix32(x)]),
      streamKey: [
        [[1, 2, 3, 4], k],
        [[2 ** 31 - 1, 0, 999999, 3], streamKey([2 ** 31 - 1, 0, 999999, 3])],
      ],
      draw32: [0, 1, 2, 1000].map((c) => [c, draw32(k, c)]),
      uniform: [0, 5].map((c) => [c, uniform(k, c)]),
      normal: [0, 1, 77].map((c) => [c, normal(k, c)]),
    },
    cases,
  };
}

describe('the augmented batches the twin must reproduce', () => {
  it('augment.json holds what the lab computes (rewrite with UPDATE_AUGMENT_FIXTURES=1)', async () => {
    const now = await compute();
    if (process.env.UPDATE_AUGMENT_FIXTURES) writeFileSync(FIXTURE, `${JSON.stringify(now)}\n`);
    const stored = JSON.parse(readFileSync(FIXTURE, 'utf8')) as typeof now;
    expect(stored.draws).toEqual(JSON.parse(JSON.stringify(now.draws)));
    expect(stored.cases.map((c) => c.name)).toEqual(CASES.map((c) => c.name));
    stored.cases.forEach((c, i) => {
      expect(c.frames).toEqual(now.cases[i].frames);
      expect(c.shape).toEqual(now.cases[i].shape);
      c.y.forEach((v, j) => expect(Math.abs(v - now.cases[i].y[j]), `${c.name}[${j}]`).toBeLessThanOrEqual(1e-6));
    });
    // Each case changes the batch, and the clamp case clamps.
    for (const c of now.cases) expect(c.y.length === now.batch.x.length && c.y.every((v, j) => v === now.batch.x[j])).toBe(false);
    expect(now.cases[1].frames).not.toEqual(FRAMES.map((n) => Math.floor(n * 0.5 + 0.5)));
  });
});
