import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/rng';
import { adaptiveDecode } from './adaptive';
import { beamSearchDecode } from './beam';
import { greedyDecode } from './greedy';

const log = (rows: number[][]) => rows.flat().map(Math.log);

describe('adaptive decoding', () => {
  it('keeps confident tokens and drops a weak one (hand-worked)', () => {
    // frames: a(.9) a(.8) _(.9) b(.4) _(.9) c(.7)  → greedy: a b c; b's confidence 0.4 < 0.5
    const P = [
      [0.05, 0.9, 0.03, 0.02],
      [0.1, 0.8, 0.05, 0.05],
      [0.9, 0.05, 0.03, 0.02],
      [0.3, 0.2, 0.4, 0.1],
      [0.9, 0.05, 0.03, 0.02],
      [0.1, 0.1, 0.1, 0.7],
    ];
    expect(greedyDecode([1, 1, 0, 2, 0, 3], 6, [6])).toEqual([[1, 2, 3]]);
    expect(adaptiveDecode(log(P), 6, 4)).toEqual({ ids: [1, 3], dropped: 1, kept: [true, false, true] });
    expect(adaptiveDecode(log(P), 6, 4, { threshold: 0.3 })).toEqual({ ids: [1, 2, 3], dropped: 0, kept: [true, true, true] });
  });
  it('length normalisation: confidence is the geometric mean over the token frames', () => {
    // One token over two frames with p = 0.9 and 0.3: geometric mean 0.5196 (arithmetic: 0.6).
    const P = [
      [0.04, 0.9, 0.03, 0.03],
      [0.25, 0.3, 0.2, 0.25],
    ];
    expect(adaptiveDecode(log(P), 2, 4, { threshold: 0.51 })).toEqual({ ids: [1], dropped: 0, kept: [true] });
    expect(adaptiveDecode(log(P), 2, 4, { threshold: 0.53 })).toEqual({ ids: [], dropped: 1, kept: [false] });
  });
});

describe('prefix beam search', () => {
  it('finds the most probable labelling where greedy does not (hand-worked)', () => {
    // Two frames over {blank, a}: P(blank)=0.6, P(a)=0.4 each. Greedy path "_ _" → "" (p 0.36),
    // but "a" collects a_ + _a + aa = 0.24 + 0.24 + 0.16 = 0.64.
    const P = [
      [0.6, 0.4],
      [0.6, 0.4],
    ];
    expect(greedyDecode([0, 0], 2, [2])).toEqual([[]]);
    expect(beamSearchDecode(log(P), 2, 2, 4)).toEqual([1]);
  });
  it('keeps repeats separated by a blank', () => {
    const P = [
      [0.01, 0.98, 0.01],
      [0.98, 0.01, 0.01],
      [0.01, 0.98, 0.01],
    ];
    expect(beamSearchDecode(log(P), 3, 3, 4)).toEqual([1, 1]);
  });
  it('with width 1 equals greedy on peaky outputs (top class ≥ 0.9 at every frame, as in a trained CTC model)', () => {
    const rng = new Rng(4);
    for (let n = 0; n < 200; n++) {
      const T = rng.int(1, 12),
        V = rng.int(2, 6);
      const best: number[] = [];
      const rows: number[][] = [];
      for (let t = 0; t < T; t++) {
        const c = rng.int(0, V - 1);
        best.push(c);
        const rest = Array.from({ length: V }, () => rng.next());
        const s = rest.reduce((a, b) => a + b, 0) - rest[c];
        const major = 0.9 + 0.099 * rng.next();
        rows.push(rest.map((x, v) => (v === c ? major : ((1 - major) * x) / s)));
      }
      expect(beamSearchDecode(log(rows), T, V, 1)).toEqual(greedyDecode(best, T, [T])[0]);
    }
  });
});
