// CTC prefix beam search (Hannun et al. 2014, "First-pass large vocabulary continuous speech
// recognition using bi-directional recurrent DNNs", Algorithm 1), without a language model.
// Each prefix keeps the probability of ending in a blank and in a non-blank, in log space.

import { logAddExp } from '../ctc/ctc_reference';

interface Beam {
  prefix: number[];
  pb: number; // log P(prefix, last emitted frame was blank)
  pnb: number; // log P(prefix, last frame emitted the prefix's last token)
}

const key = (p: number[]) => p.join(',');

/** logProbs: [T, V] of one sample, `frames` valid rows. Returns the best prefix's class ids. */
export function beamSearchDecode(logProbs: ArrayLike<number>, frames: number, V: number, beamWidth = 8, blank = 0, prune = Math.log(1e-4)): number[] {
  // Classes below `prune` (log-probability) at a frame are not extended: with large vocabularies
  // (1000+ glosses) almost all of them are, and they cannot change the best prefixes.
  let beams: Beam[] = [{ prefix: [], pb: 0, pnb: -Infinity }];
  for (let t = 0; t < frames; t++) {
    const next = new Map<string, Beam>();
    const get = (prefix: number[]) => {
      const k = key(prefix);
      let b = next.get(k);
      if (!b) {
        b = { prefix, pb: -Infinity, pnb: -Infinity };
        next.set(k, b);
      }
      return b;
    };
    for (const b of beams) {
      const total = logAddExp(b.pb, b.pnb);
      const last = b.prefix.length ? b.prefix[b.prefix.length - 1] : -1;
      for (let c = 0; c < V; c++) {
        const p = logProbs[t * V + c];
        if (p < prune && c !== blank) continue;
        if (c === blank) {
          const nb = get(b.prefix);
          nb.pb = logAddExp(nb.pb, total + p);
        } else if (c === last) {
          // Repeat without a blank in between collapses into the same prefix...
          const same = get(b.prefix);
          same.pnb = logAddExp(same.pnb, b.pnb + p);
          // ...after a blank it is a new token.
          const ext = get([...b.prefix, c]);
          ext.pnb = logAddExp(ext.pnb, b.pb + p);
        } else {
          const ext = get([...b.prefix, c]);
          ext.pnb = logAddExp(ext.pnb, total + p);
        }
      }
    }
    beams = [...next.values()].sort((x, y) => logAddExp(y.pb, y.pnb) - logAddExp(x.pb, x.pnb)).slice(0, beamWidth);
  }
  return beams[0].prefix;
}
