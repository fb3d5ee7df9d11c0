// CTC log-likelihood of one sample given its log-probabilities (not logits: no log-softmax pass),
// float64: the alpha recursion of ctc_reference.ts for diagnostics on imported model outputs,
// where a set holds thousands of [T', C] arrays and the [T', C] log-softmax would dominate.
// And the exact uniform-prediction baseline: every class 1/C at every frame, so the likelihood
// is (number of valid paths) / C^T, counted with the same recursion in log space.

import { logAddExp } from './ctc_reference';

/** Extended-label recursion; `emit(t, c)` is the log-probability of class c at frame t. */
function forward(T: number, labels: ArrayLike<number>, blank: number, emit: (t: number, c: number) => number): number {
  const L = labels.length,
    S = 2 * L + 1;
  if (T === 0) return L === 0 ? 0 : -Infinity;
  const ext = new Int32Array(S);
  for (let s = 0; s < S; s++) ext[s] = s % 2 === 0 ? blank : labels[(s - 1) >> 1];
  let prev = new Float64Array(S).fill(-Infinity),
    cur = new Float64Array(S);
  prev[0] = emit(0, ext[0]);
  if (S > 1) prev[1] = emit(0, ext[1]);
  for (let t = 1; t < T; t++) {
    for (let s = 0; s < S; s++) {
      let a = prev[s];
      if (s >= 1) a = logAddExp(a, prev[s - 1]);
      if (s >= 2 && ext[s] !== blank && ext[s] !== ext[s - 2]) a = logAddExp(a, prev[s - 2]);
      cur[s] = a === -Infinity ? -Infinity : a + emit(t, ext[s]);
    }
    [prev, cur] = [cur, prev];
  }
  return S > 1 ? logAddExp(prev[S - 1], prev[S - 2]) : prev[0];
}

/** log p(labels | logProbs), logProbs [T, C] row-major; -Infinity when no alignment exists. */
export function ctcLogLikelihood(logProbs: ArrayLike<number>, T: number, C: number, labels: ArrayLike<number>, blank = 0): number {
  return forward(T, labels, blank, (t, c) => logProbs[t * C + c]);
}

/** log p(labels) under uniform outputs (1/C everywhere): −T·log C + log(number of valid paths). */
export function ctcUniformLogLikelihood(T: number, C: number, labels: ArrayLike<number>, blank = 0): number {
  const lc = -Math.log(C);
  return forward(T, labels, blank, () => lc);
}
