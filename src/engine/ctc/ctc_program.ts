// Fused CTC loss for the tfjs WebGPU backend: three programs, no read-back.
//
//   1. LogSoftmaxProgram  one workgroup per (b, t) row: max, logsumexp, write log-probs.
//   2. CtcAlphaBetaProgram one workgroup per (b, direction): threads own states s (looping when
//      S = 2L+1 exceeds the workgroup), one time step per iteration with a barrier after it.
//      Direction 0 is the forward (alpha) recursion, direction 1 the backward (beta) one; both run
//      at once in different workgroups. Each direction also writes its own -log p at the end.
//   3. CtcGradProgram      one workgroup per (b, t): writes softmax for every class, then subtracts
//      the state occupancy exp(alpha + beta), normalised over the states of that frame, from the
//      class of each state. Several
//      states can share a class (blank, repeated labels), so one thread does the scatter, serially,
//      per chunk of states: S adds per row, against V exps per row.
//   4. CtcNllProgram      one thread per b: the loss, with zeroInfinity applied.
//
// -inf is represented by NEG = -1e30 inside the kernels: WGSL lets implementations assume that
// infinities are absent, so they appear only in the values written out (nll = +inf, NaN grads).
// Barriers sit in loops whose bounds are uniforms (T, S), never inside per-sample conditions, so
// the shaders pass WGSL's uniformity analysis.

import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';

type Uniform = { type: 'int32' | 'float32' | 'uint32'; data: number[] };

const COMMON = `
  const NEG = -1e30;
  const NEG_THRESHOLD = -1e29;
  fn linearWorkgroup() -> i32 {
    return i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
  }
  fn lse2(a : f32, b : f32) -> f32 {
    let m = max(a, b);
    if (m <= NEG_THRESHOLD) { return NEG; }
    return m + log(exp(a - m) + exp(b - m));
  }
  fn lse3(a : f32, b : f32, c : f32) -> f32 {
    let m = max(max(a, b), c);
    if (m <= NEG_THRESHOLD) { return NEG; }
    return m + log(exp(a - m) + exp(b - m) + exp(c - m));
  }
`;

function pickWorkgroup(n: number): number {
  return n > 32 ? 64 : 32;
}

export class LogSoftmaxProgram implements WebGPUProgram {
  variableNames = ['logits'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = 'R : i32, V : i32,';
  private readonly rowPerThread: boolean;

  constructor(rows: number, V: number) {
    this.outputShape = [rows, V];
    this.dispatchLayout = { x: [0, 1] };
    // Small vocabularies (speech characters): one thread per row, no barriers at all.
    // Large ones: a workgroup of 64 per row, looping over V; the B*T rows carry the parallelism,
    // wider workgroups only add barrier cost (measured in BENCHMARKS.md).
    this.rowPerThread = V <= 64;
    this.workgroupSize = [64, 1, 1];
    this.dispatch = this.rowPerThread ? [Math.ceil(rows / 64), 1, 1] : [rows, 1, 1];
    this.shaderKey = `ctclab_logsoftmax_${this.rowPerThread ? 'thread' : 'group'}`;
  }

  getUserCode(): string {
    if (this.rowPerThread) {
      return `
    ${COMMON}
    fn main(index : i32) {
      let row = linearWorkgroup() * 64 + i32(localId.x);
      if (row < uniforms.R) {
        let V = uniforms.V;
        var m = NEG;
        for (var v = 0; v < V; v++) { m = max(m, logits[row * V + v]); }
        var s = 0.0;
        for (var v = 0; v < V; v++) { s += exp(logits[row * V + v] - m); }
        let lse = m + log(s);
        for (var v = 0; v < V; v++) { result[row * V + v] = logits[row * V + v] - lse; }
      }
    }`;
    }
    const WG = this.workgroupSize[0];
    return `
    ${COMMON}
    var<workgroup> buf : array<f32, ${WG}>;
    fn main(index : i32) {
      let row = linearWorkgroup();
      let tid = i32(localId.x);
      let V = uniforms.V;
      let live = row < uniforms.R;
      var m = NEG;
      if (live) {
        for (var v = tid; v < V; v += ${WG}) { m = max(m, logits[row * V + v]); }
      }
      buf[tid] = m;
      workgroupBarrier();
      for (var h = ${WG / 2}; h > 0; h = h / 2) {
        if (tid < h) { buf[tid] = max(buf[tid], buf[tid + h]); }
        workgroupBarrier();
      }
      let rowMax = buf[0];
      workgroupBarrier();
      var s = 0.0;
      if (live) {
        for (var v = tid; v < V; v += ${WG}) { s += exp(logits[row * V + v] - rowMax); }
      }
      buf[tid] = s;
      workgroupBarrier();
      for (var h = ${WG / 2}; h > 0; h = h / 2) {
        if (tid < h) { buf[tid] = buf[tid] + buf[tid + h]; }
        workgroupBarrier();
      }
      let lse = rowMax + log(buf[0]);
      if (live) {
        for (var v = tid; v < V; v += ${WG}) { result[row * V + v] = logits[row * V + v] - lse; }
      }
    }`;
  }
}

// Output [B, dirs, T*S + 1]: per direction the T x S table (t-major), then that direction's nll.
// Rows are renormalised at every step (the row max is subtracted and added to a running log
// scale), so stored values stay O(1) in magnitude: un-normalised log-alphas reach -3000 at
// T = 1000, where float32 spacing is 2.4e-4, and the gradient lost three digits to that.
export class CtcAlphaBetaProgram implements WebGPUProgram {
  variableNames = ['lp', 'labels', 'logitLengths', 'labelLengths'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = 'T : i32, V : i32, L : i32, blank : i32, dirs : i32,';

  constructor(B: number, T: number, L: number, dirs: 1 | 2) {
    const S = 2 * L + 1;
    this.outputShape = [B, dirs, T * S + 1];
    this.dispatchLayout = { x: [0, 1, 2] };
    this.dispatch = [B * dirs, 1, 1];
    // Threads own states; up to 4 states per thread before the workgroup widens (each step ends
    // in a row-max reduction whose cost grows with the workgroup).
    this.workgroupSize = [S > 512 ? 256 : S > 256 ? 128 : S > 32 ? 64 : 32, 1, 1];
    this.shaderKey = `ctclab_alphabeta_${this.workgroupSize[0]}`;
  }

  getUserCode(): string {
    const WG = this.workgroupSize[0];
    return `
    ${COMMON}
    var<workgroup> red : array<f32, ${WG}>;
    fn main(index : i32) {
      let wg = linearWorkgroup();
      let dirs = uniforms.dirs;
      let b = wg / dirs;
      let dir = wg % dirs;
      let tid = i32(localId.x);
      let T = uniforms.T;
      let V = uniforms.V;
      let L = uniforms.L;
      let blank = uniforms.blank;
      let S = 2 * L + 1;
      let Tb = clamp(logitLengths[b], 0, T);
      let Lb = clamp(labelLengths[b], 0, L);
      let Sb = 2 * Lb + 1;
      let base = wg * (T * S + 1);
      var logScale = 0.0;  // sum of the row maxima subtracted so far (same value in every thread)

      for (var k = 0; k < T; k++) {
        let inRange = k < Tb;
        var t = k;
        if (dir == 1) { t = Tb - 1 - k; }
        var rowMax = NEG;
        if (inRange) {
          for (var s = tid; s < S; s += ${WG}) {
            var value = NEG;
            if (s < Sb) {
              var cls = blank;
              if (s % 2 == 1) { cls = labels[b * L + s / 2]; }
              if (dir == 0) {
                let e = lp[(b * T + t) * V + cls];
                if (t == 0) {
                  if (s < 2) { value = e; }
                } else {
                  let prev = base + (t - 1) * S;
                  var a1 = NEG;
                  var a2 = NEG;
                  if (s >= 1) { a1 = result[prev + s - 1]; }
                  if (s >= 3 && cls != blank && cls != labels[b * L + s / 2 - 1]) { a2 = result[prev + s - 2]; }
                  let a = lse3(result[prev + s], a1, a2);
                  if (a > NEG_THRESHOLD) { value = a + e; }
                }
              } else {
                if (t == Tb - 1) {
                  if (s >= Sb - 2) { value = 0.0; }
                } else {
                  let nxt = base + (t + 1) * S;
                  let lpRow = (b * T + t + 1) * V;
                  let x0 = result[nxt + s] + lp[lpRow + cls];
                  var x1 = NEG;
                  var x2 = NEG;
                  if (s + 1 < Sb) {
                    var c1 = blank;
                    if ((s + 1) % 2 == 1) { c1 = labels[b * L + (s + 1) / 2]; }
                    x1 = result[nxt + s + 1] + lp[lpRow + c1];
                  }
                  if (s + 2 < Sb && s % 2 == 1) {
                    let c2 = labels[b * L + (s + 2) / 2];
                    if (c2 != blank && c2 != cls) { x2 = result[nxt + s + 2] + lp[lpRow + c2]; }
                  }
                  value = lse3(x0, x1, x2);
                }
              }
            }
            result[base + t * S + s] = value;
            rowMax = max(rowMax, value);
          }
        }
        // Row maximum across the workgroup.
        red[tid] = rowMax;
        workgroupBarrier();
        for (var h = ${WG / 2}; h > 0; h = h / 2) {
          if (tid < h) { red[tid] = max(red[tid], red[tid + h]); }
          workgroupBarrier();
        }
        let m = red[0];
        workgroupBarrier();
        // Each thread renormalises the states it wrote itself, so no other thread is involved.
        if (inRange && m > NEG_THRESHOLD) {
          logScale += m;
          for (var s = tid; s < S; s += ${WG}) {
            let i = base + t * S + s;
            let v = result[i];
            if (v > NEG_THRESHOLD) { result[i] = v - m; }
          }
        }
        storageBarrier();
        workgroupBarrier();
      }

      if (tid == 0) {
        var ll = NEG;
        if (Tb == 0) {
          if (Lb == 0) { ll = 0.0; }
        } else if (dir == 0) {
          let last = base + (Tb - 1) * S;
          var a2 = NEG;
          if (Sb > 1) { a2 = result[last + Sb - 2]; }
          ll = lse2(result[last + Sb - 1], a2);
        } else {
          let x0 = result[base] + lp[(b * T) * V + blank];
          var x1 = NEG;
          if (Sb > 1) { x1 = result[base + 1] + lp[(b * T) * V + labels[b * L]]; }
          ll = lse2(x0, x1);
        }
        var nll = -(ll + logScale);
        if (ll <= NEG_THRESHOLD) { nll = uniforms.INFINITY; }
        result[base + T * S] = nll;
      }
    }`;
  }
}

// Output [B, T, V]: d nll[b] / d logits[b, t, v] (unscaled by the upstream gradient).
// Occupancy of state s at t is exp(alpha + beta) normalised over s at that t (it sums to 1 over
// the states at every frame), so the rows' separate scales cancel and no large numbers meet.
export class CtcGradProgram implements WebGPUProgram {
  variableNames = ['lp', 'ab', 'labels', 'logitLengths', 'labelLengths'];
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = 'T : i32, V : i32, L : i32, blank : i32, zeroInfinity : i32,';

  constructor(B: number, T: number, V: number, L: number) {
    this.outputShape = [B, T, V];
    this.dispatchLayout = { x: [0, 1, 2] };
    this.dispatch = [B * T, 1, 1];
    // As for log-softmax: B*T workgroups carry the parallelism, 64 threads loop over V and S.
    this.workgroupSize = [pickWorkgroup(Math.max(V, 2 * L + 1)), 1, 1];
    this.shaderKey = `ctclab_grad_${this.workgroupSize[0]}`;
  }

  getUserCode(): string {
    const WG = this.workgroupSize[0];
    return `
    ${COMMON}
    var<workgroup> occ : array<f32, ${WG}>;
    var<workgroup> occZ : array<f32, ${WG}>;
    fn main(index : i32) {
      let row = linearWorkgroup();
      let tid = i32(localId.x);
      let T = uniforms.T;
      let V = uniforms.V;
      let L = uniforms.L;
      let blank = uniforms.blank;
      let S = 2 * L + 1;
      let b = row / T;
      let t = row % T;
      let Tb = clamp(logitLengths[b], 0, T);
      let Lb = clamp(labelLengths[b], 0, L);
      let Sb = 2 * Lb + 1;
      let alphaBase = (b * 2) * (T * S + 1);
      let betaBase = alphaBase + T * S + 1;
      let nll = ab[alphaBase + T * S];
      let bad = !(nll < 1e29);  // +inf (no alignment) or NaN
      let valid = t < Tb;
      let live = valid && !bad;
      let outRow = row * V;

      // log-sum over states of alpha + beta at this frame: an online (max, sum) per thread, then
      // one tree reduction of the pairs.
      var m = NEG;
      var z = 0.0;
      if (live) {
        for (var s = tid; s < Sb; s += ${WG}) {
          let x = ab[alphaBase + t * S + s] + ab[betaBase + t * S + s];
          if (x > NEG_THRESHOLD) {
            if (x > m) { z = z * exp(m - x) + 1.0; m = x; } else { z += exp(x - m); }
          }
        }
      }
      occ[tid] = m;
      occZ[tid] = z;
      workgroupBarrier();
      for (var h = ${WG / 2}; h > 0; h = h / 2) {
        if (tid < h) {
          let m1 = occ[tid];
          let m2 = occ[tid + h];
          let mm = max(m1, m2);
          var zz = 0.0;
          if (mm > NEG_THRESHOLD) { zz = occZ[tid] * exp(m1 - mm) + occZ[tid + h] * exp(m2 - mm); }
          occ[tid] = mm;
          occZ[tid] = zz;
        }
        workgroupBarrier();
      }
      let logZ = occ[0] + log(occZ[0]);
      workgroupBarrier();

      for (var v = tid; v < V; v += ${WG}) {
        var g = 0.0;
        if (valid) {
          if (bad) {
            if (uniforms.zeroInfinity == 0) { g = uniforms.NAN; }
          } else {
            g = exp(lp[outRow + v]);
          }
        }
        result[outRow + v] = g;
      }
      storageBarrier();
      workgroupBarrier();

      for (var s0 = 0; s0 < S; s0 += ${WG}) {
        let s = s0 + tid;
        var o = 0.0;
        if (live && s < Sb) {
          let x = ab[alphaBase + t * S + s] + ab[betaBase + t * S + s];
          if (x > NEG_THRESHOLD) { o = exp(x - logZ); }
        }
        occ[tid] = o;
        workgroupBarrier();
        if (tid == 0 && live) {
          let n = min(${WG}, Sb - s0);
          for (var j = 0; j < n; j++) {
            let ss = s0 + j;
            var cls = blank;
            if (ss % 2 == 1) { cls = labels[b * L + ss / 2]; }
            result[outRow + cls] = result[outRow + cls] - occ[j];
          }
        }
        storageBarrier();
        workgroupBarrier();
      }
    }`;
  }
}

// Output [B]: nll from the alpha direction, 0 where infeasible and zeroInfinity is set.
export class CtcNllProgram implements WebGPUProgram {
  variableNames = ['ab'];
  outputShape: number[];
  shaderKey = 'ctclab_nll';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number] = [64, 1, 1];
  uniforms = 'B : i32, stride : i32, offset : i32, zeroInfinity : i32,';

  constructor(B: number) {
    this.outputShape = [B];
    this.dispatchLayout = { x: [0] };
    this.dispatch = [Math.ceil(B / 64), 1, 1];
  }

  getUserCode(): string {
    return `
    fn main(index : i32) {
      if (index < uniforms.B) {
        var nll = ab[index * uniforms.stride + uniforms.offset];
        if (!(nll < 1e29) && uniforms.zeroInfinity == 1) { nll = 0.0; }
        result[index] = nll;
      }
    }`;
  }
}

export function uniformsI32(...xs: number[]): Uniform[] {
  return xs.map((x) => ({ type: 'int32', data: [x] }));
}
