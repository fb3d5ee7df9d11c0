import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/rng';
import { wer } from '../metrics/wer';
import { buildKneserNey } from '../lm/kneser_ney';
import { idsToTokens } from './greedy';
import { lmBeamSearch, wordFusion } from './lm_beam';
import { betterPoint, tuneAlphaBeta } from './tune_lm';

describe('α/β tuning', () => {
  it('finds an LM weight that repairs a planted ambiguity, and returns the WER surface', async () => {
    // "red" and "bed" sound alike; the outputs lean to "bed" by a little; the LM only knows "red".
    const vocab = ['red', 'bed', 'cup', 'box'];
    const { model } = buildKneserNey(
      [
        ['red', 'cup'],
        ['red', 'box'],
        ['red', 'cup', 'box'],
      ],
      2,
    );
    const fusion = wordFusion(model, ['<blank>', ...vocab]);
    const rng = new Rng(7);
    const set = Array.from({ length: 12 }, () => {
      const obj = rng.int(3, 4);
      const lean = 0.02 + 0.1 * rng.next();
      const P = [
        [0.04, 0.46 - lean, 0.46 + lean, 0.02, 0.02],
        [0.92, 0.02, 0.02, 0.02, 0.02],
        [0.04, 0.02, 0.02, obj === 3 ? 0.9 : 0.02, obj === 4 ? 0.9 : 0.02],
      ];
      return { ref: `red ${vocab[obj - 1]}`, lp: Float64Array.from(P.flat(), Math.log) };
    });
    let calls = 0;
    const evaluate = (alpha: number, beta: number) => {
      calls++;
      const hyps = set.map((u) => idsToTokens(lmBeamSearch(u.lp, 3, 5, { alpha, beta }, fusion).ids, vocab).join(' '));
      return wer(
        set.map((u) => u.ref),
        hyps,
      ).rate;
    };
    expect(evaluate(0, 0)).toBe(0.5); // every "red" heard as "bed"
    const r = await tuneAlphaBeta(evaluate);
    expect(r.wer).toBe(0);
    expect(r.alpha).toBeGreaterThan(0);
    expect(calls - 1).toBe(r.surface.length); // memoised: no point evaluated twice
    expect(r.surface.length).toBeGreaterThanOrEqual(35); // the 7 × 5 coarse grid, then refinements
    expect(r.surface.filter((p) => betterPoint(p, r))).toEqual([]);
    expect(r.surface.some((p) => p.alpha === 0 && p.wer === 0.5)).toBe(true);
  });

  it('refines around the best point at half steps and breaks ties toward smaller α, then β nearer 0', async () => {
    // a bowl with its minimum at (0.6, 0.4): the grid finds (0.5, 0); round 1 (steps 0.125, 0.25)
    // moves to (0.625, 0.25), round 2 (0.0625, 0.125) to (0.625, 0.375)
    const bowl = (a: number, b: number) => Math.round(((a - 0.6) ** 2 + (b - 0.4) ** 2) * 1e6) / 1e6;
    const r = await tuneAlphaBeta(bowl);
    expect([r.alpha, r.beta]).toEqual([0.625, 0.375]);
    const flat = await tuneAlphaBeta(() => 0.3, { refineRounds: 1 });
    expect([flat.alpha, flat.beta]).toEqual([0, 0]);
  });
});
