// The fixture the twin's LM and decoder are checked against (python/tests/test_lm.py,
// test_decode.py): a corpus and the ARPA the lab builds from it, LM scores of sentences, a
// KenLM-style ARPA's scores, and LM-fused beam search results (word and character vocabularies,
// with and without a constraining lexicon) with an α/β tuning run, all computed here by the lab.
// fixtures/lm_decode.json must equal what the lab computes now (rewrite it with
// UPDATE_LM_FIXTURES=1 after a deliberate change); the twin then asserts the same numbers.

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/rng';
import { wer } from '../metrics/wer';
import { lexiconFromModel } from '../decode/lexicon';
import { lmBeamSearch, wordFusion, type Fusion, type LmBeamOptions } from '../decode/lm_beam';
import { tuneAlphaBeta } from '../decode/tune_lm';
import { readArpa, writeArpa } from './arpa';
import { buildKneserNey } from './kneser_ney';
import { lmScore, perplexity, sentenceLogProb, startState, wordIndex, type LmStep, type NgramModel } from './ngram';

const FIXTURE = new URL('./fixtures/lm_decode.json', import.meta.url);

const WORDS = { colour: ['red', 'green', 'blue'], object: ['cup', 'box', 'key', 'ball'], number: ['one', 'two', 'three'] };

function commands(rng: Rng, n: number): string[][] {
  const pick = (xs: string[]) => xs[rng.int(0, xs.length - 1)];
  return Array.from({ length: n }, () => {
    const s = [pick(WORDS.colour), pick(WORDS.object)];
    if (rng.next() < 0.7) s.push(pick(WORDS.number));
    if (rng.next() < 0.2) s.unshift('take');
    return s;
  });
}

/** Log-softmax rows [T, C] rounded to float32 (as model outputs are), leaning toward `truth` classes. */
function outputs(rng: Rng, truth: number[], T: number, C: number): number[] {
  const out: number[] = [];
  const at = (t: number) => truth[Math.floor((t * truth.length) / T)];
  for (let t = 0; t < T; t++) {
    const z = Array.from({ length: C }, () => rng.normal());
    if (t % 3 !== 2) z[at(t)] += 3;
    else z[0] += 3;
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, x) => s + Math.exp(x - m), 0));
    for (const x of z) out.push(Math.fround(x - lse));
  }
  return out;
}

const KENLM_STYLE = [
  'written by hand in the layout of KenLM',
  '\\data\\',
  'ngram 1=5',
  'ngram 2=4',
  'ngram 3=2',
  '',
  '\\1-grams:',
  '-1.2\t<unk>\t0',
  '-99\t<s>\t-0.5',
  '-0.6\t</s>\t0',
  '-0.5\tred\t-0.25',
  '-0.7\tcup\t-0.1',
  '',
  '\\2-grams:',
  '-0.2\t<s> red\t-0.1',
  '-0.3\tred cup\t-0.05',
  '-0.25\tcup </s>',
  '-0.9\tred red',
  '',
  '\\3-grams:',
  '-0.1\t<s> red cup',
  '-0.15\tred cup </s>',
  '',
  '\\end\\',
  '',
].join('\n');

function scoreQueries(m: NgramModel, sentences: string[][]) {
  const idx = wordIndex(m);
  return sentences.map((s) => {
    const step: LmStep = { state: startState(m) };
    const ids = s.map((w) => idx.get(w) ?? m.unk);
    const scores = [...ids, m.eos].map((w) => lmScore(m, step.state, w, step));
    return { sentence: s, scores, total: sentenceLogProb(m, ids) };
  });
}

async function compute() {
  const rng = new Rng(2323);
  const train = commands(rng, 40);
  const val = commands(rng, 10);
  const { model, info } = buildKneserNey(train, 3);
  const probe = [...val, ['take', 'zebra', 'cup'], ['one'], []];
  const kenlm = readArpa(KENLM_STYLE);

  // Word vocabulary: the 11 words (one the LM lacks: "zebra" replaces "take") → C = 12.
  const classes = ['<blank>', ...WORDS.colour, ...WORDS.object, ...WORDS.number, 'zebra'];
  const fusion = wordFusion(model, classes);
  const index = new Map(classes.map((c, k) => [c, k]));
  const utts = commands(rng, 8).map((s, k) => {
    const truth = s.map((w) => index.get(w) ?? 11);
    const T = 6 + 3 * truth.length;
    return { id: `u${k}`, reference: s.join(' '), T, logProbs: outputs(rng, truth, T, classes.length) };
  });
  const settings: Partial<LmBeamOptions>[] = [
    { alpha: 0, beta: 0 },
    { alpha: 0.8, beta: 1.5 },
    { alpha: 2, beta: -0.5, beamWidth: 4 },
    { alpha: 0.5, beta: 1, beamWidth: 16, prune: Math.log(1e-2) },
  ];
  const wordCases = settings.map((opts) => ({
    options: opts,
    results: utts.map((u) => lmBeamSearch(u.logProbs, u.T, classes.length, opts, fusion)),
  }));
  const evaluate = (alpha: number, beta: number) =>
    wer(
      utts.map((u) => u.reference),
      utts.map((u) =>
        lmBeamSearch(u.logProbs, u.T, classes.length, { alpha, beta }, fusion)
          .ids.map((c) => classes[c])
          .join(' '),
      ),
    ).rate;
  const tune = await tuneAlphaBeta(evaluate, { refineRounds: 1 });

  // Character vocabulary: letters of the words and '|' between words.
  const letters = [...new Set(train.flat().join(''))].sort();
  const chars = ['<blank>', ...letters, '|'];
  const sep = chars.length - 1;
  const classOf = new Map(chars.map((c, k) => [c, k]));
  const charUtts = commands(rng, 4).map((s, k) => {
    const truth = [...s.join('|')].map((c) => classOf.get(c) as number);
    const T = 2 * truth.length + 2;
    return { id: `c${k}`, reference: s.join(' '), T, logProbs: outputs(rng, truth, T, chars.length) };
  });
  const lexicon = lexiconFromModel(model, classOf);
  const charCases = [false, true].map((constrain) => {
    const f: Fusion = { lm: model, classWord: null, separator: sep, lexicon, constrain };
    return {
      constrain,
      options: { alpha: 0.7, beta: 0.5 },
      results: charUtts.map((u) => lmBeamSearch(u.logProbs, u.T, chars.length, { alpha: 0.7, beta: 0.5 }, f)),
    };
  });

  // Uniform outputs: every prefix of a length ties, so the tie-break alone decides.
  const uniform = Array.from({ length: 3 * classes.length }, () => -Math.log(classes.length));
  const ties = [
    { alpha: 0, beta: 0 },
    { alpha: 0, beta: 0, beamWidth: 3 },
  ].map((opts) => ({ options: opts, T: 3, logProbs: uniform, result: lmBeamSearch(uniform, 3, classes.length, opts, fusion) }));
  // [2] leads after frame 1, so [2, 1] is made first; [1, 2] ties with it exactly and must win.
  const row = classes.map((_, c) => Math.log(c === 1 ? 0.3 : c === 2 ? 0.5 : 0.2 / (classes.length - 2)));
  const pairTie = { alpha: 0, beta: 5 };
  ties.push({ options: pairTie, T: 2, logProbs: [...row, ...row], result: lmBeamSearch([...row, ...row], 2, classes.length, pairTie, fusion) });

  return {
    ties,
    lm: {
      order: 3,
      train,
      val,
      arpa: writeArpa(model),
      discounts: info.discounts,
      fallback: info.fallback,
      queries: scoreQueries(model, probe),
      perplexity: perplexity(model, val),
    },
    kenlm: { arpa: KENLM_STYLE, queries: scoreQueries(kenlm, [['red', 'cup'], ['red', 'red', 'cup'], ['cup', 'red'], ['zebra']]) },
    words: { classes, utterances: utts, cases: wordCases, tune },
    chars: { classes: chars, separator: sep, utterances: charUtts, cases: charCases },
  };
}

describe('the twin’s LM and decoding fixture', () => {
  it('fixtures/lm_decode.json holds what the lab computes (rewrite with UPDATE_LM_FIXTURES=1); python/tests/test_lm.py and test_decode.py assert it', async () => {
    const now = JSON.parse(JSON.stringify(await compute()));
    if (process.env.UPDATE_LM_FIXTURES) {
      // written as prettier formats it, so the repository's format check passes
      const prettier = await import('prettier');
      const options = (await prettier.resolveConfig(fileURLToPath(FIXTURE))) ?? {};
      writeFileSync(FIXTURE, await prettier.format(JSON.stringify(now), { ...options, parser: 'json' }));
    }
    const committed = JSON.parse(readFileSync(FIXTURE, 'utf8'));
    expect(committed).toEqual(now);
    // the cases are not degenerate: the LM changes some hypotheses, and the lexicon some
    const ids = (c: { results: { ids: number[] }[] }) => JSON.stringify(c.results.map((r) => r.ids));
    expect(ids(now.words.cases[0])).not.toBe(ids(now.words.cases[1]));
    expect(ids(now.chars.cases[0])).not.toBe(ids(now.chars.cases[1]));
  });
});
