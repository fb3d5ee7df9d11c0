// Simple greedy CTC decoding: argmax per frame, merge repeats, drop blanks. No filtering: the
// field guide's lesson is that confidence filtering can hide what an early model has learned.

/** best: argmax class per output frame, [B * maxOutFrames] row-major; lengths[b] valid frames of row b. */
export function greedyDecode(best: ArrayLike<number>, maxOutFrames: number, lengths: ArrayLike<number>, blank = 0): number[][] {
  const out: number[][] = [];
  for (let b = 0; b < lengths.length; b++) {
    const seq: number[] = [];
    let prev = -1;
    for (let t = 0; t < Math.min(lengths[b], maxOutFrames); t++) {
      const c = best[b * maxOutFrames + t];
      if (c !== prev && c !== blank) seq.push(c);
      prev = c;
    }
    out.push(seq);
  }
  return out;
}

/** Greedy hypothesis (class ids) of one sample's log-probabilities [T, C], row-major. */
export function greedyIds(lp: ArrayLike<number>, T: number, C: number, blank: number): number[] {
  const best = new Int32Array(T);
  for (let t = 0; t < T; t++) {
    let b = 0;
    for (let c = 1; c < C; c++) if (lp[t * C + c] > lp[t * C + b]) b = c;
    best[t] = b;
  }
  return greedyDecode(best, T, [T], blank)[0];
}

/** Class ids (1-based, 0 = blank) back to tokens. */
export function idsToTokens(ids: number[], vocab: string[]): string[] {
  return ids.map((i) => vocab[i - 1] ?? `<${i}>`);
}
