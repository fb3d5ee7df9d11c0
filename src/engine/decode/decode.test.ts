import { describe, expect, it } from 'vitest';
import { greedyDecode, idsToTokens } from './greedy';
import { cer, editCounts, wer } from '../metrics/wer';

describe('greedyDecode', () => {
  it('merges repeats and drops blanks, keeping repeats separated by a blank', () => {
    // frames: a a _ a b b _ _ c   → a a b c
    expect(greedyDecode([1, 1, 0, 1, 2, 2, 0, 0, 3], 9, [9])).toEqual([[1, 1, 2, 3]]);
  });
  it('respects per-row lengths in a padded batch', () => {
    const best = [1, 2, 2, 3, /* row 2 */ 0, 4, 4, 1];
    expect(greedyDecode(best, 4, [2, 4])).toEqual([
      [1, 2],
      [4, 1],
    ]);
  });
  it('all blanks decode to nothing', () => {
    expect(greedyDecode([0, 0, 0], 3, [3])).toEqual([[]]);
  });
  it('maps class ids to tokens (class 0 is blank)', () => {
    expect(idsToTokens([1, 3], ['A', 'B', 'C'])).toEqual(['A', 'C']);
  });
});

describe('WER / CER', () => {
  it('counts substitutions, deletions and insertions', () => {
    expect(editCounts(['a', 'b', 'c', 'd'], ['a', 'x', 'c'])).toEqual({ S: 1, D: 1, I: 0, N: 4 });
    expect(editCounts(['a', 'b'], ['a', 'b', 'c', 'd'])).toEqual({ S: 0, D: 0, I: 2, N: 2 });
    expect(editCounts([], ['a'])).toEqual({ S: 0, D: 0, I: 1, N: 0 });
  });
  it('known corpus values', () => {
    const r = wer(['the cat sat on the mat', 'hello world'], ['the cat sit on mat', 'hello world again']);
    // S=1 (sat→sit), D=1 (the), I=1 (again); N = 6 + 2
    expect(r).toMatchObject({ S: 1, D: 1, I: 1, N: 8 });
    expect(r.rate).toBeCloseTo(3 / 8, 12);
    expect(wer(['a b'], ['a b']).rate).toBe(0);
    expect(wer(['a b'], ['']).rate).toBe(1);
  });
  it('CER over characters', () => {
    const r = cer(['kitten'], ['sitting']);
    expect(r.S + r.D + r.I).toBe(3); // the classic Levenshtein example
    expect(r.rate).toBeCloseTo(3 / 6, 12);
  });
});

describe('alignWords', () => {
  it('marks substitutions, deletions and insertions consistently with the counts', async () => {
    const { alignWords } = await import('../../lib/align');
    const cases: [string, string, string[]][] = [
      ['a b c d', 'a x c d e', ['ok', 'sub', 'ok', 'ok', 'ins']],
      ['a b c d', 'a c d', ['ok', 'del', 'ok', 'ok']],
      ['a b', '', ['del', 'del']],
    ];
    for (const [r, h, want] of cases) {
      const ref = r.split(' '),
        hyp = h ? h.split(' ') : [];
      const ops = alignWords(ref, hyp);
      expect(ops.map((o) => o.op)).toEqual(want);
      const c = editCounts(ref, hyp);
      expect([c.S, c.D, c.I]).toEqual(['sub', 'del', 'ins'].map((k) => want.filter((x) => x === k).length));
    }
  });
});
