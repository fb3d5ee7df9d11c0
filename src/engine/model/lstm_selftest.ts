// Self-test of the fused WebGPU BiLSTM recurrence against the composed TF.js version (the
// reference, itself checked against central differences on the cpu backend in models.test.ts),
// both run on the active WebGPU backend with the same inputs. Per case:
//   1. the programs alone, with their output buffers pre-filled with NaN (poison): every element
//      of the forward state and of the backward buffer must be written;
//   2. the layer as training uses it: outputs on every frame (padding included) and the gradients
//      of a random linear readout with respect to the input and the three weights;
//   3. batch independence: each sample alone, padded to another length, gives the same outputs
//      on its real frames;
//   4. tensor growth over a repeat; and the dispatches of the runs in 2 (forward, then forward +
//      backward), fused and composed.

import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { Rng } from '../../lib/rng';
import { countDispatches } from '../dispatches';
import { bilstmComposed, bilstmFused, runLstmBackward, runLstmForward, type BilstmWeights } from './bilstm';
import { lstmLayout } from './lstm_program';

export interface LstmSelfTestCase {
  lens: number[]; // real frames per sample; T = max unless padTo is larger
  padTo?: number; // batch length T (default max(lens))
  Cin: number;
  H: number;
  seed: number;
}

export interface LstmSelfTestResult {
  case: LstmSelfTestCase;
  unwritten: number; // poisoned elements of state and dstate still NaN
  outRelErr: number; // max |fused - composed| / max |composed| over [B, T, 2H]
  gradRelErr: Record<'x' | 'wIh' | 'wHh' | 'bias', number>; // same, per gradient
  aloneMaxDiff: number; // max |batched - alone| on real frames (fused)
  dispatches: { fused: number; composed: number }; // a forward, then a forward + backward, of the layer
  tensorsLeaked: number;
  ms: number;
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0,
    e = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(b[i]));
    e = Math.max(e, Number.isNaN(a[i]) ? Infinity : Math.abs(a[i] - b[i]));
  }
  return e / Math.max(m, 1e-30);
}

function countNaN(a: ArrayLike<number>): number {
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Number.isNaN(a[i])) n++;
  return n;
}

export async function lstmSelfTest(c: LstmSelfTestCase): Promise<LstmSelfTestResult> {
  if (tf.getBackend() !== 'webgpu') throw new Error(`lstmSelfTest needs the webgpu backend, active: ${tf.getBackend()}`);
  const t0 = performance.now();
  const rng = new Rng(c.seed);
  const { Cin, H, lens } = c;
  const B = lens.length;
  const T = c.padTo ?? Math.max(...lens);
  const rand = (shape: number[], scale: number) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()),
      shape,
    );
  // Input zero beyond each sample's end, as the model feeds it.
  const xData = new Float32Array(B * T * Cin);
  lens.forEach((n, b) => {
    for (let i = 0; i < n * Cin; i++) xData[b * T * Cin + i] = rng.normal();
  });
  const x = tf.tensor3d(xData, [B, T, Cin]);
  const w: BilstmWeights = {
    wIh: rand([2, Cin, 4 * H], 1 / Math.sqrt(Cin)) as tf.Tensor3D,
    wHh: rand([2, H, 4 * H], 1 / Math.sqrt(H)) as tf.Tensor3D,
    bias: rand([2, 4 * H], 0.3) as tf.Tensor2D,
  };
  const readout = rand([B, T, 2 * H], 1);
  const be = tf.backend() as WebGPUBackend;
  be.device.pushErrorScope('validation');

  // 1. The programs with poisoned outputs.
  const { state: S, dstate: D } = lstmLayout(B, T, H);
  const poisonS = tf.fill([S.size], NaN);
  const poisonD = tf.fill([D.size], NaN);
  const gx = tf.tidy(() =>
    tf.add(tf.matMul(tf.reshape(x, [B * T, Cin]), tf.reshape(tf.transpose(w.wIh, [1, 0, 2]), [Cin, 8 * H])), tf.reshape(w.bias, [8 * H])),
  );
  const n = tf.tensor1d(lens, 'int32');
  const whhT = tf.transpose(w.wHh, [0, 2, 1]);
  runLstmForward(be, gx, w.wHh, n, poisonS);
  runLstmBackward(be, readout, poisonS, whhT, n, poisonD);
  const unwritten = countNaN(await poisonS.data()) + countNaN(await poisonD.data());
  tf.dispose([poisonS, poisonD, gx, n, whhT]);

  // 2. Outputs and gradients, fused against composed.
  const vars = [x, w.wIh, w.wHh, w.bias];
  const lossOf = (f: typeof bilstmFused) => (xi: tf.Tensor, a: tf.Tensor, b: tf.Tensor, bias: tf.Tensor) =>
    tf.sum(tf.mul(f(xi as tf.Tensor3D, { wIh: a as tf.Tensor3D, wHh: b as tf.Tensor3D, bias: bias as tf.Tensor2D }, lens), readout)) as tf.Scalar;
  const stepOf = async (f: typeof bilstmFused) => {
    const y = f(x, w, lens);
    const grads = tf.grads(lossOf(f))(vars);
    const arrays = await Promise.all([y, ...grads].map((t) => t.data()));
    tf.dispose([y, ...grads]);
    return arrays;
  };
  const fused = await countDispatches(() => stepOf(bilstmFused));
  const composed = await countDispatches(() => stepOf(bilstmComposed));
  const [yF, ...gF] = fused.result;
  const [yC, ...gC] = composed.result;
  const dispatches = { fused: fused.count.total, composed: composed.count.total };
  const names = ['x', 'wIh', 'wHh', 'bias'] as const;
  const gradRelErr = Object.fromEntries(names.map((k, i) => [k, relErr(gF[i], gC[i])])) as LstmSelfTestResult['gradRelErr'];

  // 3. Each sample alone, padded to T + 3 frames.
  let aloneMaxDiff = 0;
  for (let b = 0; b < B; b++) {
    const xb = tf.tidy(
      () =>
        tf.pad(tf.slice(x, [b, 0, 0], [1, lens[b], Cin]), [
          [0, 0],
          [0, T + 3 - lens[b]],
          [0, 0],
        ]) as tf.Tensor3D,
    );
    const yb = bilstmFused(xb, w, [lens[b]]);
    const alone = await yb.data();
    tf.dispose([xb, yb]);
    for (let i = 0; i < lens[b] * 2 * H; i++) aloneMaxDiff = Math.max(aloneMaxDiff, Math.abs(alone[i] - yF[b * T * 2 * H + i]));
  }

  // 4. Tensor growth over one more call (the calls above created everything lazily created).
  const before = tf.memory().numTensors;
  await stepOf(bilstmFused);
  const tensorsLeaked = tf.memory().numTensors - before;

  const gpuError = await be.device.popErrorScope();
  tf.dispose([x, readout, w.wIh, w.wHh, w.bias]);
  if (gpuError) throw new Error(`WebGPU validation error in the LSTM programs: ${gpuError.message}`);
  return { case: c, unwritten, outRelErr: relErr(yF, yC), gradRelErr, aloneMaxDiff, dispatches, tensorsLeaked, ms: performance.now() - t0 };
}

/**
 * Unequal lengths throughout (including a zero-length sample and batches padded past their
 * longest sample); H below, at and above one workgroup of units (32/64), and H = 300 (five
 * workgroups per sample and direction, the last one partial); the tconv-bilstm size (Cin 128,
 * H 128, 38 frames).
 */
export const LSTM_SELFTEST_CASES: LstmSelfTestCase[] = [
  { lens: [1], Cin: 3, H: 4, seed: 1 },
  { lens: [7, 3, 1], Cin: 5, H: 8, seed: 2 },
  { lens: [20, 13, 0, 7], padTo: 23, Cin: 16, H: 32, seed: 3 },
  { lens: [9, 16, 4], Cin: 24, H: 72, seed: 4 },
  { lens: [38, 30, 22, 11], Cin: 128, H: 128, seed: 5 },
  { lens: [5, 2], padTo: 6, Cin: 8, H: 300, seed: 6 },
];
