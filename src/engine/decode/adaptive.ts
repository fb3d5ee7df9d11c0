// Adaptive (confidence-filtered) CTC decoding, the field guide's "adaptive length normalisation
// with aggressive filtering": greedy segments, each token kept only when its length-normalised
// confidence (geometric mean of its frames' probabilities) reaches a threshold. Useful late in
// training to drop spurious tokens; early on it hides what the model has learned, which is why
// the diagnostics compare it with simple greedy decoding.

export interface AdaptiveOptions {
  threshold: number; // minimum geometric-mean frame probability of a token, usual 0.5
  maxTokens: number; // cap on the output length, usual 50 (the field guide's words[:50])
  blank: number; // 0
}

export const ADAPTIVE_DEFAULTS: AdaptiveOptions = { threshold: 0.5, maxTokens: 50, blank: 0 };

export interface AdaptiveResult {
  ids: number[];
  dropped: number; // tokens greedy decoding emitted that the filter removed
  kept: boolean[]; // per token of greedy decoding, in order: whether the filter kept it
}

/** logProbs: [T, V] row-major log-probabilities of one sample, `frames` valid rows. */
export function adaptiveDecode(logProbs: ArrayLike<number>, frames: number, V: number, opts: Partial<AdaptiveOptions> = {}): AdaptiveResult {
  const { threshold, maxTokens, blank } = { ...ADAPTIVE_DEFAULTS, ...opts };
  const logThreshold = Math.log(threshold);
  const ids: number[] = [];
  const kept: boolean[] = [];
  let dropped = 0;
  let cur = -1; // class of the current segment
  let sum = 0; // sum of log-probs of the current segment
  let len = 0;
  const close = () => {
    if (cur >= 0 && cur !== blank) {
      const keep = sum / len >= logThreshold && ids.length < maxTokens;
      if (keep) ids.push(cur);
      else dropped++;
      kept.push(keep);
    }
  };
  for (let t = 0; t < frames; t++) {
    let best = 0;
    for (let v = 1; v < V; v++) if (logProbs[t * V + v] > logProbs[t * V + best]) best = v;
    if (best !== cur) {
      close();
      cur = best;
      sum = 0;
      len = 0;
    }
    sum += logProbs[t * V + best];
    len++;
  }
  close();
  return { ids, dropped, kept };
}
