// CTC forward + backward on the active backend (a browser's WebGPU, or Dawn in Node): the fused
// kernel (the ctcLoss op, as training calls it) against the same loss composed from TF.js ops, on
// the same inputs, side by side. Results are checked against the float64 reference before anything
// is timed, and a wrong result throws (the runners exit non-zero). Timings: median of `reps` runs
// with their minimum and maximum.

import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { ctcLoss, runCtcPrograms } from '../src/engine/ctc/ctc_loss';
import { ctcLossComposed } from '../src/engine/ctc/ctc_composed';
import { makeProblem } from '../src/engine/ctc/ctc_selftest';
import { ctcLossReference } from '../src/engine/ctc/ctc_reference';

export interface BenchShape {
  name: string;
  B: number;
  T: number;
  L: number;
  V: number;
  /** Every sample T frames and L labels; otherwise sample 0 is full and the rest random (less work). */
  fullLength: boolean;
  /** Also time the composed TF.js version (slow: seconds to minutes per run here). Default true. */
  composed?: boolean;
}

export const DEFAULT_BENCH_SHAPES: BenchShape[] = [
  { name: 'PHOENIX-like', B: 8, T: 75, L: 28, V: 1296, fullLength: true, composed: false },
  { name: 'speech-like', B: 16, T: 400, L: 100, V: 32, fullLength: true, composed: false },
  { name: 'PHOENIX-like', B: 8, T: 75, L: 28, V: 1296, fullLength: false },
  { name: 'speech-like', B: 16, T: 400, L: 100, V: 32, fullLength: false },
];

/** Median, minimum and maximum of a set of timings (ms). */
export interface Timing {
  ms: number;
  min: number;
  max: number;
  all: number[];
}

export interface CtcBenchResult {
  shape: BenchShape;
  backend: string;
  loss: number; // fused, summed over the batch (what other implementations are checked against)
  check: { lossRelErr: number; gradRelErr: number; composedLossRelErr: number | null }; // vs the float64 reference
  fused: Timing & { dispatches: number; ctcDispatches: number };
  composed: (Timing & { dispatches: number }) | null;
  speedup: number | null; // composed ms / fused ms (medians)
  programMs: Record<string, number> | null; // GPU time per fused program (timestamp queries), median of 3
}

/**
 * Tolerances of the in-browser self-test (e2e/ctc-kernel.spec.ts): 1e-4, and 1e-3 for the
 * gradient past T = 1000 (float32 log/exp rounding in the recursion accumulates over T steps).
 */
const tolerance = (T: number) => ({ loss: 1e-4, grad: T > 1000 ? 1e-3 : 1e-4 });

export const timing = (all: number[]): Timing => {
  const s = [...all].sort((a, b) => a - b);
  return { ms: s[Math.floor(s.length / 2)], min: s[0], max: s[s.length - 1], all };
};

/** Counts WebGPU program dispatches made while fn runs (0 on other backends). */
async function countDispatches(fn: () => Promise<void>): Promise<{ total: number; ctc: number }> {
  const be = tf.backend() as WebGPUBackend;
  if (tf.getBackend() !== 'webgpu') {
    await fn();
    return { total: 0, ctc: 0 };
  }
  const orig = be.runWebGPUProgram.bind(be);
  let total = 0,
    ctc = 0;
  be.runWebGPUProgram = ((program, ...rest) => {
    total++;
    if (program.shaderKey.startsWith('ctclab_')) ctc++;
    return orig(program, ...rest);
  }) as typeof be.runWebGPUProgram;
  try {
    await fn();
  } finally {
    be.runWebGPUProgram = orig;
  }
  return { total, ctc };
}

/** The benchmark's inputs for a shape (the runners hand them to PyTorch). */
export function benchProblem(shape: BenchShape) {
  const { B, T, V, L } = shape;
  return makeProblem({ B, T, V, L, reduction: 'sum', zeroInfinity: false, infeasible: false, seed: 99, fullLength: shape.fullLength });
}

/** benchProblem with the logits as base64 (cheap to pass out of a browser page). */
export function benchProblemBase64(shape: BenchShape) {
  const p = benchProblem(shape);
  const bytes = new Uint8Array(p.logits.buffer);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { logitsF32Base64: btoa(bin), labels: Array.from(p.labels), logitLengths: Array.from(p.logitLengths), labelLengths: Array.from(p.labelLengths) };
}

export interface CtcBenchOptions {
  reps?: number; // fused runs timed (default 5)
  composedReps?: number; // composed runs timed where the shape asks for them (default 1); 0 skips them
}

export async function benchCtc(shape: BenchShape, opts: CtcBenchOptions = {}): Promise<CtcBenchResult> {
  const reps = opts.reps ?? 5;
  const composedReps = shape.composed === false ? 0 : (opts.composedReps ?? 1);
  const { B, T, V, L } = shape;
  const p = benchProblem(shape);
  const logits = tf.tensor3d(p.logits, [B, T, V]);
  const labels = tf.tensor2d(p.labels, [B, L], 'int32');
  const xl = tf.tensor1d(p.logitLengths, 'int32');
  const yl = tf.tensor1d(p.labelLengths, 'int32');
  const fused = (x: tf.Tensor) => tf.tidy(() => tf.sum(ctcLoss(x as tf.Tensor3D, labels, xl, yl, { reduction: 'none' })));
  const composed = (x: tf.Tensor) => tf.tidy(() => tf.sum(ctcLossComposed(x as tf.Tensor3D, labels, xl, yl)));

  // One forward + backward, waiting for the device by reading back one element of the gradient
  // (the device runs its work in order; a sum over the gradient would add a pass of its own).
  const step = async (f: (x: tf.Tensor) => tf.Tensor) => {
    const { value, grads } = tf.valueAndGrads(f)([logits]) as { value: tf.Scalar; grads: tf.Tensor[] };
    const s = tf.slice(grads[0], [B - 1, T - 1, V - 1], [1, 1, 1]);
    const [v] = await Promise.all([value.data(), s.data()]);
    tf.dispose([value, s, ...grads]);
    return v[0];
  };

  try {
    // Correctness first: the fused loss and gradient against the float64 reference, and the
    // composed loss too. A wrong result stops the benchmark.
    const what = `${shape.name} B${B} T${T} L${L} V${V}${shape.fullLength ? ' full length' : ''}`;
    const ref = ctcLossReference({ ...p, B, T, V, L });
    const refLoss = ref.nll.reduce((a, x) => a + x, 0);
    const { value, grads } = tf.valueAndGrads(fused)([logits]) as { value: tf.Scalar; grads: tf.Tensor[] };
    const loss = (await value.data())[0];
    const g = await grads[0].data();
    tf.dispose([value, ...grads]);
    let gMax = 0,
      gErr = 0;
    for (let i = 0; i < g.length; i++) {
      gMax = Math.max(gMax, Math.abs(ref.grad![i]));
      gErr = Math.max(gErr, Math.abs(g[i] - ref.grad![i]));
    }
    const check = { lossRelErr: Math.abs(loss - refLoss) / Math.abs(refLoss), gradRelErr: gErr / gMax, composedLossRelErr: null as number | null };
    const TOL = tolerance(T);
    if (!(check.lossRelErr <= TOL.loss) || !(check.gradRelErr <= TOL.grad)) {
      throw new Error(
        `CTC benchmark ${what}: the fused kernel disagrees with the float64 reference (loss rel. error ${check.lossRelErr.toExponential(2)}, gradient ${check.gradRelErr.toExponential(2)}; tolerances ${TOL.loss}, ${TOL.grad})`,
      );
    }
    if (composedReps > 0) {
      const c = await step(composed);
      check.composedLossRelErr = Math.abs(c - refLoss) / Math.abs(refLoss);
      if (!(check.composedLossRelErr <= TOL.loss)) {
        throw new Error(
          `CTC benchmark ${what}: the composed TF.js version disagrees with the float64 reference (loss rel. error ${check.composedLossRelErr.toExponential(2)})`,
        );
      }
    }

    const time = async (f: (x: tf.Tensor) => tf.Tensor, n: number) => {
      const ms: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = performance.now();
        await step(f);
        ms.push(performance.now() - t0);
      }
      return timing(ms);
    };
    await step(fused); // warm-up (pipelines compiled above; buffers pooled)
    const fusedT = await time(fused, reps);
    const composedT = composedReps > 0 ? await time(composed, composedReps) : null;
    const programMs = await profilePrograms(logits, labels, xl, yl);
    const fd = await countDispatches(async () => void (await step(fused)));
    const cd = composedReps > 0 ? await countDispatches(async () => void (await step(composed))) : null;
    return {
      shape,
      backend: tf.getBackend(),
      loss,
      check,
      fused: { ...fusedT, dispatches: fd.total, ctcDispatches: fd.ctc },
      composed: composedT && cd ? { ...composedT, dispatches: cd.total } : null,
      speedup: composedT ? composedT.ms / fusedT.ms : null,
      programMs,
    };
  } finally {
    tf.dispose([logits, labels, xl, yl]);
  }
}

/**
 * GPU time of each fused program (WebGPU timestamp queries through tf.time), from the op's own
 * dispatch path (runCtcPrograms, which names its stages in dispatch order); median of 3.
 */
async function profilePrograms(logits: tf.Tensor3D, labels: tf.Tensor2D, xl: tf.Tensor1D, yl: tf.Tensor1D): Promise<Record<string, number> | null> {
  if (tf.getBackend() !== 'webgpu') return null;
  const be = tf.backend() as WebGPUBackend;
  if (!be.device.features.has('timestamp-query')) return null;
  const runs: Record<string, number[]> = {};
  for (let rep = 0; rep < 3; rep++) {
    let out: ReturnType<typeof runCtcPrograms> | null = null;
    const info = await tf.time(() => {
      out = runCtcPrograms(be, { logits, labels, logitLengths: xl, labelLengths: yl }, { blank: 0, zeroInfinity: false, computeGrad: true });
    });
    const o = out as unknown as ReturnType<typeof runCtcPrograms>;
    // getExtraProfileInfo lists "name: ms" per program, in dispatch order.
    const extra = (info as { getExtraProfileInfo?: () => string }).getExtraProfileInfo?.() ?? '';
    const ms = extra.split(', ').map((x) => Number(x.slice(x.lastIndexOf(':') + 1)));
    if (ms.length !== o.stages.length) throw new Error(`CTC profile: ${ms.length} timed programs for ${o.stages.length} stages (${extra})`);
    o.stages.forEach((name, i) => (runs[name] ??= []).push(ms[i]));
    for (const t of [o.lse, o.tab, o.nll, o.grad]) if (t) be.disposeData(t.dataId);
  }
  return Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, timing(v).ms]));
}
