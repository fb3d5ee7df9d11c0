// Float64 CTC loss and gradient in plain TypeScript: the reference the WebGPU kernel is tested
// against, and the implementation used on the cpu/webgl backends.
//
// Conventions (same as torch.nn.functional.ctc_loss on log_softmax(logits)):
//   logits:       [B, T, V] unnormalised, class `blank` is CTC's blank
//   labels:       [B, L] padded; labelLengths[b] <= L, logitLengths[b] <= T
//   nll[b]:       -log p(labels_b | logits_b), +Infinity when no alignment exists
//   grad[b,t,v]:  d nll[b] / d logits[b,t,v] = softmax - occupancy, 0 for t >= logitLengths[b]
// Extended label l' = [blank, l1, blank, l2, ..., lL, blank], S = 2L + 1 states.
// alpha[t][s] includes the emission at t; beta[t][s] excludes it (so occupancy = exp(alpha+beta+nll)).

import { logSumExp } from '../../lib/log_space';

export interface CtcProblem {
  logits: ArrayLike<number>; // [B, T, V]
  labels: ArrayLike<number>; // [B, L]
  logitLengths: ArrayLike<number>; // [B]
  labelLengths: ArrayLike<number>; // [B]
  B: number;
  T: number;
  V: number;
  L: number;
  blank?: number;
}

export interface CtcResult {
  nll: Float64Array; // [B]
  grad: Float64Array | null; // [B, T, V]
}

const NEG_INF = -Infinity;

export function logAddExp(a: number, b: number): number {
  if (a === NEG_INF) return b;
  if (b === NEG_INF) return a;
  const m = a > b ? a : b;
  return m + Math.log(Math.exp(a - m) + Math.exp(b - m));
}

/** log_softmax over the last axis, float64. */
export function logSoftmax64(logits: ArrayLike<number>, rows: number, V: number): Float64Array {
  const out = new Float64Array(rows * V);
  for (let r = 0; r < rows; r++) {
    const lse = logSumExp(logits, r * V, V);
    for (let v = 0; v < V; v++) out[r * V + v] = logits[r * V + v] - lse;
  }
  return out;
}

/** The extended label sequence [blank, l1, blank, l2, …, lL, blank] of labels[from, from + L). */
export function extendedLabels(labels: ArrayLike<number>, from: number, L: number, blank: number): Int32Array {
  const ext = new Int32Array(2 * L + 1);
  for (let s = 0; s < ext.length; s++) ext[s] = s % 2 === 0 ? blank : labels[from + (s - 1) / 2];
  return ext;
}

/**
 * The CTC alpha (forward) recursion over T frames: returns log p(labels), -Infinity when no
 * alignment exists. `emit(t, c)` is the log-probability of class c at frame t. With `table`
 * ([T, S], S = ext.length) every frame's row is kept there (the gradient needs them); without,
 * two rows are reused (the diagnostics score thousands of samples).
 */
export function ctcAlpha(T: number, ext: Int32Array, blank: number, emit: (t: number, c: number) => number, table?: Float64Array): number {
  const S = ext.length;
  if (T === 0) return S === 1 ? 0 : NEG_INF;
  let prev: Float64Array = table ? table.subarray(0, S) : new Float64Array(S);
  let spare: Float64Array | null = table ? null : new Float64Array(S);
  prev.fill(NEG_INF);
  prev[0] = emit(0, ext[0]);
  if (S > 1) prev[1] = emit(0, ext[1]);
  for (let t = 1; t < T; t++) {
    const cur = table ? table.subarray(t * S, (t + 1) * S) : spare!;
    for (let s = 0; s < S; s++) {
      let a = prev[s];
      if (s >= 1) a = logAddExp(a, prev[s - 1]);
      if (s >= 2 && ext[s] !== blank && ext[s] !== ext[s - 2]) a = logAddExp(a, prev[s - 2]);
      cur[s] = a === NEG_INF ? NEG_INF : a + emit(t, ext[s]);
    }
    if (!table) spare = prev;
    prev = cur;
  }
  return S > 1 ? logAddExp(prev[S - 1], prev[S - 2]) : prev[0];
}

/** Number of frames the labels need: L + number of adjacent repeats (each needs a blank between). */
export { ctcMinFrames } from '../../lib/ctc_frames';

export function ctcLossReference(p: CtcProblem, withGrad = true): CtcResult {
  const { B, T, V, L } = p;
  const blank = p.blank ?? 0;
  const lp = logSoftmax64(p.logits, B * T, V);
  const nll = new Float64Array(B);
  const grad = withGrad ? new Float64Array(B * T * V) : null;

  for (let b = 0; b < B; b++) {
    const Tb = Math.min(Math.max(p.logitLengths[b] | 0, 0), T);
    const Lb = Math.min(Math.max(p.labelLengths[b] | 0, 0), L);
    const ext = extendedLabels(p.labels, b * L, Lb, blank);
    const S = ext.length;
    const lpAt = (t: number, v: number) => lp[(b * T + t) * V + v];

    if (Tb === 0) {
      nll[b] = Lb === 0 ? 0 : Infinity;
      continue;
    }
    // alpha[t * S + s]
    const alpha = new Float64Array(Tb * S);
    const ll = ctcAlpha(Tb, ext, blank, lpAt, alpha);
    nll[b] = -ll;
    if (!grad) continue;
    if (ll === NEG_INF) {
      // No alignment: the loss is +inf and its gradient is undefined (PyTorch gives NaN/inf here;
      // zeroInfinity replaces both with 0 in ctcLoss).
      for (let t = 0; t < Tb; t++) for (let v = 0; v < V; v++) grad[(b * T + t) * V + v] = NaN;
      continue;
    }

    const beta = new Float64Array(Tb * S).fill(NEG_INF);
    beta[(Tb - 1) * S + S - 1] = 0;
    if (S > 1) beta[(Tb - 1) * S + S - 2] = 0;
    for (let t = Tb - 2; t >= 0; t--) {
      for (let s = 0; s < S; s++) {
        let x = beta[(t + 1) * S + s] + lpAt(t + 1, ext[s]);
        if (s + 1 < S) x = logAddExp(x, beta[(t + 1) * S + s + 1] + lpAt(t + 1, ext[s + 1]));
        if (s + 2 < S && ext[s + 2] !== blank && ext[s + 2] !== ext[s]) {
          x = logAddExp(x, beta[(t + 1) * S + s + 2] + lpAt(t + 1, ext[s + 2]));
        }
        beta[t * S + s] = x;
      }
    }

    for (let t = 0; t < Tb; t++) {
      const row = (b * T + t) * V;
      for (let v = 0; v < V; v++) grad[row + v] = Math.exp(lp[row + v]);
      for (let s = 0; s < S; s++) {
        const o = alpha[t * S + s] + beta[t * S + s] - ll;
        if (o !== NEG_INF) grad[row + ext[s]] -= Math.exp(o);
      }
    }
  }
  return { nll, grad };
}
