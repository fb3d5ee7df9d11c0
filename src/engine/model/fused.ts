// Fused ops for the transformer and tcn presets: each a differentiable TF.js op (tf.customGrad)
// over kernels registered for webgpu (the WGSL programs of fused_program.ts, one dispatch each)
// and for cpu (float64 references in plain TypeScript, for the unit tests: fused.test.ts checks
// the ops' wiring and gradients there against the composed ops). The models use them only on
// webgpu (`useFused`); the composed TF.js ops are the reference and the path everywhere else.
//
//   layerNormFused(x [N, D], gamma, beta)        1 dispatch forward, 4 backward (stats, dx, dgamma, dbeta)
//   maskedSoftmaxFused(s [B·h, T, T], mask [B, T], scale)  1 forward, 1 backward
//   residualDropoutFused(s, y, {rate, seed, mask})  1 forward, 1 or 2 backward (tf.dropout's draws)
//   im2colFused(x [B, T, C], K, dilation)         1 forward, 1 backward (col2im)

import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import {
  Col2imProgram,
  f32,
  i32,
  Im2colProgram,
  LayerNormDGammaProgram,
  LayerNormDxProgram,
  LayerNormProgram,
  LayerNormStatsProgram,
  MaskedSoftmaxGradProgram,
  MaskedSoftmaxProgram,
  ResidualDropoutGradProgram,
  ResidualDropoutProgram,
  type ResidualDropoutFlags,
} from './fused_program';

/**
 * 'auto': fused kernels on webgpu, composed ops elsewhere. 'composed' forces the reference
 * everywhere (the benchmark's baseline); 'fused' forces the fused ops everywhere (on cpu their
 * float64 reference kernels: the unit tests of the models' fused path).
 */
export type Kernels = 'auto' | 'composed' | 'fused';

export const useFused = (kernels: Kernels): boolean => kernels === 'fused' || (kernels === 'auto' && tf.getBackend() === 'webgpu');

type Infos = Record<string, tf.TensorInfo>;
type Attrs = Record<string, number>;
type CpuBackend = { readSync(id: object): unknown; makeTensorInfo(shape: number[], dtype: string, values: Float32Array): tf.TensorInfo };

interface FusedKernel {
  name: string;
  webgpu: (be: WebGPUBackend, x: Infos, a: Attrs) => tf.TensorInfo | tf.TensorInfo[];
  /** float64 reference: the inputs' values (and shapes) → outputs (shape, values). */
  cpu: (x: Record<string, { shape: number[]; v: ArrayLike<number> }>, a: Attrs) => { shape: number[]; v: Float64Array }[];
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const flags = (a: Attrs): ResidualDropoutFlags => ({ dropout: a.dropout === 1, mask: a.masked === 1 });
const mult = (u: number, keep: number) => Math.floor(u + keep) / keep;

const KERNELS: FusedKernel[] = [
  {
    name: 'CtcLabLayerNorm',
    webgpu: (be, { x, gamma, beta }, { eps }) => {
      const [N, D] = x.shape;
      return be.runWebGPUProgram(new LayerNormProgram(N, D), [x, gamma, beta], 'float32', [...i32(N, D), ...f32(eps)]);
    },
    cpu: ({ x, gamma, beta }, { eps }) => {
      const [N, D] = x.shape;
      const y = new Float64Array(N * D);
      for (let n = 0; n < N; n++) {
        const { mean, rstd } = rowStats(x.v, n, D, eps);
        for (let j = 0; j < D; j++) y[n * D + j] = (x.v[n * D + j] - mean) * rstd * gamma.v[j] + beta.v[j];
      }
      return [{ shape: [N, D], v: y }];
    },
  },
  {
    name: 'CtcLabLayerNormGrad', // → [dx, dgamma, dbeta]
    webgpu: (be, { x, dy, gamma }, { eps }) => {
      const [N, D] = x.shape;
      const stats = be.runWebGPUProgram(new LayerNormStatsProgram(N), [x], 'float32', [...i32(N, D), ...f32(eps)]);
      const dx = be.runWebGPUProgram(new LayerNormDxProgram(N, D), [x, dy, gamma, stats], 'float32', i32(N, D));
      const dgamma = be.runWebGPUProgram(new LayerNormDGammaProgram(D, false), [x, dy, stats], 'float32', i32(N, D));
      const dbeta = be.runWebGPUProgram(new LayerNormDGammaProgram(D, true), [dy], 'float32', i32(N, D));
      be.disposeData(stats.dataId);
      return [dx, dgamma, dbeta];
    },
    cpu: ({ x, dy, gamma }, { eps }) => {
      const [N, D] = x.shape;
      const dx = new Float64Array(N * D);
      const dgamma = new Float64Array(D);
      const dbeta = new Float64Array(D);
      for (let n = 0; n < N; n++) {
        const { mean, rstd } = rowStats(x.v, n, D, eps);
        let m1 = 0,
          m2 = 0;
        for (let j = 0; j < D; j++) {
          const xh = (x.v[n * D + j] - mean) * rstd;
          const g = dy.v[n * D + j] * gamma.v[j];
          m1 += g;
          m2 += g * xh;
          dgamma[j] += dy.v[n * D + j] * xh;
          dbeta[j] += dy.v[n * D + j];
        }
        for (let j = 0; j < D; j++) {
          const xh = (x.v[n * D + j] - mean) * rstd;
          dx[n * D + j] = rstd * (dy.v[n * D + j] * gamma.v[j] - m1 / D - (xh * m2) / D);
        }
      }
      return [
        { shape: [N, D], v: dx },
        { shape: [D], v: dgamma },
        { shape: [D], v: dbeta },
      ];
    },
  },
  {
    name: 'CtcLabMaskedSoftmax',
    webgpu: (be, { s, mask }, { heads, scale }) => {
      const [BH, T] = s.shape;
      return be.runWebGPUProgram(new MaskedSoftmaxProgram(s.shape), [s, mask], 'float32', [...i32(BH * T, T, heads), ...f32(scale)]);
    },
    cpu: ({ s, mask }, { heads, scale }) => {
      const [BH, T] = s.shape;
      const y = new Float64Array(BH * T * T);
      for (let r = 0; r < BH * T; r++) {
        const b = Math.floor(r / (heads * T));
        let m = -Infinity;
        for (let j = 0; j < T; j++) m = Math.max(m, (y[r * T + j] = s.v[r * T + j] * scale + (1 - mask.v[b * T + j]) * -1e9));
        let sum = 0;
        for (let j = 0; j < T; j++) sum += y[r * T + j] = Math.exp(y[r * T + j] - m);
        for (let j = 0; j < T; j++) y[r * T + j] /= sum;
      }
      return [{ shape: s.shape, v: y }];
    },
  },
  {
    name: 'CtcLabMaskedSoftmaxGrad',
    webgpu: (be, { y, dy }, { scale }) => {
      const [BH, T] = y.shape;
      return be.runWebGPUProgram(new MaskedSoftmaxGradProgram(y.shape), [y, dy], 'float32', [...i32(BH * T, T), ...f32(scale)]);
    },
    cpu: ({ y, dy }, { scale }) => {
      const T = y.shape[2];
      const ds = new Float64Array(y.v.length);
      for (let o = 0; o < y.v.length; o += T) {
        let d = 0;
        for (let j = 0; j < T; j++) d += dy.v[o + j] * y.v[o + j];
        for (let j = 0; j < T; j++) ds[o + j] = y.v[o + j] * (dy.v[o + j] - d) * scale;
      }
      return [{ shape: y.shape, v: ds }];
    },
  },
  {
    name: 'CtcLabResidualDropout',
    webgpu: (be, x, a) => {
      const f = flags(a);
      const ins = [x.s, x.y, ...(f.dropout ? [x.u] : []), ...(f.mask ? [x.mask] : [])];
      const n = size(x.s.shape);
      return be.runWebGPUProgram(new ResidualDropoutProgram(x.s.shape, f), ins, 'float32', [...i32(n, a.cols), ...f32(a.keep)]);
    },
    cpu: (x, a) => {
      const f = flags(a);
      const out = Float64Array.from(
        x.s.v,
        (s, i) => (s + x.y.v[i] * (f.dropout ? mult(x.u.v[i], a.keep) : 1)) * (f.mask ? x.mask.v[Math.floor(i / a.cols)] : 1),
      );
      return [{ shape: x.s.shape, v: out }];
    },
  },
  {
    name: 'CtcLabResidualDropoutGrad',
    webgpu: (be, x, a) => {
      const f = flags(a);
      const wrtY = a.wrtY === 1;
      const ins = [x.dout, ...(f.dropout && wrtY ? [x.u] : []), ...(f.mask ? [x.mask] : [])];
      const n = size(x.dout.shape);
      return be.runWebGPUProgram(new ResidualDropoutGradProgram(x.dout.shape, f, wrtY), ins, 'float32', [...i32(n, a.cols), ...f32(a.keep)]);
    },
    cpu: (x, a) => {
      const f = flags(a);
      const wrtY = a.wrtY === 1;
      const out = Float64Array.from(x.dout.v, (d, i) => d * (f.mask ? x.mask.v[Math.floor(i / a.cols)] : 1) * (f.dropout && wrtY ? mult(x.u.v[i], a.keep) : 1));
      return [{ shape: x.dout.shape, v: out }];
    },
  },
  {
    name: 'CtcLabIm2col',
    webgpu: (be, { x }, { K, dilation }) => {
      const [B, T, C] = x.shape;
      return be.runWebGPUProgram(new Im2colProgram(B, T, C, K), [x], 'float32', i32(B, T, C, K, dilation));
    },
    cpu: ({ x }, { K, dilation }) => {
      const [B, T, C] = x.shape;
      const out = new Float64Array(B * T * K * C);
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
          for (let j = 0; j < K; j++) {
            const src = t + (j - (K - 1) / 2) * dilation;
            if (src >= 0 && src < T) for (let c = 0; c < C; c++) out[(b * T + t) * K * C + j * C + c] = x.v[(b * T + src) * C + c];
          }
      return [{ shape: [B * T, K * C], v: out }];
    },
  },
  {
    name: 'CtcLabCol2im',
    webgpu: (be, { cols }, { B, T, K, dilation }) => {
      const C = cols.shape[1] / K;
      return be.runWebGPUProgram(new Col2imProgram(B, T, C), [cols], 'float32', i32(B, T, C, K, dilation));
    },
    cpu: ({ cols }, { B, T, K, dilation }) => {
      const C = cols.shape[1] / K;
      const out = new Float64Array(B * T * C);
      for (let b = 0; b < B; b++)
        for (let t = 0; t < T; t++)
          for (let j = 0; j < K; j++) {
            const src = t + (j - (K - 1) / 2) * dilation;
            if (src >= 0 && src < T) for (let c = 0; c < C; c++) out[(b * T + src) * C + c] += cols.v[(b * T + t) * K * C + j * C + c];
          }
      return [{ shape: [B, T, C], v: out }];
    },
  },
];

function rowStats(x: ArrayLike<number>, n: number, D: number, eps: number): { mean: number; rstd: number } {
  let s = 0;
  for (let j = 0; j < D; j++) s += x[n * D + j];
  const mean = s / D;
  let v = 0;
  for (let j = 0; j < D; j++) v += (x[n * D + j] - mean) ** 2;
  return { mean, rstd: 1 / Math.sqrt(v / D + eps) };
}

let registered = false;
/** Registers the fused kernels on webgpu and their float64 references on cpu; idempotent. */
export function registerFusedKernels(): void {
  if (registered) return;
  registered = true;
  for (const k of KERNELS) {
    if (!tf.getKernel(k.name, 'webgpu')) {
      tf.registerKernel({
        kernelName: k.name,
        backendName: 'webgpu',
        kernelFunc: (({ inputs, backend, attrs }: { inputs: Infos; backend: WebGPUBackend; attrs: Attrs }) =>
          k.webgpu(backend, inputs, attrs)) as unknown as tf.KernelFunc,
      });
    }
    if (!tf.getKernel(k.name, 'cpu')) {
      tf.registerKernel({
        kernelName: k.name,
        backendName: 'cpu',
        kernelFunc: (({ inputs, backend, attrs }: { inputs: Infos; backend: CpuBackend; attrs: Attrs }) => {
          const vals = Object.fromEntries(Object.entries(inputs).map(([n, t]) => [n, { shape: t.shape, v: backend.readSync(t.dataId) as ArrayLike<number> }]));
          const outs = k.cpu(vals, attrs).map((o) => backend.makeTensorInfo(o.shape, 'float32', Float32Array.from(o.v)));
          return outs.length === 1 ? outs[0] : outs;
        }) as unknown as tf.KernelFunc,
      });
    }
  }
}
registerFusedKernels();

function run(kernel: string, inputs: Record<string, tf.Tensor>, attrs: Attrs = {}): tf.Tensor | tf.Tensor[] {
  return tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
}
const run1 = (kernel: string, inputs: Record<string, tf.Tensor>, attrs?: Attrs) => run(kernel, inputs, attrs) as tf.Tensor;

// customGrad passes (inputs..., save); its typings merge the two, hence the casts.
type GradFn = Parameters<typeof tf.customGrad>[0];

/** LayerNorm over the last axis of x [N, D] (biased variance), as base.ts's layerNorm. */
export function layerNormFused(x: tf.Tensor2D, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor2D {
  return tf.customGrad(((xi: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([xi, g]);
    return {
      value: run1('CtcLabLayerNorm', { x: xi, gamma: g, beta: b }, { eps }),
      gradFunc: (dy: tf.Tensor, [xs, gs]: tf.Tensor[]) => run('CtcLabLayerNormGrad', { x: xs, dy, gamma: gs }, { eps }) as tf.Tensor[],
    };
  }) as unknown as GradFn)(x, gamma, beta) as tf.Tensor2D;
}

/**
 * softmax(s · scale + (1 - mask[b, key]) · -1e9) over the last axis of s [B·heads, T, T] (the
 * unscaled q·kᵀ), mask [B, T] (1 on real frames). Differentiable w.r.t. s.
 */
export function maskedSoftmaxFused(s: tf.Tensor3D, mask: tf.Tensor2D, heads: number, scale: number): tf.Tensor3D {
  return tf.customGrad(((si: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = run1('CtcLabMaskedSoftmax', { s: si, mask }, { heads, scale });
    save([y]);
    return { value: y, gradFunc: (dy: tf.Tensor, [ys]: tf.Tensor[]) => run1('CtcLabMaskedSoftmaxGrad', { y: ys, dy }, { scale }) };
  }) as unknown as GradFn)(s) as tf.Tensor3D;
}

export interface ResidualDropoutOptions {
  rate: number; // dropout on y; 0 = none
  seed?: number; // tf.dropout's seed: the same draws as tf.dropout(y, rate, undefined, seed)
  mask?: tf.Tensor; // one value per row of s's last axis ([B, T, 1] for [B, T, C]), multiplied last
}

/** (s + dropout(y)) · mask, as the composed tf.add(s, tf.dropout(y, rate, undefined, seed)) then tf.mul(·, mask). */
export function residualDropoutFused(s: tf.Tensor, y: tf.Tensor, o: ResidualDropoutOptions): tf.Tensor {
  const dropout = o.rate > 0;
  const u = dropout ? tf.randomUniform(s.shape, 0, 1, 'float32', o.seed) : null;
  const attrs: Attrs = { keep: 1 - o.rate, cols: s.shape[s.rank - 1], dropout: dropout ? 1 : 0, masked: o.mask ? 1 : 0 };
  const extra: Record<string, tf.Tensor> = { ...(u ? { u } : {}), ...(o.mask ? { mask: o.mask } : {}) };
  const out = tf.customGrad(((si: tf.Tensor, yi: tf.Tensor, save: tf.GradSaveFunc) => {
    save(Object.values(extra));
    return {
      value: run1('CtcLabResidualDropout', { s: si, y: yi, ...extra }, attrs),
      gradFunc: (dout: tf.Tensor, saved: tf.Tensor[]) => {
        const keep = Object.fromEntries(Object.keys(extra).map((k, i) => [k, saved[i]]));
        const ds = o.mask ? run1('CtcLabResidualDropoutGrad', { dout, ...keep }, { ...attrs, wrtY: 0 }) : tf.clone(dout);
        const dy = dropout || o.mask ? run1('CtcLabResidualDropoutGrad', { dout, ...keep }, { ...attrs, wrtY: 1 }) : tf.clone(dout);
        return [ds, dy];
      },
    };
  }) as unknown as GradFn)(s, y) as tf.Tensor;
  u?.dispose();
  return out;
}

/** The K 'same'-padded taps of x [B, T, C] at the given dilation as rows [B·T, K·C] (tcn's dilatedConv1d's columns). */
export function im2colFused(x: tf.Tensor3D, K: number, dilation: number): tf.Tensor2D {
  const [B, T] = x.shape;
  return tf.customGrad(((xi: tf.Tensor) => ({
    value: run1('CtcLabIm2col', { x: xi }, { K, dilation }),
    gradFunc: (dy: tf.Tensor) => run1('CtcLabCol2im', { cols: dy }, { B, T, K, dilation }),
  })) as unknown as GradFn)(x) as tf.Tensor2D;
}
