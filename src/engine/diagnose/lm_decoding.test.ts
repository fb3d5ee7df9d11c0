import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/rng';
import { buildKneserNey } from '../lm/kneser_ney';
import { inlineDecoder, judgeLm, lmDecodingReport, type DecodeSample, type LmDecodingInput } from './lm_decoding';
import { hypothesesFileName, hypothesesTsv, surfaceGrid } from './lm_report';
import { wer } from '../metrics/wer';

// A grammar: SUBJECT VERB OBJECT, the object fixed by the verb (EAT → BREAD | RICE, DRINK → WATER | MILK).
const SUBJ = ['I', 'YOU', 'WE'];
const OBJ: Record<string, string[]> = { EAT: ['BREAD', 'RICE'], DRINK: ['WATER', 'MILK'] };
const WORDS = [...SUBJ, 'EAT', 'DRINK', 'BREAD', 'RICE', 'WATER', 'MILK'];
const CLASSES = ['<blank>', ...WORDS];
// Each object's confusion: an object of the other verb (the grammar never allows it there).
const CONFUSED: Record<string, string> = { BREAD: 'WATER', RICE: 'MILK', WATER: 'BREAD', MILK: 'RICE' };

function grammarSentence(rng: Rng): string[] {
  const v = rng.int(0, 1) ? 'EAT' : 'DRINK';
  return [SUBJ[rng.int(0, 2)], v, OBJ[v][rng.int(0, 1)]];
}

/**
 * Posteriors of a reference: per word two frames where an object has `pRight` and its confusion
 * `pWrong` (subjects and verbs: the sum less a quarter of the smaller, which another word has), blank the rest, then
 * a blank frame. pWrong > pRight: greedy decoding gets every object wrong.
 */
function posteriors(ref: string[], pRight: number, pWrong: number, rng: Rng): DecodeSample {
  const C = CLASSES.length;
  const rows: number[][] = [];
  for (const w of ref) {
    const right = CLASSES.indexOf(w);
    const wrong = CLASSES.indexOf(CONFUSED[w] ?? WORDS[(WORDS.indexOf(w) + 1 + rng.int(0, WORDS.length - 2)) % WORDS.length]);
    for (let k = 0; k < 2; k++) {
      const p = new Array<number>(C).fill(1e-4);
      const confused = w in CONFUSED;
      p[right] = confused ? pRight : pRight + pWrong - Math.min(pRight, pWrong) / 4;
      p[wrong] = confused ? pWrong : Math.min(pRight, pWrong) / 4;
      p[0] = 1 - p[right] - p[wrong] - 1e-4 * (C - 3);
      rows.push(p);
    }
    const b = new Array<number>(C).fill(1e-4);
    b[0] = 1 - 1e-4 * (C - 1);
    rows.push(b);
  }
  return { logProbs: Float32Array.from(rows.flat(), Math.log), frames: rows.length };
}

function input(lmSentences: string[][], pRight: number, pWrong: number, n = 24): LmDecodingInput {
  const rng = new Rng(7);
  const refs = Array.from({ length: n }, () => grammarSentence(rng));
  const { model } = buildKneserNey(lmSentences, 3);
  return {
    ids: refs.map((_, i) => `s${i}`),
    references: refs.map((r) => r.join(' ')),
    samples: refs.map((r) => posteriors(r, pRight, pWrong, rng)),
    setup: { lm: model, classes: CLASSES, blank: 0, beamWidth: 10, prune: Math.log(1e-4) },
    lmInfo: { id: 'lm-1', name: 'grammar 3-gram', order: 3 },
    split: 'validation',
    tune: { alphas: [0, 0.5, 1, 2], betas: [0, 1], refineRounds: 1 },
  };
}

const run = (x: LmDecodingInput) => lmDecodingReport(x, inlineDecoder(x.setup, x.samples));

describe('the decoding check with an LM', () => {
  it('weak posteriors and a grammar LM: the LM helps, and says so with the numbers', async () => {
    const rng = new Rng(1);
    const r = await run(
      input(
        Array.from({ length: 300 }, () => grammarSentence(rng)),
        0.3,
        0.4,
      ),
    );
    const [greedy, beam, lm] = r.rows;
    expect(r.rows.map((w) => w.decoder)).toEqual(['greedy', 'beam', 'beam + LM']);
    // Greedy gets every object wrong (one substitution per sentence), the LM fixes them.
    expect(greedy.S).toBe(24);
    expect(greedy.wer).toBeCloseTo(1 / 3, 9);
    expect(beam.wer).toBeGreaterThan(0.3);
    expect(lm.wer).toBe(0);
    expect(r.alpha).toBeGreaterThan(0);
    expect(r.helps).toBe(true);
    expect(r.verdict).toContain('The LM helps');
    expect(r.verdict).toContain('0.0%');
    // The rows agree with an independent WER over the hypotheses.
    expect(
      wer(
        r.hypotheses.map((h) => h.reference),
        r.hypotheses.map((h) => h.lm),
      ).rate,
    ).toBe(lm.wer);
    expect(
      wer(
        r.hypotheses.map((h) => h.reference),
        r.hypotheses.map((h) => h.greedy),
      ).rate,
    ).toBe(greedy.wer);
    // The surface holds the grid, (0, 0) is plain beam search.
    expect(r.surface.length).toBeGreaterThanOrEqual(8);
    expect(r.surface.find((p) => p.alpha === 0 && p.beta === 0)!.wer).toBe(beam.wer);
  });

  it('an LM that cannot tell the right object from its confusion (every verb with every object, as often) is not claimed to help', async () => {
    const balanced = SUBJ.flatMap((s) => ['EAT', 'DRINK'].flatMap((v) => ['BREAD', 'RICE', 'WATER', 'MILK'].map((o) => [s, v, o])));
    const r = await run(input([...balanced, ...balanced, ...balanced], 0.3, 0.4));
    expect(r.rows[0].wer).toBeCloseTo(1 / 3, 9);
    expect(r.rows[2].wer).toBeGreaterThan(0.3);
    expect(r.helps).toBe(false);
    expect(r.verdict).toMatch(/The LM does not help/);
  });

  it('a strong model (right words most likely) gains nothing: not claimed, and the LM does not make it worse', async () => {
    const rng = new Rng(3);
    const r = await run(
      input(
        Array.from({ length: 300 }, () => grammarSentence(rng)),
        0.6,
        0.2,
      ),
    );
    expect(r.rows[0].wer).toBe(0);
    expect(r.rows[2].wer).toBe(0);
    expect(r.helps).toBe(false);
  });

  it('judgeLm: needs α > 0, 10% fewer errors than the word bonus alone, and at least 2 words', () => {
    const p = (alpha: number, wer: number) => ({ alpha, beta: 1, wer });
    expect(judgeLm(p(0.5, 0.5), p(0, 0.6), 100)).toBe(true); // 50 vs 60 errors
    expect(judgeLm(p(0, 0.5), p(0, 0.6), 100)).toBe(false); // no LM in the tuned point
    expect(judgeLm(p(0.5, 0.55), p(0, 0.6), 100)).toBe(false); // 55 vs 60: under 10%
    expect(judgeLm(p(0.5, 0.54), p(0, 0.6), 100)).toBe(true); // exactly 10%
    expect(judgeLm(p(0.5, 0), p(0, 0.1), 10)).toBe(false); // 1 error fewer only
    expect(judgeLm(p(0.5, 0), p(0, 0.2), 10)).toBe(true);
  });

  it('stops between decodings when asked, and reports progress up to the total', async () => {
    const rng = new Rng(4);
    const x = input(
      Array.from({ length: 50 }, () => grammarSentence(rng)),
      0.3,
      0.4,
      4,
    );
    const seen: [number, number][] = [];
    await run({ ...x, onProgress: (d, t) => seen.push([d, t]) });
    expect(seen[0]).toEqual([1, 1 + 8 + 8]);
    expect(seen.at(-1)![0]).toBeLessThanOrEqual(17);
    let n = 0;
    await expect(run({ ...x, shouldStop: () => ++n > 3 })).rejects.toThrow('LM decoding stopped');
  });

  it('hypotheses files: the header, one row per sample, and a name that says the decoder', async () => {
    const rng = new Rng(5);
    const r = await run(
      input(
        Array.from({ length: 50 }, () => grammarSentence(rng)),
        0.3,
        0.4,
        5,
      ),
    );
    for (const d of ['greedy', 'beam', 'lm'] as const) {
      const lines = hypothesesTsv(r, d).trimEnd().split('\n');
      expect(lines[0]).toBe('id\treference\thypothesis');
      expect(lines.length).toBe(6);
      expect(lines[1].split('\t')).toEqual(['s0', r.hypotheses[0].reference, r.hypotheses[0][d]]);
    }
    expect(hypothesesFileName(r, 'greedy', 'demo val')).toBe('demo_val-greedy.tsv');
    expect(hypothesesFileName(r, 'beam', 'demo')).toBe('demo-beam10.tsv');
    expect(hypothesesFileName(r, 'lm', 'demo')).toBe(`demo-beam10-lm-grammar_3-gram-a${r.alpha}-b${r.beta}.tsv`);
    const g = surfaceGrid(r);
    expect(g.alphas[0]).toBe(0);
    expect(g.wer.flat().filter((w) => w !== null).length).toBe(r.surface.length);
  });
});
