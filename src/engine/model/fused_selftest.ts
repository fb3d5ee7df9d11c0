// Self-test of the fused WebGPU programs (fused_program.ts, through the ops of fused.ts) against the
// composed TF.js ops they replace, both run on the active WebGPU backend with the same inputs
// (the composed ops are themselves checked on the cpu backend: models.test.ts, fused.test.ts).
// Per case: the output and the gradients of a random linear readout with respect to every input
// (relative to the largest value of each), the dispatches of a forward + backward, fused and
// composed, and tensor growth over a repeat. The preset cases run a whole tiny transformer / tcn
// in training mode with dropout (the same draws), fused against composed, every parameter's
// gradient included.

import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { Rng } from '../../lib/rng';
import { countDispatches } from '../dispatches';
import { layerNorm, lengthMask } from './base';
import { im2colFused, layerNormFused, maskedSoftmaxFused, residualDropoutFused } from './fused';
import { createModel, modelConfig } from './registry';
import { dilatedConv1d, type TcnModel } from './tcn';
import type { TransformerModel } from './transformer';

export type FusedSelfTestCase =
  | { op: 'layernorm'; N: number; D: number; seed: number }
  | { op: 'softmax'; lens: number[]; heads: number; seed: number }
  | { op: 'residual'; B: number; T: number; C: number; rate: number; masked: boolean; seed: number }
  | { op: 'im2col'; B: number; T: number; C: number; K: number; dilation: number; seed: number }
  | { op: 'transformer' | 'tcn'; lens: number[]; F: number; V: number; channels: number; layers: number; seed: number };

export interface FusedSelfTestResult {
  case: FusedSelfTestCase;
  outRelErr: number; // max |fused - composed| / max |composed|
  gradRelErr: number[]; // the same per input (per parameter for the presets)
  dispatches: { fused: number; composed: number }; // forward + backward
  tensorsLeaked: number;
  ms: number;
}

export const describeFusedCase = (c: FusedSelfTestCase): string => {
  switch (c.op) {
    case 'layernorm':
      return `layernorm N${c.N} D${c.D}`;
    case 'softmax':
      return `softmax lens [${c.lens}] heads${c.heads}`;
    case 'residual':
      return `residual B${c.B} T${c.T} C${c.C} rate ${c.rate}${c.masked ? ' masked' : ''}`;
    case 'im2col':
      return `im2col B${c.B} T${c.T} C${c.C} K${c.K} dilation ${c.dilation}`;
    default:
      return `${c.op} lens [${c.lens}] F${c.F} V${c.V} C${c.channels} L${c.layers}`;
  }
};

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0,
    e = 0;
  for (let i = 0; i < b.length; i++) {
    m = Math.max(m, Math.abs(b[i]));
    e = Math.max(e, Number.isFinite(a[i]) ? Math.abs(a[i] - b[i]) : Infinity);
  }
  return e / Math.max(m, 1e-30);
}

type Fn = (...xs: tf.Tensor[]) => tf.Tensor;

/** One case as (fused, composed, inputs, teardown); the inputs are what the gradients are taken of. */
function build(c: FusedSelfTestCase, rng: Rng): { fused: Fn; composed: Fn; xs: tf.Tensor[]; names?: string[]; dispose: () => void } {
  const rand = (shape: number[], scale = 1, offset = 0) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + scale * rng.normal()),
      shape,
    );
  switch (c.op) {
    case 'layernorm':
      return {
        fused: (x, g, b) => layerNormFused(x as tf.Tensor2D, g, b),
        composed: (x, g, b) => layerNorm(x, g, b),
        xs: [rand([c.N, c.D], 2, 1), rand([c.D], 1, 1), rand([c.D])],
        dispose: () => {},
      };
    case 'softmax': {
      const B = c.lens.length;
      const T = Math.max(...c.lens);
      const { heads } = c;
      const mask = lengthMask(c.lens, T);
      const mask2d = tf.reshape(mask, [B, T]) as tf.Tensor2D;
      const keyBias = tf.reshape(tf.mul(tf.sub(1, mask), -1e9), [B, 1, 1, T]);
      const scale = 1 / Math.sqrt(32);
      return {
        fused: (s) => tf.reshape(maskedSoftmaxFused(tf.reshape(s, [B * heads, T, T]) as tf.Tensor3D, mask2d, heads, scale), [B, heads, T, T]),
        composed: (s) => tf.softmax(tf.add(tf.mul(s, scale), keyBias)),
        xs: [rand([B, heads, T, T], 4)],
        dispose: () => tf.dispose([mask, mask2d, keyBias]),
      };
    }
    case 'residual': {
      const lens = Array.from({ length: c.B }, (_, b) => Math.max(1, c.T - 2 * b));
      const mask = c.masked ? lengthMask(lens, c.T) : undefined;
      const drop = (y: tf.Tensor) => (c.rate > 0 ? tf.dropout(y, c.rate, undefined, c.seed) : y);
      return {
        fused: (s, y) => residualDropoutFused(s, y, { rate: c.rate, seed: c.seed, mask }),
        composed: (s, y) => (mask ? tf.mul(tf.add(s, drop(y)), mask) : tf.add(s, drop(y))),
        xs: [rand([c.B, c.T, c.C]), rand([c.B, c.T, c.C])],
        dispose: () => mask?.dispose(),
      };
    }
    case 'im2col': {
      const { B, T, C, K, dilation } = c;
      return {
        fused: (x, w) => tf.reshape(tf.matMul(im2colFused(x as tf.Tensor3D, K, dilation), tf.reshape(w, [K * C, C])), [B, T, C]),
        composed: (x, w) => dilatedConv1d(x as tf.Tensor3D, w as tf.Tensor3D, dilation),
        xs: [rand([B, T, C]), rand([K, C, C], 0.3)],
        dispose: () => {},
      };
    }
    default: {
      const model = createModel(modelConfig({ preset: c.op, channels: c.channels, layers: c.layers, hidden: 8, heads: 4, dropout: 0.2 }, c.F, c.V), c.seed) as
        TransformerModel | TcnModel;
      const T = Math.max(...c.lens);
      const x = tf.tidy(() => tf.mul(rand([c.lens.length, T, c.F]), lengthMask(c.lens, T)) as tf.Tensor3D);
      const mask = lengthMask(
        c.lens.map((n) => model.outFrames(n)),
        model.outFrames(T),
      );
      const vars = [...model.params.values()];
      // The parameters are the inputs: apply assigns them in turn (the same values), so the
      // gradients are taken of the model's own variables.
      const apply = (kernels: 'auto' | 'composed') => () => {
        model.kernels = kernels;
        return model.apply({ x, frames: c.lens, mask }, true, 9);
      };
      return {
        fused: apply('auto'),
        composed: apply('composed'),
        xs: vars,
        names: [...model.params.keys()],
        dispose: () => {
          tf.dispose([x, mask]);
          model.dispose();
        },
      };
    }
  }
}

export async function fusedSelfTest(c: FusedSelfTestCase): Promise<FusedSelfTestResult> {
  if (tf.getBackend() !== 'webgpu') throw new Error(`fusedSelfTest needs the webgpu backend, active: ${tf.getBackend()}`);
  const t0 = performance.now();
  const rng = new Rng(c.seed);
  const { fused, composed, xs, dispose } = build(c, rng);
  const isModel = c.op === 'transformer' || c.op === 'tcn';
  const yShape = tf.tidy(() => composed(...xs).shape);
  const readout = tf.tensor(
    Float32Array.from({ length: yShape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
    yShape,
  );
  const be = tf.backend() as WebGPUBackend;
  be.device.pushErrorScope('validation');
  const stepOf = async (f: Fn) => {
    const y = tf.tidy(() => f(...xs));
    let grads: tf.Tensor[];
    if (isModel) {
      const { value, grads: g } = tf.variableGrads(() => tf.sum(tf.mul(f(), readout)) as tf.Scalar, xs as tf.Variable[]);
      value.dispose();
      grads = xs.map((v) => g[(v as tf.Variable).name]);
    } else {
      grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), readout)) as tf.Scalar)(xs);
    }
    const arrays = await Promise.all([y, ...grads].map((t) => t.data()));
    tf.dispose([y, ...grads]);
    return arrays;
  };
  const F = await countDispatches(() => stepOf(fused));
  const C = await countDispatches(() => stepOf(composed));
  const [yF, ...gF] = F.result;
  const [yC, ...gC] = C.result;
  const before = tf.memory().numTensors;
  await stepOf(fused);
  const tensorsLeaked = tf.memory().numTensors - before;
  const gpuError = await be.device.popErrorScope();
  readout.dispose();
  dispose();
  if (!isModel) tf.dispose(xs);
  if (gpuError) throw new Error(`WebGPU validation error in the fused programs (${describeFusedCase(c)}): ${gpuError.message}`);
  return {
    case: c,
    outRelErr: relErr(yF, yC),
    gradRelErr: gF.map((g, i) => relErr(g, gC[i])),
    dispatches: { fused: F.count.total, composed: C.count.total },
    tensorsLeaked,
    ms: performance.now() - t0,
  };
}

/**
 * Row lengths below, at and above one workgroup (64 threads); D not a multiple of 4; keys padded
 * in every sample but one (and a sample of one real key); dropout with and without the mask;
 * im2col at the tcn's dilations; a tiny transformer and tcn in training mode.
 */
export const FUSED_SELFTEST_CASES: FusedSelfTestCase[] = [
  { op: 'layernorm', N: 5, D: 13, seed: 1 },
  { op: 'layernorm', N: 150, D: 128, seed: 2 },
  { op: 'softmax', lens: [9, 5, 1], heads: 2, seed: 3 },
  { op: 'softmax', lens: [38, 30, 22, 11], heads: 4, seed: 4 },
  { op: 'residual', B: 3, T: 7, C: 5, rate: 0.2, masked: true, seed: 5 },
  { op: 'residual', B: 2, T: 38, C: 128, rate: 0.1, masked: false, seed: 6 },
  { op: 'residual', B: 2, T: 9, C: 16, rate: 0, masked: true, seed: 7 },
  { op: 'residual', B: 4, T: 5, C: 8, rate: 0, masked: false, seed: 12 }, // the transformer in evaluation
  { op: 'im2col', B: 2, T: 11, C: 6, K: 3, dilation: 1, seed: 8 },
  { op: 'im2col', B: 3, T: 20, C: 16, K: 3, dilation: 4, seed: 9 },
  { op: 'transformer', lens: [13, 9, 4], F: 8, V: 7, channels: 16, layers: 2, seed: 10 },
  { op: 'tcn', lens: [21, 14, 6], F: 12, V: 7, channels: 32, layers: 3, seed: 11 },
];
