// The decoding check with a language model (issue #23): greedy, beam and beam + LM side by side on
// the same samples (each with its substitutions, deletions and insertions), α and β tuned on them
// (decode/tune_lm.ts: the coarse grid, then two half-step rounds; every point's WER kept as the
// surface), and a verdict on whether the LM helps.
//
// The verdict sets the tuned beam + LM against the best the word bonus does alone (the surface's
// α = 0 row: the same search, the same tuning, no LM), so a gain that β alone gives is not credited
// to the LM: the LM helps when the tuned α is above 0 and it removes at least 10% of the β-alone
// errors and at least 2 word errors. α and β are tuned on the samples they are reported on, so the
// margin keeps a tuning that fits noise from being called a gain. "Does not help" is not an alarm.
//
// Decoding runs through a BatchDecoder (the worker's pool, or inlineDecoder here), so the rules
// do not depend on where the searches run.

import { greedyIds } from '../decode/greedy';
import { lmBeamSearch, wordFusion, type Fusion } from '../decode/lm_beam';
import { tuneAlphaBeta, TUNE_DEFAULTS, type TunePoint, type TuneSettings } from '../decode/tune_lm';
import type { NgramModel } from '../lm/ngram';
import { errorRate } from '../metrics/wer';
import { pct } from './format';
import type { DecoderRow, LmDecodingReport } from './lm_report';

export type { DecoderRow, LmDecodingReport, LmHypothesis } from './lm_report';
export { greedyIds }; // the worker's LM alignment view decodes its one sample greedily too

/** One sample's outputs: [frames, C] natural-log probabilities, row-major. */
export interface DecodeSample {
  logProbs: Float32Array;
  frames: number;
}

/** What every decoder of a set shares: the LM, the classes (names in class order), the search settings. */
export interface LmDecodeSetup {
  lm: NgramModel;
  classes: string[]; // [C] class names; classes[blank] is never looked up
  blank: number;
  beamWidth: number; // 10
  prune: number; // ln(1e-4): classes below it at a frame are not extended
}

/** Decodes every sample of a set at (α, β); useLm false: plain prefix beam search (no LM, no bonus). */
export interface BatchDecoder {
  decode(alpha: number, beta: number, useLm: boolean): Promise<number[][]>;
}

/** Makes a BatchDecoder for a set: the worker's pool of decode workers, or inlineDecoder; close() frees it. */
export type DecoderFactory = (setup: LmDecodeSetup, samples: DecodeSample[]) => Promise<BatchDecoder & { close(): void }>;

/** A pool's messages to a decode worker (worker/lm_decode.worker.ts) and its replies: plain data. */
export type DecodeRequest =
  { type: 'setup'; setup: LmDecodeSetup; samples: DecodeSample[] } | { type: 'decode'; id: number; alpha: number; beta: number; useLm: boolean };
export type DecodeReply = { id: number; ids: number[][] } | { id: number; error: string };

/**
 * Shares of a set for `n` decoders, balanced by frames (longest first, each to the least loaded;
 * ties to the lower share): sample indices per share, in the set's order.
 */
export function decodeShares(frames: number[], n: number): number[][] {
  const load = new Array<number>(n).fill(0);
  const shares: number[][] = Array.from({ length: n }, () => []);
  const order = frames.map((_, i) => i).sort((a, b) => frames[b] - frames[a] || a - b);
  for (const i of order) {
    let k = 0;
    for (let j = 1; j < n; j++) if (load[j] < load[k]) k = j;
    shares[k].push(i);
    load[k] += frames[i] + 1;
  }
  return shares.map((s) => s.sort((a, b) => a - b));
}

/** The fusion of a word or gloss vocabulary: every class is a word of the LM (or its <unk>). */
export function setupFusion(s: LmDecodeSetup): Fusion {
  return wordFusion(s.lm, s.classes);
}

/** The searches of some samples: what a pool worker runs on its share and inlineDecoder on all. */
export function decodeSamples(s: LmDecodeSetup, fusion: Fusion, samples: DecodeSample[], alpha: number, beta: number, useLm: boolean): number[][] {
  const C = s.classes.length;
  return samples.map(
    (x) =>
      lmBeamSearch(
        x.logProbs,
        x.frames,
        C,
        { beamWidth: s.beamWidth, prune: s.prune, alpha: useLm ? alpha : 0, beta: useLm ? beta : 0, blank: s.blank },
        useLm ? fusion : null,
      ).ids,
  );
}

/** All searches on the calling thread. */
export function inlineDecoder(s: LmDecodeSetup, samples: DecodeSample[]): BatchDecoder {
  const fusion = setupFusion(s);
  return { decode: async (alpha, beta, useLm) => decodeSamples(s, fusion, samples, alpha, beta, useLm) };
}

/** The LM verdict (see the head of this file); N reference words. */
export function judgeLm(tuned: TunePoint, wordBonusOnly: TunePoint, N: number): boolean {
  const lmErrors = tuned.wer * N,
    bonusErrors = wordBonusOnly.wer * N;
  return tuned.alpha > 0 && lmErrors <= 0.9 * bonusErrors + 1e-9 && bonusErrors - lmErrors >= 2 - 1e-9;
}

const rel = (a: number, b: number) => (b > 0 ? `${a <= b ? '−' : '+'}${Math.abs((100 * (b - a)) / b).toFixed(1)}%` : 'n/a');

export interface LmDecodingInput {
  ids: string[];
  references: string[]; // tokens separated by spaces
  samples: DecodeSample[];
  setup: LmDecodeSetup;
  lmInfo: { id: string; name: string; order: number };
  split: string;
  tune?: Partial<TuneSettings>;
  /** Called after each decoding of the whole set (1 beam + every tuning point + 0 or 1 for the final hypotheses). */
  onProgress?: (done: number, total: number) => void;
  /** Polled between decodings; true ends the run with an error. */
  shouldStop?: () => boolean;
}

export async function lmDecodingReport(x: LmDecodingInput, decoder: BatchDecoder): Promise<LmDecodingReport> {
  const { setup } = x;
  if (!x.samples.length) throw new Error('LM decoding: no samples to decode');
  const C = setup.classes.length;
  const known = new Set(setup.lm.vocab);
  if (!setup.classes.some((c, k) => k !== setup.blank && known.has(c)))
    throw new Error(
      `the language model ${x.lmInfo.name} names none of the model's ${C - 1} tokens (its words: ${setup.lm.vocab.slice(3, 8).join(', ')}…); the page decodes with an LM over the vocabulary's own tokens (a word LM for a character vocabulary needs the twin's --separator)`,
    );
  const names = (ids: number[]) => ids.map((c) => setup.classes[c]).join(' ');
  const refs = x.references.map((r) => r.split(' '));
  const N = refs.reduce((n, r) => n + r.length, 0);
  const tune = { ...TUNE_DEFAULTS, ...x.tune };
  const total = 1 + tune.alphas.length * tune.betas.length + 8 * tune.refineRounds;
  let done = 0;
  const tick = () => {
    x.onProgress?.(++done, total);
  };
  const check = () => {
    if (x.shouldStop?.()) throw new Error('LM decoding stopped');
  };
  const toks = (h: string) => (h ? h.split(' ') : []);
  const row = (decoder: DecoderRow['decoder'], hyps: string[]): DecoderRow => {
    const e = errorRate(refs, hyps.map(toks));
    return { decoder, wer: e.rate, S: e.S, D: e.D, I: e.I, N: e.N };
  };

  const greedy = x.samples.map((s) => names(greedyIds(s.logProbs, s.frames, C, setup.blank)));
  check();
  const beam = (await decoder.decode(0, 0, false)).map(names);
  tick();
  const hypsAt = new Map<string, string[]>();
  const tuned = await tuneAlphaBeta(async (alpha, beta) => {
    check();
    const hyps = (await decoder.decode(alpha, beta, true)).map(names);
    hypsAt.set(`${alpha},${beta}`, hyps);
    tick();
    return errorRate(refs, hyps.map(toks)).rate;
  }, tune);
  const lm = hypsAt.get(`${tuned.alpha},${tuned.beta}`)!;
  const bonus = tuned.surface
    .filter((p) => p.alpha === 0)
    .reduce<TunePoint | null>((b, p) => (!b || p.wer < b.wer || (p.wer === b.wer && Math.abs(p.beta) < Math.abs(b.beta)) ? p : b), null) ?? {
    alpha: 0,
    beta: 0,
    wer: row('beam', beam).wer,
  };
  const rows = [row('greedy', greedy), row('beam', beam), row('beam + LM', lm)];
  const helps = judgeLm(tuned, bonus, N);
  const [g, , l] = rows;
  const verdict = helps
    ? `The LM helps: beam + LM ${pct(l.wer)} (α ${tuned.alpha}, β ${tuned.beta}) against ${pct(bonus.wer)} with the word bonus alone (β ${bonus.beta}) and ${pct(g.wer)} greedy (${rel(l.wer, g.wer)}).`
    : tuned.alpha === 0
      ? `The LM does not help: the best tuning leaves it out (α 0); beam with the word bonus alone gives ${pct(bonus.wer)}, greedy ${pct(g.wer)}.`
      : `The LM does not help enough to count: beam + LM ${pct(l.wer)} (α ${tuned.alpha}, β ${tuned.beta}) against ${pct(bonus.wer)} with the word bonus alone (β ${bonus.beta}); a gain needs 10% fewer errors and at least 2 words on ${N} reference words.`;
  return {
    lm: x.lmInfo,
    samples: x.samples.length,
    split: x.split,
    beamWidth: setup.beamWidth,
    rows,
    alpha: tuned.alpha,
    beta: tuned.beta,
    surface: tuned.surface,
    wordBonusOnly: bonus,
    helps,
    verdict,
    hypotheses: x.ids.map((id, i) => ({ id, reference: x.references[i], greedy: greedy[i], beam: beam[i], lm: lm[i] })),
  };
}

/**
 * Which samples the LM decoding uses: the val samples (those `usable`), else the training samples,
 * else (an output set without splits) all; the first `max` of them, the same as the decoding check.
 */
export function lmDecodingSamples<S extends { split: string | null }>(infos: S[], usable: (s: S) => boolean, max: number): { chosen: S[]; split: string } {
  const ok = infos.filter(usable);
  for (const [split, name] of [
    ['val', 'validation'],
    ['train', 'training'],
  ] as const) {
    const c = ok.filter((s) => s.split === split);
    if (c.length) return { chosen: c.slice(0, max), split: name };
  }
  return { chosen: ok.slice(0, max), split: 'all' };
}
