// CTC forward+backward: fused WebGPU kernel vs the same loss composed from TF.js ops (loop over T),
// on the same backend, same inputs, side by side. Checks that both agree before timing them.

import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { ctcLoss } from '../src/engine/ctc/ctc_loss';
import { CtcAlphaBetaProgram, CtcGradProgram, CtcNllProgram, LogSoftmaxProgram, uniformsI32 } from '../src/engine/ctc/ctc_program';
import { ctcLossComposed } from '../src/engine/ctc/ctc_composed';
import { makeProblem } from '../src/engine/ctc/ctc_check';

export interface BenchShape {
  name: string;
  B: number;
  T: number;
  L: number;
  V: number;
}

export const DEFAULT_BENCH_SHAPES: BenchShape[] = [
  { name: 'PHOENIX-like', B: 8, T: 75, L: 28, V: 1296 },
  { name: 'speech-like', B: 16, T: 400, L: 100, V: 32 },
];

export interface CtcBenchResult {
  shape: BenchShape;
  backend: string;
  loss: number; // fused, summed over the batch (the value other implementations are checked against)
  agreeRelErr: number; // |fused - composed| / |composed| on the summed loss
  fused: { ms: number; msAll: number[]; dispatches: number; ctcDispatches: number };
  composed: { ms: number; msAll: number[]; dispatches: number };
  speedup: number; // composed ms / fused ms (medians)
  programMs: Record<string, number> | null; // GPU time per fused program (timestamp queries), when available
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Counts WebGPU program dispatches made while fn runs (0 on other backends). */
async function countDispatches(fn: () => Promise<void>): Promise<{ total: number; ctc: number }> {
  const be = tf.backend() as WebGPUBackend;
  if (tf.getBackend() !== 'webgpu') {
    await fn();
    return { total: 0, ctc: 0 };
  }
  const orig = be.runWebGPUProgram.bind(be);
  let total = 0, ctc = 0;
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

/** The benchmark's inputs for a shape, for other implementations (PyTorch) to run on. */
export function benchProblem(shape: BenchShape) {
  const { B, T, V, L } = shape;
  const p = makeProblem({ B, T, V, L, reduction: 'sum', zeroInfinity: false, infeasible: false, seed: 99 });
  const bytes = new Uint8Array(p.logits.buffer);
  let bin = '';
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return { ...shape, logitsF32Base64: btoa(bin), labels: Array.from(p.labels), logitLengths: Array.from(p.logitLengths), labelLengths: Array.from(p.labelLengths) };
}

export async function benchCtc(shape: BenchShape, reps = 5, composedReps = Math.max(1, Math.min(reps, 3))): Promise<CtcBenchResult> {
  const { B, T, V, L } = shape;
  const p = makeProblem({ B, T, V, L, reduction: 'sum', zeroInfinity: false, infeasible: false, seed: 99 });
  const logits = tf.tensor3d(p.logits, [B, T, V]);
  const labels = tf.tensor2d(p.labels, [B, L], 'int32');
  const xl = tf.tensor1d(p.logitLengths, 'int32');
  const yl = tf.tensor1d(p.labelLengths, 'int32');
  const fused = (x: tf.Tensor) => tf.tidy(() => tf.sum(ctcLoss(x as tf.Tensor3D, labels, xl, yl, { reduction: 'none' })));
  const composed = (x: tf.Tensor) => tf.tidy(() => tf.sum(ctcLossComposed(x as tf.Tensor3D, labels, xl, yl)));

  // One forward+backward, waiting for the GPU by reading back a scalar of the gradient.
  const step = async (f: (x: tf.Tensor) => tf.Tensor) => {
    const { value, grads } = tf.valueAndGrads(f)([logits]) as { value: tf.Scalar; grads: tf.Tensor[] };
    const s = tf.sum(grads[0]);
    const [v] = await Promise.all([value.data(), s.data()]);
    tf.dispose([value, s, ...grads]);
    return v[0];
  };

  // Correctness first: both must give the same loss.
  const a = await step(fused);
  const b = await step(composed);
  const agreeRelErr = Math.abs(a - b) / Math.abs(b);

  const time = async (f: (x: tf.Tensor) => tf.Tensor, n: number) => {
    const ms: number[] = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await step(f);
      ms.push(performance.now() - t0);
    }
    return ms;
  };
  const fusedMs = await time(fused, reps);
  const composedMs = await time(composed, composedReps);
  const programMs = await profilePrograms(logits, labels, xl, yl);

  const fd = await countDispatches(async () => void (await step(fused)));
  const cd = await countDispatches(async () => void (await step(composed)));
  tf.dispose([logits, labels, xl, yl]);
  return {
    shape,
    backend: tf.getBackend(),
    loss: a,
    agreeRelErr,
    fused: { ms: median(fusedMs), msAll: fusedMs, dispatches: fd.total, ctcDispatches: fd.ctc },
    composed: { ms: median(composedMs), msAll: composedMs, dispatches: cd.total },
    speedup: median(composedMs) / median(fusedMs),
    programMs,
  };
}

/** GPU time of each fused program, from WebGPU timestamp queries (tf.time's kernelMs), one at a time. */
async function profilePrograms(logits: tf.Tensor3D, labels: tf.Tensor2D, xl: tf.Tensor1D, yl: tf.Tensor1D): Promise<Record<string, number> | null> {
  if (tf.getBackend() !== 'webgpu') return null;
  const be = tf.backend() as WebGPUBackend;
  const [B, T, V] = logits.shape;
  const L = labels.shape[1];
  const S = 2 * L + 1;
  const u = uniformsI32;
  const asTensor = (info: tf.TensorInfo) => tf.engine().makeTensorFromTensorInfo(info);
  const stages: Record<string, (lp: tf.Tensor, ab: tf.Tensor) => tf.TensorInfo> = {
    logSoftmax: () => be.runWebGPUProgram(new LogSoftmaxProgram(B * T, V), [logits], 'float32', u(B * T, V)),
    alphaBeta: (lp) => be.runWebGPUProgram(new CtcAlphaBetaProgram(B, T, L, 2), [lp, labels, xl, yl], 'float32', u(T, V, L, 0, 2)),
    nll: (_lp, ab) => be.runWebGPUProgram(new CtcNllProgram(B), [ab], 'float32', u(B, 2 * (T * S + 1), T * S, 0)),
    grad: (lp, ab) => be.runWebGPUProgram(new CtcGradProgram(B, T, V, L), [lp, ab, labels, xl, yl], 'float32', u(T, V, L, 0, 0)),
  };
  const lp = asTensor(stages.logSoftmax(logits, logits));
  const ab = asTensor(stages.alphaBeta(lp, lp));
  await ab.data();
  const out: Record<string, number> = {};
  for (const [name, run] of Object.entries(stages)) {
    let best = Infinity;
    for (let rep = 0; rep < 3; rep++) {
      let r: tf.Tensor | null = null;
      const info = await tf.time(() => {
        r = asTensor(run(lp, ab));
      });
      await r!.data();
      r!.dispose();
      best = Math.min(best, info.kernelMs as number);
    }
    out[name] = best;
  }
  tf.dispose([lp, ab]);
  return out;
}
