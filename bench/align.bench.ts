// Forced-alignment benchmark (CPU, plain TypeScript): forcedAlign (Viterbi over the CTC topology,
// float64) against the CTC forward pass of the float64 reference (the alpha recursion, the same
// topology summed instead of maximised) on the same log-probabilities, plus the spans. Each
// result is checked before it is timed: the path collapses to the labels and its score is at
// most the CTC log-likelihood. Driven by bench/run.mjs through kernels.html (window.ctcLab).

import { Rng } from '../src/lib/rng';
import { ctcLossReference, logSoftmax64 } from '../src/engine/ctc/ctc_reference';
import { ctcLogLikelihood } from '../src/engine/ctc/ctc_logprob';
import { forcedAlign } from '../src/engine/align/forced_align';
import { tokenSpans } from '../src/engine/align/spans';

export interface AlignShape {
  name: string;
  T: number; // output frames
  L: number; // labels
  C: number; // classes including the blank
}

export const DEFAULT_ALIGN_SHAPES: AlignShape[] = [
  { name: 'long-words', T: 1000, L: 300, C: 1300 },
  { name: 'long-chars', T: 1000, L: 300, C: 32 },
  { name: 'sign-glosses', T: 200, L: 30, C: 1300 },
];

export interface AlignBenchResult {
  shape: AlignShape;
  alignMs: number; // median forcedAlign
  spansMs: number; // median tokenSpans on its result
  forwardMs: number; // median CTC forward (float64 reference, no gradient: log-softmax + alpha)
  logLikMs: number; // median ctcLogLikelihood (alpha recursion on the log-probabilities, no log-softmax)
  score: number;
  logLikelihood: number;
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function timed<T>(fn: () => T, reps: number): { ms: number; value: T } {
  let value = fn(); // warm-up, and the value that was checked
  const ms: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    value = fn();
    ms.push(performance.now() - t0);
  }
  return { ms: median(ms), value };
}

export function benchAlign(shape: AlignShape, reps = 7): AlignBenchResult {
  const { T, L, C } = shape;
  const rng = new Rng(1);
  const labels = Array.from({ length: L }, () => rng.int(1, C - 1));
  // Peaky-ish outputs: the labels spread over the frames in order, with noise.
  const logits = new Float64Array(T * C);
  for (let t = 0; t < T; t++) {
    for (let c = 0; c < C; c++) logits[t * C + c] = rng.normal();
    logits[t * C + labels[Math.min(L - 1, Math.floor((t * L) / T))]] += 4;
    logits[t * C] += 3;
  }
  const lp = logSoftmax64(logits, T, C);
  const a = forcedAlign(lp, T, C, labels);
  // Checks before timing: the path collapses to the labels; score ≤ log-likelihood.
  const collapsed: number[] = [];
  for (let t = 0; t < T; t++) if (a.path[t] !== 0 && (t === 0 || a.path[t] !== a.path[t - 1] || a.states[t] !== a.states[t - 1])) collapsed.push(a.path[t]);
  if (collapsed.length !== L || collapsed.some((c, k) => c !== labels[k])) throw new Error(`${shape.name}: the forced path does not collapse to the labels`);
  const ll = -ctcLossReference({ logits: lp, labels, logitLengths: [T], labelLengths: [L], B: 1, T, V: C, L }, false).nll[0];
  if (!(a.score <= ll + 1e-9)) throw new Error(`${shape.name}: path score ${a.score} above the log-likelihood ${ll}`);
  const tokens = labels.map((c) => `w${c}`);
  const align = timed(() => forcedAlign(lp, T, C, labels), reps);
  const spans = timed(() => tokenSpans(align.value, lp, C, tokens, { subsampling: 4, frameShiftMs: 10 }), reps);
  if (spans.value.length !== L) throw new Error(`${shape.name}: ${spans.value.length} spans for ${L} labels`);
  const forward = timed(() => ctcLossReference({ logits: lp, labels, logitLengths: [T], labelLengths: [L], B: 1, T, V: C, L }, false), reps);
  const logLik = timed(() => ctcLogLikelihood(lp, T, C, labels), reps);
  if (Math.abs(logLik.value - ll) > 1e-9 * Math.abs(ll)) throw new Error(`${shape.name}: ctcLogLikelihood ${logLik.value} vs reference ${ll}`);
  return { shape, alignMs: align.ms, spansMs: spans.ms, forwardMs: forward.ms, logLikMs: logLik.ms, score: a.score, logLikelihood: ll };
}
