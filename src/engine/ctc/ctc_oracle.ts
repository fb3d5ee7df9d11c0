// Brute-force CTC oracle for tests: enumerates every path of length T over V classes, collapses
// it (merge repeats, drop blanks) and sums the probabilities of those equal to the label.
// Independent of the alpha/beta recursion, exponential in T: only for T <= ~7 and V <= ~4.

import { logSoftmax64 } from './ctc_reference';

/** -log p(label | logits) for one sample, logits [T, V]. */
export function ctcNllBruteForce(logits: ArrayLike<number>, T: number, V: number, label: number[], blank = 0): number {
  const lp = logSoftmax64(logits, T, V);
  const path = new Array<number>(T).fill(0);
  let total = 0;
  const n = V ** T;
  for (let k = 0; k < n; k++) {
    let r = k;
    for (let t = 0; t < T; t++) {
      path[t] = r % V;
      r = Math.floor(r / V);
    }
    const collapsed: number[] = [];
    for (let t = 0; t < T; t++) {
      if (path[t] !== blank && (t === 0 || path[t] !== path[t - 1])) collapsed.push(path[t]);
    }
    if (collapsed.length !== label.length || collapsed.some((c, i) => c !== label[i])) continue;
    let logp = 0;
    for (let t = 0; t < T; t++) logp += lp[t * V + path[t]];
    total += Math.exp(logp);
  }
  return -Math.log(total);
}
