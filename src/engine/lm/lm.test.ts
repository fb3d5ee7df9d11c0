import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/rng';
import { readArpa, writeArpa } from './arpa';
import { buildKneserNey, modifiedKnDiscounts } from './kneser_ney';
import { lmScore, perplexity, startState, wordIndex, type LmStep, type NgramModel } from './ngram';

// ---- an independent float64 reference: modified Kneser-Ney by the textbook formulas, straight from
// the sentences (substring counts by scanning, no tables shared with the builder), recursively.
function referenceKn(corpus: string[][], N: number) {
  const sents = corpus.map((s) => ['<s>', ...s, '</s>']);
  const vocab = ['<unk>', '</s>', ...new Set(corpus.flat())]; // V': every word but <s>
  const count = (g: string[]) => {
    let c = 0;
    for (const s of sents) for (let i = 0; i + g.length <= s.length; i++) if (g.every((w, k) => s[i + k] === w)) c++;
    return c;
  };
  const leftExtensions = (g: string[]) =>
    new Set(sents.flatMap((s) => s.flatMap((_, i) => (i > 0 && g.every((w, k) => s[i + k] === w) ? [s[i - 1]] : [])))).size;
  const adjustedMemo = new Map<string, number>();
  const adjusted = (g: string[]) => {
    const key = g.join(' ');
    if (!adjustedMemo.has(key)) adjustedMemo.set(key, g.length === N || g[0] === '<s>' ? count(g) : leftExtensions(g));
    return adjustedMemo.get(key)!;
  };
  const grams = (n: number) => {
    const seen = new Map<string, string[]>();
    for (const s of sents) for (let i = 0; i + n <= s.length; i++) seen.set(s.slice(i, i + n).join(' '), s.slice(i, i + n));
    return [...seen.values()].filter((g) => !(n === 1 && g[0] === '<s>'));
  };
  const D: number[][] = [];
  for (let n = 1; n <= N; n++) {
    const nk = [1, 2, 3, 4].map((k) => grams(n).filter((g) => adjusted(g) === k).length);
    const Y = nk[0] / (nk[0] + 2 * nk[1]);
    const d = [1 - (2 * Y * nk[1]) / nk[0], 2 - (3 * Y * nk[2]) / nk[1], 3 - (4 * Y * nk[3]) / nk[2]];
    D.push(nk.includes(0) || d.some((x, k) => !(x >= 0 && x <= k + 1)) ? [0.5, 1, 1.5] : d);
  }
  const disc = (n: number, a: number) => (a === 0 ? 0 : D[n - 1][Math.min(a, 3) - 1]);
  const memo = new Map<string, number>();
  const P = (w: string, h: string[]): number => {
    const key = [...h, w].join(' ');
    if (!memo.has(key)) memo.set(key, Pn(w, h));
    return memo.get(key)!;
  };
  const Pn = (w: string, h: string[]): number => {
    const n = h.length + 1;
    const lower = h.length === 0 ? 1 / vocab.length : P(w, h.slice(1));
    let denom = 0,
      num = 0;
    for (const v of vocab) {
      const a = adjusted([...h, v]);
      denom += a;
      num += disc(n, a);
    }
    if (denom === 0) return lower;
    const a = adjusted([...h, w]);
    return Math.max(a - disc(n, a), 0) / denom + (num / denom) * lower;
  };
  return { vocab, P, D };
}

/** log10 P(w | <s> history) through the model's backoff lookups. */
function modelLogProb(m: NgramModel, history: string[], w: string): number {
  const idx = wordIndex(m);
  const step: LmStep = { state: startState(m) };
  for (const h of history) lmScore(m, step.state, idx.get(h)!, step);
  return lmScore(m, step.state, idx.get(w) ?? m.unk, step);
}

/** Every word sequence over `words` of length 0..k. */
function histories(words: string[], k: number): string[][] {
  let level: string[][] = [[]];
  const all: string[][] = [[]];
  for (let n = 1; n <= k; n++) {
    level = level.flatMap((h) => words.map((w) => [...h, w]));
    all.push(...level);
  }
  return all;
}

function grammarCorpus(seed: number, n: number): string[][] {
  const rng = new Rng(seed);
  const pick = (xs: string[]) => xs[rng.int(0, xs.length - 1)];
  return Array.from({ length: n }, () => {
    const s = [pick(['red', 'blue', 'green']), pick(['box', 'cup', 'box', 'key'])];
    if (rng.next() < 0.6) s.push(pick(['one', 'two', 'two', 'three']));
    if (rng.next() < 0.3) s.unshift('the');
    return s;
  });
}

const TINY = [
  ['a', 'b', 'a'],
  ['a', 'b', 'c'],
  ['b', 'a'],
  ['a', 'c', 'b', 'a'],
  ['c', 'a', 'b'],
];

describe('interpolated modified Kneser-Ney', () => {
  it('discounts from count-of-counts (Chen & Goodman eq. 26), and the fallback where they cannot be estimated', () => {
    // n1..n4 = 10, 4, 2, 1: Y = 10/18; D1 = 1 − 2Y·0.4, D2 = 2 − 3Y·0.5, D3+ = 3 − 4Y·0.5
    const Y = 10 / 18;
    const D = modifiedKnDiscounts(10, 4, 2, 1)!;
    expect(D[0]).toBeCloseTo(1 - 2 * Y * 0.4, 15);
    expect(D[1]).toBeCloseTo(2 - 3 * Y * 0.5, 15);
    expect(D[2]).toBeCloseTo(3 - 4 * Y * 0.5, 15);
    expect(modifiedKnDiscounts(3, 0, 1, 1)).toBeNull();
    expect(modifiedKnDiscounts(10, 1, 10, 1)).toBeNull(); // D2 = 2 − 3·(10/12)·10 < 0
  });

  for (const [name, corpus, order] of [
    ['tiny corpus, order 2', TINY, 2],
    ['tiny corpus, order 3', TINY, 3],
    ['grammar corpus, order 3', grammarCorpus(1, 60), 3],
    ['grammar corpus, order 4', grammarCorpus(2, 60), 4],
  ] as [string, string[][], number][]) {
    it(`${name}: every probability equals the hand computation within 1e-12`, () => {
      const { model, info } = buildKneserNey(corpus, order);
      const ref = referenceKn(corpus, order);
      info.discounts.forEach((d, n) => d.forEach((x, k) => expect(x).toBeCloseTo(ref.D[n][k], 14)));
      const words = ref.vocab.filter((w) => w !== '</s>' && w !== '<unk>');
      for (const h of histories(words, order - 1)) {
        const ctx = ['<s>', ...h].slice(-(order - 1));
        for (const w of ref.vocab) expect(modelLogProb(model, h, w)).toBeCloseTo(Math.log10(ref.P(w, ctx)), 12);
      }
    });
  }
  it('the cases above exercise both estimated discounts and the fallback', () => {
    // 13 words: the unigram and bigram count-of-counts have gaps; the top orders are estimated.
    expect(buildKneserNey(grammarCorpus(1, 60), 3).info.fallback).toEqual([true, true, false]);
    expect(buildKneserNey(grammarCorpus(2, 60), 4).info.fallback).toEqual([true, true, false, false]);
    expect(buildKneserNey(TINY, 3).info.fallback).toContain(true);
  });

  it('every context’s distribution over the predictable words sums to 1 (±1e-9)', () => {
    for (const order of [2, 3, 4]) {
      const { model: m } = buildKneserNey(grammarCorpus(3, 80), order);
      const step: LmStep = { state: 0 };
      const predictable = m.vocab.map((_, w) => w).filter((w) => w !== m.bos);
      // every n-gram of the model as a state (the histories the decoder can be in)
      for (let state = 0; state < m.starts[order - 1]; state++) {
        let s = 0;
        for (const w of predictable) s += Math.pow(10, lmScore(m, state, w, step));
        expect(Math.abs(s - 1)).toBeLessThan(1e-9);
      }
    }
  });

  it('perplexity: 10^(−Σ log10 P / tokens), unknown words scored as <unk>', () => {
    const { model: m } = buildKneserNey(TINY, 2);
    const p = perplexity(m, [['a', 'b'], ['zzz']]);
    const lp =
      modelLogProb(m, [], 'a') +
      modelLogProb(m, ['a'], 'b') +
      modelLogProb(m, ['a', 'b'], '</s>') +
      modelLogProb(m, [], '<unk>') +
      modelLogProb(m, ['<unk>'], '</s>');
    expect(p.tokens).toBe(5);
    expect(p.oov).toBe(1);
    expect(p.log10Prob).toBeCloseTo(lp, 12);
    expect(p.perplexity).toBeCloseTo(Math.pow(10, -lp / 5), 10);
  });

  it('refuses orders outside 2–4 and tokens that cannot be words', () => {
    expect(() => buildKneserNey(TINY, 5)).toThrow(/order must be 2, 3 or 4/);
    expect(() => buildKneserNey([['a', '<s>']], 2)).toThrow(/sentence 1: the token "<s>"/);
  });
});

describe('ARPA', () => {
  it('write → read gives the same model, every score bit for bit', () => {
    for (const order of [2, 3, 4]) {
      const { model: m } = buildKneserNey(grammarCorpus(order, 50), order);
      const text = writeArpa(m);
      const r = readArpa(text);
      expect(r.vocab).toEqual(m.vocab);
      expect([...r.starts]).toEqual([...m.starts]);
      expect([...r.logProb]).toEqual([...m.logProb]);
      expect([...r.backoff]).toEqual([...m.backoff]);
      expect([...r.context]).toEqual([...m.context]);
      expect([...r.suffix]).toEqual([...m.suffix]);
      expect(writeArpa(r)).toBe(text);
      const a: LmStep = { state: 0 },
        b: LmStep = { state: 0 };
      for (let s = 0; s < m.starts[order - 1]; s++) for (let w = 0; w < m.vocab.length; w++) expect(lmScore(r, s, w, a)).toBe(lmScore(m, s, w, b));
    }
  });

  // A KenLM-style file: a header before \data\, spaces and tabs, -0 backoffs, <unk> first.
  const KENLM = `This file was written by hand in KenLM's layout
\\data\\
ngram 1=5
ngram 2=4

\\1-grams:
-1.0\t<unk>\t0
-99\t<s>\t-0.30103
-0.5\t</s>\t0
-0.6\ta\t-0.2
-0.7\tb\t-0.1

\\2-grams:
-0.2\t<s> a
-0.3\ta b
-0.25\tb </s>
-0.4\ta </s>

\\end\\
`;
  it('reads a KenLM-style file and scores by backoff', () => {
    const m = readArpa(KENLM);
    const idx = wordIndex(m);
    const step: LmStep = { state: startState(m) };
    expect(lmScore(m, step.state, idx.get('a')!, step)).toBeCloseTo(-0.2, 15);
    expect(lmScore(m, step.state, idx.get('b')!, step)).toBeCloseTo(-0.3, 15);
    expect(lmScore(m, step.state, idx.get('a')!, step)).toBeCloseTo(-0.1 + -0.6, 15); // b a unseen: bo(b) + p(a)
    expect(lmScore(m, startState(m), idx.get('b')!, step)).toBeCloseTo(-0.30103 + -0.7, 15);
  });

  const TRIGRAM = [
    '\\data\\',
    'ngram 1=4',
    'ngram 2=2',
    'ngram 3=1',
    '',
    '\\1-grams:',
    '-1\t<unk>',
    '-99\t<s>\t-0.3',
    '-0.5\t</s>',
    '-0.6\ta\t-0.2',
    '',
    '\\2-grams:',
    '-0.2\t<s> a\t-0.1',
    '-0.3\ta a\t-0.1',
    '',
    '\\3-grams:',
    '-0.1\t<s> a a',
    '\\end\\',
    '',
  ].join('\n');
  it('a trigram file whose n-grams have their contexts and suffixes reads', () => {
    expect(readArpa(TRIGRAM).starts[3]).toBe(7);
  });
  const broken = (from: string, to: string) => {
    expect(KENLM.includes(from)).toBe(true);
    return KENLM.replace(from, to);
  };
  it.each([
    ['counts that disagree', broken('ngram 2=4', 'ngram 2=5'), /line 13: \\2-grams: has 4 entries but \\data\\ says ngram 2=5/],
    ['a missing section', broken('\\2-grams:', ''), /line 14: missing section \\2-grams:/],
    ['no \\data\\', broken('\\data\\', ''), /no \\data\\ line/],
    ['no \\end\\', broken('\\end\\', ''), /end of file: expected \\end\\/],
    ['a non-numeric probability', broken('-0.3\ta b', 'x0.3\ta b'), /line 15: the log10 probability "x0.3" is not a number/],
    ['a non-numeric backoff', broken('-0.6\ta\t-0.2', '-0.6\ta\tNaN'), /line 10: the backoff weight "NaN" is not a number/],
    ['a non-numeric count', broken('ngram 1=5', 'ngram 1=five'), /line 3: the count of 1-grams "five"/],
    [
      'backoff without a lower order (suffix absent)',
      TRIGRAM.replace('<s> a a', '<s> a </s>'),
      /line 17: the 3-gram '<s> a <\/s>': backoff without a lower order/,
    ],
    ['a context absent', TRIGRAM.replace('<s> a a', 'a </s> a'), /line 17: the 3-gram 'a <\/s> a': its context/],
    ['a word not among the unigrams', broken('-0.3\ta b', '-0.3\ta q'), /line 15: the word "q" is not among the unigrams/],
    ['a backoff on the highest order', broken('-0.3\ta b', '-0.3\ta b\t-0.1'), /line 15: a backoff weight on a 2-gram, the highest order/],
    ['a missing field', broken('-0.3\ta b', '-0.3\ta'), /line 15: .*2 words.*it has 2 fields/],
    ['a duplicate n-gram', broken('-0.4\ta </s>', '-0.4\ta b'), /line 17: the 2-gram 'a b': it is listed twice/],
    ['no <s>', broken('-99\t<s>\t-0.30103', '-99\tc\t-0.30103').replace('<s> a', 'c a'), /line 6: the unigrams have no <s>/],
  ])('refuses %s, naming the line', (_, text, re) => {
    expect(() => readArpa(text)).toThrow(re);
  });
});
