// Fused CTC loss for the tfjs WebGPU backend: four programs, no read-back, total work
// proportional to B·T·(S + V) (S = 2L + 1 states, V classes), no barrier outside the recursion.
// Forward (kernel CtcLabLoss): 1, 2, 4; backward (kernel CtcLabLossGrad): 3.
//
//   1. CtcRowLseProgram    one thread per (b, t) row: log-sum-exp of the row's logits [B*T].
//   2. CtcAlphaBetaProgram (ctc_recursion.ts) one workgroup per sample: the forward (alpha) and backward (beta)
//                          recursions side by side in the two halves of the workgroup, their rows
//                          in workgroup memory, one barrier per time step, only over the band of
//                          states that can be on a path; writes both tables (time order, forward
//                          state order) and -log p.
//   3. CtcGradProgram      one thread per (b, t) row: softmax of the row, then the occupancy of
//                          each state, exp(alpha + beta) normalised over the frame's states, taken
//                          from the class of its label (the thread owns the row, so no thread
//                          waits and none races): O(V + S) per row; times dy as it is written.
//   4. CtcNllProgram       one thread per b: the loss, with zeroInfinity applied.
//
// Row-per-thread programs and 4-state vectors follow measurements on SwiftShader (a CPU emulation
// whose every barrier switches all 4-wide SIMD groups of a workgroup, and whose cost is mostly per
// memory instruction): see BENCHMARKS.md. Where V is a multiple of 4, rows are read and written
// as vec4.
//
// Program 2 writes everything into one buffer laid out by ctcLayout (below).

import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { WGSL_COMMON } from './ctc_wgsl';

type Uniform = { type: 'int32' | 'float32' | 'uint32'; data: number[] };

export function uniformsI32(...xs: number[]): Uniform[] {
  return xs.map((x) => ({ type: 'int32', data: [x] }));
}

/** Splits n workgroups over x and y (WebGPU allows at most 65535 per dimension). */
export function grid(n: number): [number, number, number] {
  const x = Math.min(n, 65535);
  return [x, Math.ceil(n / x), 1];
}

/**
 * Offsets (in float32 elements, each a multiple of 4) of the regions of program 2's output
 * (read as vec4 by program 3):
 *   tab   [B, 2, T, R]   with the gradient: alpha (including the emission at t) and beta
 *                        (excluding it) per frame, forward state order, each row shifted by the
 *                        running normalisation; R = 4·ceil(S/4) + 4; only the band of each frame
 *                        (see CtcAlphaBetaProgram) is written
 *   nll   [B, dirs, 4]   -log p from each direction (the gradient uses alpha's) in x
 *   rows  [B, dirs, 2, 4·(Q + 1)]  the recursion's two rows per direction, only where they do not
 *                        fit in workgroup memory (Q = ceil(S/4) groups of 4 states, plus a pad)
 *   info  [B, dirs, 4·Q] the per-state info, likewise only past workgroup memory
 */
export interface CtcLayout {
  S: number;
  groups: number; // Q = ceil(S / 4)
  rowStride: number; // R
  dirs: 1 | 2;
  rows: number;
  info: number;
  nll: number;
  size: number;
}

export function ctcLayout(B: number, T: number, L: number, withGrad: boolean, globalRows: boolean): CtcLayout {
  const S = 2 * L + 1;
  const groups = Math.ceil(S / 4);
  const rowStride = 4 * groups + 4;
  const dirs = withGrad ? 2 : 1;
  const nll = withGrad ? B * 2 * T * rowStride : 0; // the same with rows in either memory (the gradient program reads it)
  const rows = nll + B * dirs * 4;
  const info = rows + (globalRows ? B * dirs * 2 * 4 * (groups + 1) : 0);
  const size = info + (globalRows ? B * dirs * 4 * groups : 0);
  return { S, groups, rowStride, dirs, rows, info, nll, size };
}

/** Largest number of 4-state groups whose rows and state tables fit in workgroup memory. */
export function maxGroupsInWorkgroupMemory(workgroupStorageBytes: number, dirs: 1 | 2, lanes: number): number {
  // Per direction: 2 rows of (Q + 1) vec4, Q vec4<i32> of state info, 2 * lanes partials; + 1 i32.
  return Math.floor((workgroupStorageBytes / 4 - 1 - dirs * 2 * lanes) / dirs / 12) - 1;
}

/** Threads per direction in the recursion. */
export function alphaBetaLanes(groups: number, emulated: boolean): number {
  // On a CPU emulation one 4-wide SIMD group per direction: every barrier switches each group.
  // On a GPU the state groups carry the parallelism: about two groups per thread, 8 to 64 threads.
  if (emulated) return 4;
  let lanes = 8;
  while (lanes < 64 && lanes * 2 < groups) lanes *= 2;
  return lanes;
}

/** What the one-thread-per-element programs (1, 3, 4) share: 64 threads a workgroup, the grid for `threads` threads. */
abstract class PerThreadProgram implements WebGPUProgram {
  abstract variableNames: string[];
  variableComponents: number[];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  abstract uniforms: string;

  constructor(o: { outputShape: number[]; dispatchAxes: number[]; threads: number; shaderKey: string; variableComponents: number[] }) {
    this.outputShape = o.outputShape;
    this.dispatchLayout = { x: o.dispatchAxes };
    this.dispatch = grid(Math.ceil(o.threads / 64));
    this.shaderKey = o.shaderKey;
    this.variableComponents = o.variableComponents;
  }

  abstract getUserCode(): string;
}

/** Output [rows]: log-sum-exp of each row of logits [rows, V]; one thread per row. */
export class CtcRowLseProgram extends PerThreadProgram {
  variableNames = ['logits'];
  uniforms = 'R : i32, V : i32,';
  private readonly vec4: boolean;

  constructor(rows: number, V: number) {
    const vec4 = V % 4 === 0;
    super({
      outputShape: [rows],
      dispatchAxes: [0],
      threads: rows,
      shaderKey: `ctclab_rowlse_${vec4 ? 'vec4' : 'scalar'}`,
      variableComponents: [vec4 ? 4 : 1],
    });
    this.vec4 = vec4;
  }

  getUserCode(): string {
    const [type, n, hmax, hsum] = this.vec4
      ? ['vec4<f32>', 'uniforms.V / 4', 'max(max(m.x, m.y), max(m.z, m.w))', 's.x + s.y + s.z + s.w']
      : ['f32', 'uniforms.V', 'm', 's'];
    return `
    ${WGSL_COMMON}
    fn main(index : i32) {
      let row = linearWorkgroup() * 64 + i32(localId.x);
      if (row < uniforms.R) {
        let n = ${n};
        var m = ${type}(NEG);
        for (var v = 0; v < n; v++) { m = max(m, logits[row * n + v]); }
        let rowMax = ${hmax};
        var s = ${type}(0.0);
        for (var v = 0; v < n; v++) { s += exp(logits[row * n + v] - rowMax); }
        result[row] = rowMax + log(${hsum});
      }
    }`;
  }
}

/**
 * Output [B, T, V]: d nll[b] / d logits[b, t, v], times dy[b] where scaled. One thread
 * per row: the row's softmax, then for every state its occupancy, normalised over the frame's
 * states, subtracted from its class (blank: the even states' sum, once). O(V + S) per row.
 */
export class CtcGradProgram extends PerThreadProgram {
  variableNames = ['logits', 'lse', 'tab', 'labels', 'logitLengths', 'labelLengths'];
  outputComponent: number;
  uniforms = 'T : i32, V : i32, L : i32, blank : i32, zeroInfinity : i32, nllOffset : i32, R : i32,';
  private readonly vec4: boolean;
  private readonly scaled: boolean;

  /** scaled: multiply by the upstream gradient dy [B] (an extra input) as the gradient is written. */
  constructor(B: number, T: number, V: number, scaled: boolean) {
    const vec4 = V % 4 === 0;
    super({
      outputShape: [B, T, V],
      dispatchAxes: [0, 1, 2],
      threads: B * T,
      shaderKey: `ctclab_grad_${vec4 ? 'vec4' : 'scalar'}_${scaled ? 'dy' : 'unscaled'}`,
      variableComponents: [vec4 ? 4 : 1, 1, 4, 1, 1, 1],
    });
    this.vec4 = vec4;
    this.scaled = scaled;
    this.outputComponent = vec4 ? 4 : 1;
    if (scaled) {
      this.variableNames = [...this.variableNames, 'dy'];
      this.variableComponents.push(1);
    }
  }

  getUserCode(): string {
    const [type, n] = this.vec4 ? ['vec4<f32>', 'V / 4'] : ['f32', 'V'];
    const sub = this.vec4
      ? (i: string, o: string) => `result[(${i}) / 4][(${i}) % 4] = result[(${i}) / 4][(${i}) % 4] - ${o};`
      : (i: string, o: string) => `result[${i}] = result[${i}] - ${o};`;
    return `
    ${WGSL_COMMON}
    fn main(index : i32) {
      let row = linearWorkgroup() * 64 + i32(localId.x);
      if (row >= uniforms.R) { return; }
      let T = uniforms.T;
      let V = uniforms.V;
      let L = uniforms.L;
      let b = row / T;
      let t = row - b * T;
      let Lb = clamp(labelLengths[b], 0, L);
      let Sb = 2 * Lb + 1;
      let nll = tab[uniforms.nllOffset / 4 + b * 2].x;
      // Padded frames get 0; frames of a sample without an alignment NaN, or 0 with zeroInfinity.
      let valid = t < clamp(logitLengths[b], 0, T);
      let bad = !(nll < 1e29);
      let live = valid && !bad;
      let fill = select(select(uniforms.NAN, 0.0, uniforms.zeroInfinity == 1), 0.0, !valid);
      let rowLse = lse[row];
      let scale = ${this.scaled ? 'dy[b]' : '1.0'};
      let n = ${n};
      for (var v = 0; v < n; v++) {
        result[row * n + v] = select(${type}(fill), exp(logits[row * n + v] - rowLse), live) * scale;
      }
      if (!live) { return; }

      // log of the frame's total over states, alpha + beta (4 states at a time, then merged), over
      // the frame's band: states reachable from the start and from the end (the others are 0).
      let Tb = clamp(logitLengths[b], 0, T);
      let R4 = (2 * L + 4) / 4 + 1;
      let aRow = ((b * 2) * T + t) * R4;
      let bRow = aRow + T * R4;
      let lo = max(Sb - 2 * (Tb - t), 0);
      let hi = min(2 * t + 1, Sb - 1);
      var m = vec4<f32>(NEG);
      var z = vec4<f32>(0.0);
      for (var q = lo / 4; q <= hi / 4; q++) {
        let s = vec4<i32>(4 * q) + vec4<i32>(0, 1, 2, 3);
        let inBand = (s >= vec4<i32>(lo)) & (s <= vec4<i32>(hi));
        let x = select(vec4<f32>(NEG), tab[aRow + q] + tab[bRow + q], inBand);
        let mn = max(m, x);
        z = z * exp(m - mn) + exp(x - mn);
        m = mn;
      }
      let mAll = max(max(m.x, m.y), max(m.z, m.w));
      let logZ = mAll + log(dot(z, exp(m - mAll)));

      // Occupancies: group q holds states 4q .. 4q + 3 = blank, label 2q, blank, label 2q + 1.
      let rowStart = row * V;
      var blankOcc = 0.0;
      for (var q = lo / 4; q <= hi / 4; q++) {
        let s = vec4<i32>(4 * q) + vec4<i32>(0, 1, 2, 3);
        let inBand = (s >= vec4<i32>(lo)) & (s <= vec4<i32>(hi));
        let o = select(vec4<f32>(0.0), exp(tab[aRow + q] + tab[bRow + q] - logZ), inBand) * scale;
        blankOcc += o.x + o.z;
        let c0 = labels[b * L + min(2 * q, L - 1)];
        let c1 = labels[b * L + min(2 * q + 1, L - 1)];
        if (inBand.y && c0 >= 0 && c0 < V) { ${sub('rowStart + c0', 'o.y')} }
        if (inBand.w && c1 >= 0 && c1 < V) { ${sub('rowStart + c1', 'o.w')} }
      }
      ${sub('rowStart + uniforms.blank', 'blankOcc')}
    }`;
  }
}

/** Output [B]: nll from the alpha direction, 0 where infeasible and zeroInfinity is set. */
export class CtcNllProgram extends PerThreadProgram {
  variableNames = ['tab'];
  uniforms = 'B : i32, stride : i32, offset : i32, zeroInfinity : i32,';

  constructor(B: number) {
    super({ outputShape: [B], dispatchAxes: [0], threads: B, shaderKey: 'ctclab_nll', variableComponents: [4] });
  }

  getUserCode(): string {
    return `
    fn main(index : i32) {
      if (index < uniforms.B) {
        let at = index * uniforms.stride + uniforms.offset;
        var nll = tab[at / 4][at % 4];
        if (!(nll < 1e29) && uniforms.zeroInfinity == 1) { nll = 0.0; }
        result[index] = nll;
      }
    }`;
  }
}
