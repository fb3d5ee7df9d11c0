// CTC log-likelihood of one sample given its log-probabilities (not logits: no log-softmax pass),
// float64: the alpha recursion of ctc_reference.ts (ctcAlpha, two rows at a time) for diagnostics
// on imported model outputs, where a set holds thousands of [T', C] arrays and the [T', C]
// log-softmax would dominate.
// And the exact uniform-prediction baseline: every class 1/C at every frame, so the likelihood
// is (number of valid paths) / C^T, counted with the same recursion in log space.

import { ctcAlpha, extendedLabels } from './ctc_reference';

/** log p(labels | logProbs), logProbs [T, C] row-major; -Infinity when no alignment exists. */
export function ctcLogLikelihood(logProbs: ArrayLike<number>, T: number, C: number, labels: ArrayLike<number>, blank = 0): number {
  return ctcAlpha(T, extendedLabels(labels, 0, labels.length, blank), blank, (t, c) => logProbs[t * C + c]);
}

/** log p(labels) under uniform outputs (1/C everywhere): −T·log C + log(number of valid paths). */
export function ctcUniformLogLikelihood(T: number, C: number, labels: ArrayLike<number>, blank = 0): number {
  const lc = -Math.log(C);
  return ctcAlpha(T, extendedLabels(labels, 0, labels.length, blank), blank, () => lc);
}
