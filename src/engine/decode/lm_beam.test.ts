import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/rng';
import { buildKneserNey } from '../lm/kneser_ney';
import { sentenceLogProb, wordIndex, type NgramModel } from '../lm/ngram';
import { beamSearchDecode } from './beam';
import { lexiconFromModel } from './lexicon';
import { lmBeamSearch, wordFusion, type Fusion } from './lm_beam';

/** Random log-softmax rows [T, C], float64. */
function randomLogProbs(rng: Rng, T: number, C: number, peak = 3): Float64Array {
  const out = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    const z = Array.from({ length: C }, () => peak * rng.normal());
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0));
    z.forEach((x, c) => (out[t * C + c] = x - lse));
  }
  return out;
}

/** Brute force: every path of T frames over C classes, collapsed (repeats merged, blanks dropped), summed by labelling. */
function labellings(lp: Float64Array, T: number, C: number, blank = 0): Map<string, number> {
  const P = new Map<string, number>();
  const path = new Array<number>(T).fill(0);
  for (let k = 0; k < C ** T; k++) {
    let r = k,
      logp = 0;
    for (let t = 0; t < T; t++) {
      path[t] = r % C;
      r = Math.floor(r / C);
      logp += lp[t * C + path[t]];
    }
    const y = path.filter((c, t) => c !== blank && (t === 0 || c !== path[t - 1]));
    P.set(y.join(','), (P.get(y.join(',')) ?? 0) + Math.exp(logp));
  }
  return P;
}
const ids = (key: string) => (key === '' ? [] : key.split(',').map(Number));

/** Best labelling under score(y) = ln P_CTC(y) + extra(y); ties: shorter, then smaller ids. */
function bruteBest(P: Map<string, number>, extra: (y: number[]) => number): { y: number[]; score: number } {
  let best: { y: number[]; score: number } = { y: [], score: -Infinity };
  for (const [k, p] of P) {
    const y = ids(k);
    const s = Math.log(p) + extra(y);
    const tieWins = s === best.score && (y.length < best.y.length || (y.length === best.y.length && y.join() < best.y.join()));
    if (s > best.score || tieWins) best = { y, score: s };
  }
  return best;
}

const WIDE = { beamWidth: 100000, prune: -Infinity };

describe('LM-fused prefix beam search', () => {
  it('α = β = 0, wide beam: the best prefix is the brute-force best labelling (sum over alignments), T ≤ 6, C ≤ 4', () => {
    const rng = new Rng(23);
    for (let n = 0; n < 150; n++) {
      const T = rng.int(1, 6),
        C = rng.int(2, 4);
      const lp = randomLogProbs(rng, T, C, rng.int(1, 4));
      const P = labellings(lp, T, C);
      const want = bruteBest(P, () => 0);
      const got = lmBeamSearch(lp, T, C, { ...WIDE, alpha: 0, beta: 0 });
      expect(got.ids).toEqual(want.y);
      expect(got.ctcLogProb).toBeCloseTo(want.score, 9);
      // the LM-free beam search of beam.ts agrees at a width that keeps every prefix
      expect(beamSearchDecode(lp, T, C, 100000, 0, -Infinity)).toEqual(want.y);
    }
  });

  it('word vocabulary with a 2- or 3-gram LM: equals brute-force rescoring of every prefix (α, β random)', () => {
    const rng = new Rng(5);
    const words = ['red', 'cup', 'box'];
    for (let n = 0; n < 120; n++) {
      const T = rng.int(1, 6),
        C = rng.int(2, 4);
      const corpus = Array.from({ length: 8 }, () => Array.from({ length: rng.int(1, 4) }, () => words[rng.int(0, 2)]));
      const { model } = buildKneserNey(corpus, rng.int(2, 3));
      // class 1.. = words (one class may be a word the LM lacks → <unk>)
      const classes = ['<blank>', ...words.slice(0, C - 1)];
      if (C === 4 && rng.next() < 0.5) classes[3] = 'zebra';
      const fusion = wordFusion(model, classes);
      const alpha = 2 * rng.next(),
        beta = 4 * rng.next() - 2;
      const lp = randomLogProbs(rng, T, C, 2);
      const idx = wordIndex(model);
      const lmOf = (y: number[]) =>
        Math.LN10 *
        sentenceLogProb(
          model,
          y.map((c) => idx.get(classes[c]) ?? model.unk),
        );
      const want = bruteBest(labellings(lp, T, C), (y) => alpha * lmOf(y) + beta * y.length);
      const got = lmBeamSearch(lp, T, C, { ...WIDE, alpha, beta }, fusion);
      expect(got.ids).toEqual(want.y);
      expect(got.score).toBeCloseTo(want.score, 9);
      expect(got.lmLogProb).toBeCloseTo(lmOf(want.y), 9);
    }
  });

  /** Characters a, b and the separator |: words are the runs between separators. */
  function charCase(model: NgramModel, constrain: boolean): Fusion {
    const classOf = new Map([
      ['a', 1],
      ['b', 2],
    ]);
    return { lm: model, classWord: null, separator: 3, lexicon: lexiconFromModel(model, classOf), constrain };
  }
  const spell = (y: number[]) =>
    y
      .map((c) => ' ab|'[c])
      .join('')
      .split('|')
      .filter((w) => w !== '');

  it('character vocabulary with a lexicon, constrained or not: equals brute-force rescoring', () => {
    const rng = new Rng(9);
    const { model } = buildKneserNey(
      [
        ['ab', 'a'],
        ['ba', 'ab'],
        ['a', 'ab', 'ab'],
        ['bb', 'a'],
      ],
      2,
    );
    const known = new Set(['ab', 'a', 'ba', 'bb']);
    const idx = wordIndex(model);
    for (let n = 0; n < 120; n++) {
      const T = rng.int(1, 6);
      const constrain = n % 2 === 0;
      const fusion = charCase(model, constrain);
      const alpha = 2 * rng.next(),
        beta = 4 * rng.next() - 2;
      const lp = randomLogProbs(rng, T, 4, 2);
      const want = bruteBest(labellings(lp, T, 4), (y) => {
        const ws = spell(y);
        if (constrain && ws.some((w) => !known.has(w))) return -Infinity;
        return (
          alpha *
            Math.LN10 *
            sentenceLogProb(
              model,
              ws.map((w) => idx.get(w) ?? model.unk),
            ) +
          beta * ws.length
        );
      });
      const got = lmBeamSearch(lp, T, 4, { ...WIDE, alpha, beta }, fusion);
      expect(got.ids).toEqual(want.y);
      expect(got.score).toBeCloseTo(want.score, 9);
    }
  });

  it('ties are broken by the prefix: shorter first, then smaller class ids', () => {
    // uniform outputs: one frame over {blank, 1, 2}: '', [1], [2] all 1/3 → []
    const u = (T: number, C: number) => new Float64Array(T * C).fill(-Math.log(C));
    expect(lmBeamSearch(u(1, 3), 1, 3, { alpha: 0, beta: 0, prune: -Infinity }).ids).toEqual([]);
    // two frames: [1] and [2] each 3/9 (the best), → [1]
    expect(lmBeamSearch(u(2, 3), 2, 3, { alpha: 0, beta: 0, prune: -Infinity }).ids).toEqual([1]);
    // the same with the classes' roles swapped in the input order: still [1]
    const r = lmBeamSearch(u(2, 3), 2, 3, { alpha: 0, beta: 0, prune: -Infinity, beamWidth: 2 });
    expect(r.ids).toEqual([1]);
    // [2] leads after frame 1, so [2, 1] is made before [1, 2]; both score ln 0.3 + ln 0.5 + 2β exactly
    // (the same two terms added): the tie goes to [1, 2], not to the first made.
    const row = [0.2, 0.3, 0.5].map(Math.log);
    const words = wordFusion(buildKneserNey([['x', 'y']], 2).model, ['<blank>', 'x', 'y']); // β counts words (α 0: the LM itself does not)
    const pair = lmBeamSearch(Float64Array.from([...row, ...row]), 2, 3, { alpha: 0, beta: 5 }, words);
    expect(pair.ids).toEqual([1, 2]);
    expect(pair.score).toBe(Math.log(0.3) + Math.log(0.5) + 10);
  });

  it('empty and infeasible outputs', () => {
    expect(lmBeamSearch(new Float64Array(0), 0, 3, {})).toMatchObject({ ids: [], feasible: true, ctcLogProb: 0 });
    const allBlank = new Float64Array([Math.log(0.98), Math.log(0.01), Math.log(0.01)]);
    expect(lmBeamSearch(allBlank, 1, 3, {}).ids).toEqual([]);
    // constrained to the words ab, a, ba, bb; the output spells "b" then stops at width 1: no word
    const { model } = buildKneserNey([['ab', 'a', 'ba', 'bb']], 2);
    const fusion = charCase(model, true);
    const P = [
      [0.01, 0.01, 0.97, 0.01],
      [0.01, 0.01, 0.97, 0.01],
    ].flat();
    const lp = Float64Array.from(P, Math.log);
    const r = lmBeamSearch(lp, 2, 4, { beamWidth: 1, alpha: 0.5, beta: 0 }, fusion);
    expect(r).toMatchObject({ ids: [], feasible: false, score: -Infinity });
    // a wider beam keeps the empty prefix, which is a feasible (empty) sentence; unconstrained, "b" is <unk>
    expect(lmBeamSearch(lp, 2, 4, { beamWidth: 4, alpha: 0.5, beta: 0 }, fusion)).toMatchObject({ feasible: true });
    expect(lmBeamSearch(lp, 2, 4, { beamWidth: 1, alpha: 0.5, beta: 0 }, charCase(model, false)).ids).toEqual([2]);
    expect(() => lmBeamSearch(lp, 3, 4, {})).toThrow(/cannot hold 3 frames/);
  });

  it('the LM overturns an acoustically ambiguous word (planted)', () => {
    // classes: 1 = "red", 2 = "bed"; the LM has only seen "red cup"; frame 1 prefers "bed" slightly
    const { model } = buildKneserNey(
      [
        ['red', 'cup'],
        ['red', 'cup'],
        ['red', 'box'],
      ],
      2,
    );
    const classes = ['<blank>', 'red', 'bed', 'cup'];
    const P = [
      [0.05, 0.45, 0.48, 0.02],
      [0.9, 0.03, 0.03, 0.04],
      [0.05, 0.02, 0.02, 0.91],
    ].flat();
    const lp = Float64Array.from(P, Math.log);
    expect(lmBeamSearch(lp, 3, 4, { alpha: 0, beta: 0 }).ids).toEqual([2, 3]);
    expect(lmBeamSearch(lp, 3, 4, { alpha: 0.5, beta: 0 }, wordFusion(model, classes)).ids).toEqual([1, 3]);
  });
});
