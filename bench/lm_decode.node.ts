// LM-fused beam search benchmark (plain TypeScript on the CPU, Node): PHOENIX-like synthetic model
// outputs (T' = 75 output frames, 1296 classes = blank + 1295 glosses), a 3-gram Kneser-Ney LM
// over 1,200 of the glosses built from 5,672 synthetic sentences (PHOENIX-2014's training size),
// beam 10. Driven by bench/lm_decode.mjs, which bundles this file so worker threads can load it.
//
// The outputs: each reference gloss gets one or two peaked frames (logit ~ N(7, 1)), blanks between
// them (the blank ~ N(7, 1)); on 30% of peaked frames a confusable gloss competes (~ N(6.5, 1)); every
// other class sits at −6 ± 0.5 (a trained CTC model's near-zero mass), so after pruning at 1e-4 a
// frame offers a handful of candidates, as real peaky outputs do. Sentences come from a sparse
// Markov chain over the glosses (each gloss has 6 likely successors), so the LM has something to say.
//
// Checks before timing: at α = 0 the fused search returns beam.ts's hypotheses (the lab's LM-free
// beam search, a separate implementation); with the LM each hypothesis's LM score equals a
// recomputation by sentenceLogProb (1e-9), its CTC log-probability is at most the full forward
// pass's (the beam sums only the alignments it kept), its score is α·LM + CTC + β·words; a second
// run gives the same hypotheses.

import { Rng } from '../src/lib/rng';
import { beamSearchDecode } from '../src/engine/decode/beam';
import { greedyDecode } from '../src/engine/decode/greedy';
import { lmBeamSearch, wordFusion, type Fusion, type LmBeamOptions } from '../src/engine/decode/lm_beam';
import { ctcLogLikelihood } from '../src/engine/ctc/ctc_logprob';
import { buildKneserNey } from '../src/engine/lm/kneser_ney';
import { modelBytes, perplexity, sentenceLogProb, wordIndex, type NgramModel } from '../src/engine/lm/ngram';
import { wer } from '../src/engine/metrics/wer';

export { lmBeamSearch, wordFusion };

export const SHAPE = { T: 75, C: 1296, lmWords: 1200, order: 3, trainSentences: 5672, beamWidth: 10 };

export interface Utterance {
  ref: string[];
  logProbs: Float32Array; // [T, C]
}

export interface BenchSet {
  classes: string[]; // [C], '<blank>' first
  lm: NgramModel;
  buildMs: number;
  valPerplexity: number;
  utts: Utterance[];
}

const gloss = (k: number) => `G${String(k).padStart(4, '0')}`;

function chain(seed: number) {
  const rng = new Rng(seed);
  const zipf = (n: number) => Math.min(n - 1, Math.floor(Math.exp(rng.next() * Math.log(n + 1)) - 1));
  const next: number[][] = Array.from({ length: SHAPE.C - 1 }, () => Array.from({ length: 6 }, () => zipf(SHAPE.lmWords + 40)));
  return (r: Rng): number[] => {
    const L = r.int(4, 12);
    const s = [Math.min(SHAPE.C - 2, Math.floor(Math.exp(r.next() * Math.log(SHAPE.lmWords)) - 1))];
    while (s.length < L) s.push(r.next() < 0.85 ? next[s[s.length - 1]][r.int(0, 5)] : r.int(0, SHAPE.C - 2));
    return s;
  };
}

export function makeBenchSet(utterances: number, seed = 2014): BenchSet {
  const sentence = chain(seed);
  const rng = new Rng(seed + 1);
  // The LM knows glosses 0..1199 only (others are <unk> to it, as rare glosses are).
  const known = (s: number[]) => s.filter((k) => k < SHAPE.lmWords).map(gloss);
  const train = Array.from({ length: SHAPE.trainSentences }, () => known(sentence(rng)));
  const t0 = performance.now();
  const { model } = buildKneserNey(train, SHAPE.order);
  const buildMs = performance.now() - t0;
  const val = Array.from({ length: 500 }, () => known(sentence(rng)));
  const classes = ['<blank>', ...Array.from({ length: SHAPE.C - 1 }, (_, k) => gloss(k))];
  const { T, C } = SHAPE;
  const utts: Utterance[] = [];
  for (let u = 0; u < utterances; u++) {
    let ref = sentence(rng);
    ref = ref.slice(0, Math.floor((T - 1) / 3));
    const logits = new Float64Array(T * C);
    for (let i = 0; i < logits.length; i++) logits[i] = -6 + 0.5 * rng.normal();
    const target = new Int32Array(T); // 0 = blank
    const step = T / ref.length;
    ref.forEach((g, k) => {
      const at = Math.floor(k * step + step / 2);
      target[at] = g + 1;
      if (rng.next() < 0.5 && at + 1 < T && target[at + 1] === 0) target[at + 1] = g + 1;
    });
    for (let t = 0; t < T; t++) {
      logits[t * C + target[t]] = 7 + rng.normal();
      if (target[t] !== 0 && rng.next() < 0.3) logits[t * C + 1 + rng.int(0, C - 2)] = 6.5 + rng.normal();
    }
    const lp = new Float32Array(T * C);
    for (let t = 0; t < T; t++) {
      let m = -Infinity;
      for (let c = 0; c < C; c++) m = Math.max(m, logits[t * C + c]);
      let s = 0;
      for (let c = 0; c < C; c++) s += Math.exp(logits[t * C + c] - m);
      const lse = m + Math.log(s);
      for (let c = 0; c < C; c++) lp[t * C + c] = logits[t * C + c] - lse;
    }
    utts.push({ ref: ref.map(gloss), logProbs: lp });
  }
  return { classes, lm: model, buildMs, valPerplexity: perplexity(model, val).perplexity, utts };
}

export type Hyp = number[];

export function decodeAll(utts: Utterance[], opts: Partial<LmBeamOptions>, fusion: Fusion | null): Hyp[] {
  return utts.map((u) => lmBeamSearch(u.logProbs, SHAPE.T, SHAPE.C, { beamWidth: SHAPE.beamWidth, ...opts }, fusion).ids);
}

export function greedyAll(utts: Utterance[]): Hyp[] {
  const { T, C } = SHAPE;
  return utts.map((u) => {
    const best = new Int32Array(T);
    for (let t = 0; t < T; t++) for (let c = 1; c < C; c++) if (u.logProbs[t * C + c] > u.logProbs[t * C + best[t]]) best[t] = c;
    return greedyDecode(best, T, [T])[0];
  });
}

export function werOf(set: BenchSet, hyps: Hyp[]) {
  return wer(
    set.utts.map((u) => u.ref.join(' ')),
    hyps.map((h) => h.map((c) => set.classes[c]).join(' ')),
  );
}

/** The checks made before anything is timed; throws on the first disagreement. */
export function checkResults(set: BenchSet, fusion: Fusion, opts: { alpha: number; beta: number }): string {
  const { T, C, beamWidth } = SHAPE;
  const plain = decodeAll(set.utts, { alpha: 0, beta: 0 }, null);
  set.utts.forEach((u, k) => {
    const ref = beamSearchDecode(u.logProbs, T, C, beamWidth);
    if (ref.join() !== plain[k].join()) throw new Error(`utterance ${k}: α = 0 gives ${plain[k].join(' ')}, beam.ts gives ${ref.join(' ')}`);
  });
  const idx = wordIndex(set.lm);
  const lmIds = (h: Hyp) => h.map((c) => idx.get(set.classes[c]) ?? set.lm.unk);
  let gap = 0;
  set.utts.forEach((u, k) => {
    const r = lmBeamSearch(u.logProbs, T, C, { beamWidth, ...opts }, fusion);
    const lm = Math.LN10 * sentenceLogProb(set.lm, lmIds(r.ids));
    const ctc = ctcLogLikelihood(u.logProbs, T, C, r.ids);
    if (!(Math.abs(r.lmLogProb - lm) <= 1e-9)) throw new Error(`utterance ${k}: LM score ${r.lmLogProb}, recomputed ${lm}`);
    // the beam's CTC probability sums only the alignments whose prefixes stayed in the beam: at most the full sum
    if (!(r.ctcLogProb <= ctc + 1e-9)) throw new Error(`utterance ${k}: beam CTC log-prob ${r.ctcLogProb} above the forward pass's ${ctc}`);
    if (!(Math.abs(r.score - (opts.alpha * r.lmLogProb + r.ctcLogProb + opts.beta * r.words)) <= 1e-9) || r.words !== r.ids.length)
      throw new Error(`utterance ${k}: score ${r.score} is not α·LM + CTC + β·words`);
    gap = Math.max(gap, ctc - r.ctcLogProb);
  });
  const a = JSON.stringify(decodeAll(set.utts, opts, fusion));
  if (a !== JSON.stringify(decodeAll(set.utts, opts, fusion))) throw new Error('two runs gave different hypotheses');
  return `α = 0 equals beam.ts on all ${set.utts.length}; with the LM, each hypothesis's LM score recomputed within 1e-9 and its beam CTC log-prob at most the forward pass's (largest gap ${gap.toExponential(1)} nats); a repeat run identical`;
}

export function lmSummary(set: BenchSet) {
  const m = set.lm;
  return {
    ngrams: Array.from({ length: m.order }, (_, n) => m.starts[n + 1] - m.starts[n]),
    bytes: modelBytes(m),
    buildMs: set.buildMs,
    valPerplexity: set.valPerplexity,
  };
}
