// WGSL programs for the tfjs WebGPU backend that replace chains of composed TF.js ops in the
// transformer and tcn presets (fused.ts makes them differentiable ops; the composed ops are the
// reference and the path on every other backend). Each program is one dispatch.
//
//   LayerNormProgram        y = (x - mean) · rstd · gamma + beta per row of x [N, D] (biased
//                           variance, rstd = 1/sqrt(var + eps)); one thread per row.
//   LayerNormStatsProgram   [N, 2]: each row's mean and rstd (the backward pass's first program).
//   LayerNormDxProgram      dx = rstd · (g - mean(g) - x̂ · mean(g · x̂)), g = dy · gamma; one thread per row.
//   LayerNormDGammaProgram  dgamma[j] = Σ_rows dy · x̂, or dbeta[j] = Σ_rows dy; one thread per column.
//   MaskedSoftmaxProgram    y = softmax over keys of s · scale + (1 - mask[b, key]) · -1e9, for
//                           scores s [B·heads, T, T] and the key mask [B, T]; one thread per row.
//   MaskedSoftmaxGradProgram ds = scale · y · (dy - Σ dy · y); one thread per row.
//   ResidualDropoutProgram  out = (s + y · floor(u + keep) / keep) · mask[row]: the residual add,
//                           tf.dropout's multiplier from the same uniform draws u, and the length
//                           mask (each optional); one thread per element.
//   ResidualDropoutGradProgram  the gradient of either input: dout · mask (· multiplier for y).
//   Im2colProgram           'same'-padded dilated taps of x [B, T, C] as rows [B·T, K·C] (tap j at
//                           frame t reads frame t + (j - (K-1)/2) · dilation, zero outside [0, T)).
//   Col2imProgram           its adjoint: dx [B, T, C] = Σ over taps of the columns that read x[b, t].
//
// Arithmetic follows the composed ops' order where it can (the dropout multiplier, the softmax),
// so fused and composed agree to float rounding, not just to tolerance.

import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

export type Uniform = { type: 'int32' | 'float32'; data: number[] };

export const i32 = (...xs: number[]): Uniform[] => xs.map((x) => ({ type: 'int32', data: [x] }));
export const f32 = (...xs: number[]): Uniform[] => xs.map((x) => ({ type: 'float32', data: [x] }));

const WG = 64;

/** One thread per item (row, column or element), 64 a workgroup, the grid split over x and y. */
abstract class PerItemProgram implements WebGPUProgram {
  abstract variableNames: string[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout = { x: [0] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [WG, 1, 1];
  abstract uniforms: string;

  constructor(outputShape: number[], items: number, shaderKey: string) {
    this.outputShape = outputShape;
    const groups = Math.max(1, Math.ceil(items / WG));
    const x = Math.min(groups, 65535);
    this.dispatch = [x, Math.ceil(groups / x), 1];
    this.shaderKey = `ctclab_${shaderKey}`;
  }

  /** The item this thread owns. */
  protected static readonly ITEM = `let item = i32((workgroupId.y * numWorkgroups.x + workgroupId.x) * ${WG}u + localId.x);`;

  abstract getUserCode(): string;
}

/** Uniforms N (rows), D (row length), eps. */
export class LayerNormProgram extends PerItemProgram {
  variableNames = ['x', 'gamma', 'beta'];
  uniforms = 'N : i32, D : i32, eps : f32,';
  constructor(N: number, D: number) {
    super([N, D], N, 'layernorm');
  }
  getUserCode(): string {
    return `
    fn main(index : i32) {
      ${PerItemProgram.ITEM}
      if (item < uniforms.N) {
        let D = uniforms.D;
        let o = item * D;
        var s = 0.0;
        for (var j = 0; j < D; j++) { s += x[o + j]; }
        let mean = s / f32(D);
        var v = 0.0;
        for (var j = 0; j < D; j++) { let c = x[o + j] - mean; v += c * c; }
        let r = inverseSqrt(v / f32(D) + uniforms.eps);
        for (var j = 0; j < D; j++) { result[o + j] = (x[o + j] - mean) * r * gamma[j] + beta[j]; }
      }
    }`;
  }
}

export class LayerNormStatsProgram extends PerItemProgram {
  variableNames = ['x'];
  uniforms = 'N : i32, D : i32, eps : f32,';
  constructor(N: number) {
    super([N, 2], N, 'layernorm_stats');
  }
  getUserCode(): string {
    return `
    fn main(index : i32) {
      ${PerItemProgram.ITEM}
      if (item < uniforms.N) {
        let D = uniforms.D;
        let o = item * D;
        var s = 0.0;
        for (var j = 0; j < D; j++) { s += x[o + j]; }
        let mean = s / f32(D);
        var v = 0.0;
        for (var j = 0; j < D; j++) { let c = x[o + j] - mean; v += c * c; }
        result[2 * item] = mean;
        result[2 * item + 1] = inverseSqrt(v / f32(D) + uniforms.eps);
      }
    }`;
  }
}

export class LayerNormDxProgram extends PerItemProgram {
  variableNames = ['x', 'dy', 'gamma', 'stats'];
  uniforms = 'N : i32, D : i32,';
  constructor(N: number, D: number) {
    super([N, D], N, 'layernorm_dx');
  }
  getUserCode(): string {
    return `
    fn main(index : i32) {
      ${PerItemProgram.ITEM}
      if (item < uniforms.N) {
        let D = uniforms.D;
        let o = item * D;
        let mean = stats[2 * item];
        let r = stats[2 * item + 1];
        var m1 = 0.0;
        var m2 = 0.0;
        for (var j = 0; j < D; j++) {
          let g = dy[o + j] * gamma[j];
          m1 += g;
          m2 += g * (x[o + j] - mean) * r;
        }
        m1 = m1 / f32(D);
        m2 = m2 / f32(D);
        for (var j = 0; j < D; j++) {
          let g = dy[o + j] * gamma[j];
          result[o + j] = r * (g - m1 - (x[o + j] - mean) * r * m2);
        }
      }
    }`;
  }
}

/** dgamma (beta false; inputs x, dy, stats) or dbeta (beta true: Σ_rows dy; input dy). */
export class LayerNormDGammaProgram extends PerItemProgram {
  variableNames: string[];
  uniforms = 'N : i32, D : i32,';
  constructor(
    D: number,
    private readonly beta: boolean,
  ) {
    super([D], D, `layernorm_${beta ? 'dbeta' : 'dgamma'}`);
    this.variableNames = beta ? ['dy'] : ['x', 'dy', 'stats'];
  }
  getUserCode(): string {
    const term = this.beta ? 'dy[n * D + item]' : 'dy[n * D + item] * (x[n * D + item] - stats[2 * n]) * stats[2 * n + 1]';
    return `
    fn main(index : i32) {
      ${PerItemProgram.ITEM}
      if (item < uniforms.D) {
        let D = uniforms.D;
        var s = 0.0;
        for (var n = 0; n < uniforms.N; n++) { s += ${term}; }
        result[item] = s;
      }
    }`;
  }
}

/** Scores [B·heads, T, T]; uniforms R (rows = B·heads·T), T (keys), heads, scale. */
export class MaskedSoftmaxProgram extends PerItemProgram {
  variableNames = ['s', 'mask'];
  uniforms = 'R : i32, T : i32, H : i32, scale : f32,';
  constructor(shape: number[]) {
    super(shape, shape[0] * shape[1], 'masked_softmax');
  }
  getUserCode(): string {
    return `
    fn main(index : i32) {
      ${PerItemProgram.ITEM}
      if (item < uniforms.R) {
        let T = uniforms.T;
        let b = item / (uniforms.H * T);
        let o = item * T;
        var m = -3.4e38;
        for (var j = 0; j < T; j++) {
          let z = s[o + j] * uniforms.scale + (1.0 - mask[b * T + j]) * -1e9;
          result[o + j] = z;
          m = max(m, z);
        }
        var sum = 0.0;
        for (var j = 0; j < T; j++) {
          let e = exp(result[o + j] - m);
          result[o + j] = e;
          sum += e;
        }
        for (var j = 0; j < T; j++) { result[o + j] = result[o + j] / sum; }
      }
    }`;
  }
}

export class MaskedSoftmaxGradProgram extends PerItemProgram {
  variableNames = ['y', 'dy'];
  uniforms = 'R : i32, T : i32, scale : f32,';
  constructor(shape: number[]) {
    super(shape, shape[0] * shape[1], 'masked_softmax_grad');
  }
  getUserCode(): string {
    return `
    fn main(index : i32) {
      ${PerItemProgram.ITEM}
      if (item < uniforms.R) {
        let T = uniforms.T;
        let o = item * T;
        var d = 0.0;
        for (var j = 0; j < T; j++) { d += dy[o + j] * y[o + j]; }
        for (var j = 0; j < T; j++) { result[o + j] = (dy[o + j] * y[o + j] - d * y[o + j]) * uniforms.scale; }
      }
    }`;
  }
}

/** Which optional inputs a residual-dropout program reads. */
export interface ResidualDropoutFlags {
  dropout: boolean; // u: uniform draws, multiplier floor(u + keep) / keep
  mask: boolean; // mask [rows]: one value per row of `cols` elements
}

const flagKey = (f: ResidualDropoutFlags) => `${f.dropout ? 'd' : ''}${f.mask ? 'm' : ''}`;
const multiplier = 'floor(u[i] + uniforms.keep) / uniforms.keep';

/** Uniforms size, cols, keep. Inputs: s, y, then u and mask where flagged. */
export class ResidualDropoutProgram extends PerItemProgram {
  variableNames: string[];
  uniforms = 'n : i32, cols : i32, keep : f32,';
  constructor(
    shape: number[],
    private readonly f: ResidualDropoutFlags,
  ) {
    super(
      shape,
      shape.reduce((a, b) => a * b, 1),
      `residual_dropout_${flagKey(f)}`,
    );
    this.variableNames = ['s', 'y', ...(f.dropout ? ['u'] : []), ...(f.mask ? ['mask'] : [])];
  }
  getUserCode(): string {
    const y = this.f.dropout ? `y[i] * (${multiplier})` : 'y[i]';
    const m = this.f.mask ? ' * mask[i / uniforms.cols]' : '';
    return `
    fn main(index : i32) {
      ${PerItemProgram.ITEM}
      let i = item;
      if (i < uniforms.n) { result[i] = (s[i] + ${y})${m}; }
    }`;
  }
}

/** The gradient for s (wrtY false: dout · mask) or for y (dout · mask · multiplier). */
export class ResidualDropoutGradProgram extends PerItemProgram {
  variableNames: string[];
  uniforms = 'n : i32, cols : i32, keep : f32,';
  constructor(
    shape: number[],
    private readonly f: ResidualDropoutFlags,
    private readonly wrtY: boolean,
  ) {
    super(
      shape,
      shape.reduce((a, b) => a * b, 1),
      `residual_dropout_grad_${flagKey(f)}_${wrtY ? 'y' : 's'}`,
    );
    this.variableNames = ['dout', ...(f.dropout && wrtY ? ['u'] : []), ...(f.mask ? ['mask'] : [])];
  }
  getUserCode(): string {
    const m = this.f.mask ? 'dout[i] * mask[i / uniforms.cols]' : 'dout[i]';
    const v = this.f.dropout && this.wrtY ? `${m} * (${multiplier})` : m;
    return `
    fn main(index : i32) {
      ${PerItemProgram.ITEM}
      let i = item;
      if (i < uniforms.n) { result[i] = ${v}; }
    }`;
  }
}

/** Output [B·T, K·C]; uniforms B, T, C, K, dilation. One thread per output element. */
export class Im2colProgram extends PerItemProgram {
  variableNames = ['x'];
  uniforms = 'B : i32, T : i32, C : i32, K : i32, dil : i32,';
  constructor(B: number, T: number, C: number, K: number) {
    super([B * T, K * C], B * T * K * C, 'im2col');
  }
  getUserCode(): string {
    return `
    fn main(index : i32) {
      ${PerItemProgram.ITEM}
      let C = uniforms.C;
      let KC = uniforms.K * C;
      if (item < uniforms.B * uniforms.T * KC) {
        let row = item / KC;
        let j = (item % KC) / C;
        let c = item % C;
        let b = row / uniforms.T;
        let t = row % uniforms.T + (j - (uniforms.K - 1) / 2) * uniforms.dil;
        var v = 0.0;
        if (t >= 0 && t < uniforms.T) { v = x[(b * uniforms.T + t) * C + c]; }
        result[item] = v;
      }
    }`;
  }
}

/** Output [B, T, C] from columns [B·T, K·C]; the taps summed in order j = 0..K-1. */
export class Col2imProgram extends PerItemProgram {
  variableNames = ['cols'];
  uniforms = 'B : i32, T : i32, C : i32, K : i32, dil : i32,';
  constructor(B: number, T: number, C: number) {
    super([B, T, C], B * T * C, 'col2im');
  }
  getUserCode(): string {
    return `
    fn main(index : i32) {
      ${PerItemProgram.ITEM}
      let C = uniforms.C;
      if (item < uniforms.B * uniforms.T * C) {
        let c = item % C;
        let t = (item / C) % uniforms.T;
        let b = item / (C * uniforms.T);
        var v = 0.0;
        for (var j = 0; j < uniforms.K; j++) {
          // Column j of the row at frame r reads frame r + (j - (K-1)/2)·dil = t.
          let r = t - (j - (uniforms.K - 1) / 2) * uniforms.dil;
          if (r >= 0 && r < uniforms.T) { v += cols[(b * uniforms.T + r) * uniforms.K * C + j * C + c]; }
        }
        result[item] = v;
      }
    }`;
  }
}
