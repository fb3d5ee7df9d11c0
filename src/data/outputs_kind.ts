// What a model wrote, told from its rows: log-probabilities (every row's logsumexp ≈ 0),
// probabilities (non-negative rows summing to 1) or logits (anything else), and its conversion to
// log-probabilities (log_softmax of logits, log of probabilities), in float64 per row.
// Rows holding NaN or +Inf are counted, kept as they are and left out of the detection.

import { logSumExp } from '../lib/log_space';
import type { OutputKind } from './types';

export interface RowFacts {
  kind: OutputKind;
  lseMin: number; // logsumexp range over the finite rows (0 for log-probabilities)
  lseMax: number;
  nonFiniteValues: number; // NaN or +Inf values (-Inf is a probability of 0 in log space)
  firstNonFinite: number; // flat index of the first, -1 when none
}

/** Tolerance on |logsumexp| and |sum − 1|: float16 keeps ~3 decimal digits. */
export const kindTolerance = (dtype: string) => (dtype === 'float16' ? 2e-2 : 1e-3);

export function rowFacts(x: Float32Array, T: number, C: number, tol: number): RowFacts {
  let lseMin = Infinity,
    lseMax = -Infinity,
    bad = 0,
    first = -1;
  let allLog = true,
    allProb = true,
    rows = 0;
  for (let t = 0; t < T; t++) {
    let rowBad = false,
      neg = false,
      sum = 0;
    for (let c = 0; c < C; c++) {
      const v = x[t * C + c];
      if (Number.isNaN(v) || v === Infinity) {
        rowBad = true;
        if (bad++ === 0) first = t * C + c;
        continue;
      }
      if (v < 0) neg = true;
      sum += v;
    }
    if (rowBad) continue;
    rows++;
    const lse = logSumExp(x, t * C, C);
    if (lse < lseMin) lseMin = lse;
    if (lse > lseMax) lseMax = lse;
    if (!(Math.abs(lse) <= tol)) allLog = false;
    if (neg || !(Math.abs(sum - 1) <= tol)) allProb = false;
  }
  if (rows === 0) return { kind: 'log_probs', lseMin: 0, lseMax: 0, nonFiniteValues: bad, firstNonFinite: first };
  return { kind: allLog ? 'log_probs' : allProb ? 'probs' : 'logits', lseMin, lseMax, nonFiniteValues: bad, firstNonFinite: first };
}

/** Log-probabilities from what the rows are: as they are, log(p), or log_softmax (float64 per row). */
export function toLogProbs(x: Float32Array, T: number, C: number, kind: OutputKind): Float32Array {
  if (kind === 'log_probs') return x;
  const out = new Float32Array(T * C);
  if (kind === 'probs') {
    for (let i = 0; i < T * C; i++) out[i] = Math.log(x[i]);
    return out;
  }
  for (let t = 0; t < T; t++) {
    const lse = logSumExp(x, t * C, C);
    for (let c = 0; c < C; c++) out[t * C + c] = x[t * C + c] - lse;
  }
  return out;
}
