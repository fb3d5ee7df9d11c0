// What augmentation does to one padded batch, decided on the CPU from a few draws per sample
// (the features never come back from the GPU): which source frames and weights each output frame
// interpolates (time stretch, then frame dropping), the feature-axis warp's source bins and
// weights, the kept frames and bins (time / feature masks), and the noise. augment.ts applies a
// plan with tfjs ops on the device; applyPlanReference below is the same arithmetic in plain TS
// (float64), the tests' reference; the twin (python/ctc_lab/augment.py) makes the same plan.
//
// Draws come from a counter-based generator: every number is a hash of (seed, epoch, the sample's
// place in the epoch's order, stream, counter), so a batch's augmentation does not depend on what
// was drawn before it, and a run resumed mid-epoch sees the same augmented batches.
// The sample's place is micro-batch index × batchSize + slot (the epoch's list of micro-batches is
// itself a function of (seed, epoch): loader.ts), which also fixes the step.

import type { AugmentSettings } from './settings';

// ---- counter-based generator (lowbias32 finaliser, C. Wellons' hash-prospector), mirrored in python/ctc_lab/augment.py

export function mix32(x: number): number {
  x >>>= 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

const GOLDEN = 0x9e3779b9;

/** A stream's key: the hash of its parts (non-negative integers, taken modulo 2³²). */
export function streamKey(parts: readonly number[]): number {
  let h = 0x243f6a88;
  for (const p of parts) h = mix32(((h ^ (p >>> 0)) + GOLDEN) >>> 0);
  return h;
}

/** The counter-th 32-bit draw of a stream. */
export function draw32(key: number, counter: number): number {
  return mix32((mix32((key ^ counter) >>> 0) + GOLDEN) >>> 0);
}

/** Uniform in [0, 1). */
export const uniform = (key: number, counter: number) => draw32(key, counter) / 4294967296;

/** Standard normal (Box–Muller on draws 2c and 2c + 1; the first shifted into (0, 1) so its log is finite). */
export function normal(key: number, c: number): number {
  const u1 = (draw32(key, 2 * c) + 0.5) / 4294967296;
  const u2 = draw32(key, 2 * c + 1) / 4294967296;
  return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

// Streams of a sample: its per-sample numbers, the frame-drop ranks, the noise.
export const STREAM = { scalars: 1, drop: 2, noise: 3 } as const;
// Counters of the scalars stream.
const C = { stretch: 0, drop: 1, warp: 2, masks: 3 } as const;

/** Where a batch sits in its run: draws are a function of (seed, epoch, batch · batchSize + slot). */
export interface AugmentKey {
  seed: number;
  epoch: number;
  batch: number; // the micro-batch's index in the epoch's list
  batchSize: number; // the run's batchSize (a sample's place in the epoch: batch · batchSize + slot)
}

export interface PlanInput {
  T: number; // padded frames
  F: number; // feature dim
  frames: ArrayLike<number>; // [B] input frames
  minFrames: ArrayLike<number>; // [B] the fewest output frames each label sequence needs (ctcMinFrames)
  outFrames: (frames: number) => number; // the model's output frames for input frames
}

/** Linear interpolation rows: out[r] = src[i0[r]] · wa[r] + src[i1[r]] · wb[r] (wa, wb float32, as uploaded). */
export interface Lerp {
  i0: Int32Array;
  i1: Int32Array;
  wa: Float32Array;
  wb: Float32Array;
}

export interface AugmentPlan {
  B: number;
  T: number; // input padded frames
  F: number;
  T2: number; // output padded frames
  frames: Int32Array; // [B] output frames per sample
  stretch: Float64Array; // [B] the length factor applied (after the feasibility clamp; 1 without stretch)
  clamped: boolean[]; // [B] the drawn stretch or drop would have made the sample CTC-infeasible
  time: Lerp | null; // rows [B·T2] over source rows [B·T] (b·T + t); padding rows have weights 0
  warp: Lerp | null; // rows [B·F] over source rows [B·F] (b·F + d): feature d of sample b from its bins i0, i1
  noise: Float32Array | null; // [B·T2·F], σ·z on real frames, 0 on padding
  keepT: Float32Array | null; // [B·T2] 0 on time-masked frames
  keepF: Float32Array | null; // [B·F] 0 on masked feature bins
}

/** The fewest frames ≥ from whose output frames fit the labels (at most `limit`). */
function feasibleFrom(from: number, limit: number, need: number, outFrames: (f: number) => number): number {
  let n = from;
  while (n < limit && outFrames(n) < need) n++;
  return n;
}

/** One mask per (count) drawn on [0, n): width uniform in 0..floor(frac·n), start uniform; 0 where masked. */
function masks(keep: Float32Array, offset: number, n: number, count: number, frac: number, key: number, c0: number): void {
  const maxW = Math.floor(frac * n);
  for (let m = 0; m < count; m++) {
    const w = Math.min(maxW, Math.floor(uniform(key, c0 + 2 * m) * (maxW + 1)));
    const s = Math.min(n - w, Math.floor(uniform(key, c0 + 2 * m + 1) * (n - w + 1)));
    keep.fill(0, offset + s, offset + s + w);
  }
}

export function planAugmentation(a: AugmentSettings, key: AugmentKey, inp: PlanInput): AugmentPlan {
  const { T, F } = inp;
  const B = inp.frames.length;
  const keys = Array.from({ length: B }, (_, b) => {
    const n = key.batch * key.batchSize + b;
    return {
      s: streamKey([key.seed, key.epoch, n, STREAM.scalars]),
      drop: streamKey([key.seed, key.epoch, n, STREAM.drop]),
      noise: streamKey([key.seed, key.epoch, n, STREAM.noise]),
    };
  });
  const timeOn = a.stretchMin !== 1 || a.stretchMax !== 1 || a.frameDrop > 0;
  const frames = Int32Array.from(inp.frames);
  const stretch = new Float64Array(B).fill(1);
  const clamped = new Array<boolean>(B).fill(false);
  // Time: each sample's rows (source position p in [0, T_b − 1]), stretched then thinned.
  const rows: { i0: number; w: number }[][] = [];
  if (timeOn) {
    for (let b = 0; b < B; b++) {
      const Tb = inp.frames[b];
      const need = inp.minFrames[b];
      const f = a.stretchMin + (a.stretchMax - a.stretchMin) * uniform(keys[b].s, C.stretch);
      let n = Math.max(1, Math.floor(Tb * f + 0.5));
      if (n < Tb && inp.outFrames(n) < need) {
        n = feasibleFrom(n, Tb, need, inp.outFrames); // the shortest length the labels still fit
        clamped[b] = true;
      }
      stretch[b] = n / Tb;
      let r: { i0: number; w: number }[] = [];
      for (let j = 0; j < n; j++) {
        const p = n > 1 ? (j * (Tb - 1)) / (n - 1) : 0;
        const i0 = Math.min(Math.floor(p), Tb - 1);
        r.push({ i0, w: i0 >= Tb - 1 ? 0 : p - i0 });
      }
      // Frame dropping: D frames, those whose draws are smallest, fewer if the labels would not fit.
      let D = Math.floor(a.frameDrop * uniform(keys[b].s, C.drop) * n);
      while (D > 0 && inp.outFrames(n - D) < need) {
        D--;
        clamped[b] = true;
      }
      if (D > 0) {
        const u = r.map((_, j) => uniform(keys[b].drop, j));
        const order = r.map((_, j) => j).sort((x, y) => u[x] - u[y] || x - y);
        const gone = new Set(order.slice(0, D));
        r = r.filter((_, j) => !gone.has(j));
      }
      rows.push(r);
      frames[b] = r.length;
    }
  }
  const T2 = timeOn ? Math.max(...frames) : T;
  let time: Lerp | null = null;
  if (timeOn) {
    time = { i0: new Int32Array(B * T2), i1: new Int32Array(B * T2), wa: new Float32Array(B * T2), wb: new Float32Array(B * T2) };
    for (let b = 0; b < B; b++) {
      const Tb = inp.frames[b];
      for (let j = 0; j < T2; j++) {
        const o = b * T2 + j;
        if (j >= rows[b].length) {
          time.i0[o] = time.i1[o] = b * T; // padding: weights 0 (features are finite, so 0 exactly)
          continue;
        }
        const { i0, w } = rows[b][j];
        time.i0[o] = b * T + i0;
        time.i1[o] = b * T + Math.min(i0 + 1, Tb - 1);
        time.wa[o] = 1 - w;
        time.wb[o] = w;
      }
    }
  }
  let warp: Lerp | null = null;
  if (a.featureWarp > 0) {
    warp = { i0: new Int32Array(B * F), i1: new Int32Array(B * F), wa: new Float32Array(B * F), wb: new Float32Array(B * F) };
    for (let b = 0; b < B; b++) {
      const s = 1 + a.featureWarp * (2 * uniform(keys[b].s, C.warp) - 1); // bin d of the output reads bin d / s of the input
      for (let d = 0; d < F; d++) {
        const q = Math.min(d / s, F - 1);
        const i0 = Math.floor(q);
        const o = b * F + d;
        warp.i0[o] = b * F + i0;
        warp.i1[o] = b * F + Math.min(i0 + 1, F - 1);
        warp.wa[o] = 1 - (q - i0);
        warp.wb[o] = q - i0;
      }
    }
  }
  let noise: Float32Array | null = null;
  if (a.noise > 0) {
    noise = new Float32Array(B * T2 * F);
    for (let b = 0; b < B; b++) for (let c = 0; c < frames[b] * F; c++) noise[b * T2 * F + c] = a.noise * normal(keys[b].noise, c); // c = t·F + d
  }
  let keepT: Float32Array | null = null;
  if (a.timeMasks > 0) {
    keepT = new Float32Array(B * T2).fill(1);
    for (let b = 0; b < B; b++) masks(keepT, b * T2, frames[b], a.timeMasks, a.timeMaskWidth, keys[b].s, C.masks);
  }
  let keepF: Float32Array | null = null;
  if (a.featureMasks > 0) {
    keepF = new Float32Array(B * F).fill(1);
    for (let b = 0; b < B; b++) masks(keepF, b * F, F, a.featureMasks, a.featureMaskWidth, keys[b].s, C.masks + 2 * a.timeMasks);
  }
  return { B, T, F, T2, frames, stretch, clamped, time, warp, noise, keepT, keepF };
}

/** The plan applied in plain TS, float64 (the reference augment.ts is tested against): x [B, T, F] → [B, T2, F]. */
export function applyPlanReference(p: AugmentPlan, x: ArrayLike<number>): Float64Array {
  const { B, F, T2 } = p;
  let y = Float64Array.from(x);
  if (p.time) {
    const out = new Float64Array(B * T2 * F);
    for (let r = 0; r < B * T2; r++)
      for (let d = 0; d < F; d++) out[r * F + d] = y[p.time.i0[r] * F + d] * p.time.wa[r] + y[p.time.i1[r] * F + d] * p.time.wb[r];
    y = out;
  }
  if (p.warp) {
    const out = new Float64Array(B * T2 * F);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T2; t++)
        for (let d = 0; d < F; d++) {
          const r = b * F + d;
          const at = (row: number) => y[(b * T2 + t) * F + (row - b * F)];
          out[(b * T2 + t) * F + d] = at(p.warp.i0[r]) * p.warp.wa[r] + at(p.warp.i1[r]) * p.warp.wb[r];
        }
    y = out;
  }
  if (p.noise) for (let i = 0; i < y.length; i++) y[i] += p.noise[i];
  for (let b = 0; b < B; b++)
    for (let t = 0; t < T2; t++)
      for (let d = 0; d < F; d++) {
        const i = (b * T2 + t) * F + d;
        if (p.keepT) y[i] *= p.keepT[b * T2 + t];
        if (p.keepF) y[i] *= p.keepF[b * F + d];
      }
  return y;
}
