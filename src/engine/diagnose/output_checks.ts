// Checks that need only a model's outputs and the references (imported model outputs): what the
// outputs are, whether each sample fits in its output frames, the loss per sample, which tokens
// the model emits, the kind of errors it makes and where they grow. Pure functions from measured
// numbers to verdict, cause and fix, like checks.ts; numbered as in the outputs report.

import type { OutputKind } from '../../data/types';
import { Findings, judgeLossRatio, type CheckResult, type Status } from './checks';
import { list, pct, sci } from './format';

export interface OutputKindFacts {
  declared: OutputKind | null; // outputs.json's 'kind'
  detected: Record<OutputKind, number>; // samples per detected kind
  lseMin: number; // logsumexp range of the raw rows
  lseMax: number;
  nonFinite: { id: string; values: number; first: string }[];
  frames: number;
}

// 1. Model outputs: what arrived (declared vs detected) and whether it is finite.
export function checkOutputKind(f: OutputKindFacts): CheckResult {
  const kinds = (Object.keys(f.detected) as OutputKind[]).filter((k) => f.detected[k] > 0);
  const samples = kinds.reduce((n, k) => n + f.detected[k], 0);
  const found = kinds.map((k) => `${k} (${f.detected[k]} samples)`).join(', ');
  const lse = `row logsumexp from ${sci(f.lseMin)} to ${sci(f.lseMax)}`;
  let status: Status = 'ok',
    cause = '',
    fix = '';
  const logitsFound = f.detected.logits > 0;
  if (f.nonFinite.length) {
    status = 'fail';
    cause = `${f.nonFinite.length} samples hold NaN/+Inf outputs (${list(
      f.nonFinite.map((x) => `${x.id}: ${x.first}`),
      3,
    )}): exploding activations, a NaN in the inputs, or a diverged model; their loss is NaN.`;
    fix = "Check those samples' inputs for NaN/Inf, lower the learning rate, enable gradient clipping, resume from an earlier checkpoint.";
  } else if (kinds.length > 1) {
    status = 'fail';
    cause = `The samples are not all the same kind (${found}): the outputs were written by different code paths.`;
    fix = 'Write every sample the same way: log_softmax over the class axis.';
  } else if (logitsFound && f.declared === 'log_probs') {
    status = 'fail';
    cause = `outputs.json says log_probs, but the rows are not normalised (${lse}; log-probabilities give 0): these are logits. A CTC loss given them (PyTorch's F.ctc_loss expects log_softmax output) computes a wrong loss and gradient. The lab normalised them with log_softmax for this report.`;
    fix = 'Apply log_softmax over the class axis before the CTC loss (and before saving the outputs).';
  } else if (logitsFound && f.declared === null) {
    status = 'warn';
    cause = `The rows are not normalised (${lse}): logits, not log-probabilities (no outputs.json said which). The lab normalised them with log_softmax for this report; if your training passes these same values to the CTC loss, that is a bug.`;
    fix = 'Make sure the CTC loss receives log_softmax(logits); save log_softmax outputs, or declare "kind": "logits" in outputs.json.';
  } else if (f.declared !== null && f.declared !== kinds[0] && !(f.declared === 'logits' && kinds[0] === 'log_probs')) {
    status = 'warn';
    cause = `outputs.json says ${f.declared}, the rows are ${kinds[0]} (${lse}).`;
    fix = 'Correct "kind" in outputs.json.';
  }
  const normalised = f.detected.logits ? '; logits normalised with log_softmax' : f.detected.probs ? '; probabilities turned into log-probabilities' : '';
  return {
    n: 1,
    id: 'outputs',
    title: 'Model outputs',
    status,
    summary: `${samples} samples, ${f.frames} frames: declared ${f.declared ?? 'nothing (no outputs.json kind)'}, found ${found || 'nothing'}${normalised}; ${lse}; ${f.nonFinite.length} samples with NaN/+Inf`,
    numbers: {
      frames: f.frames,
      declared: f.declared ?? 'none',
      logProbSamples: f.detected.log_probs,
      logitSamples: f.detected.logits,
      probSamples: f.detected.probs,
      lseMin: f.lseMin,
      lseMax: f.lseMax,
      nonFiniteSamples: f.nonFinite.length,
    },
    cause,
    fix,
    details: { nonFinite: f.nonFinite },
  };
}

export interface FeasibilityFacts {
  samples: number;
  subsampling: number | null;
  infeasible: { id: string; outFrames: number; needed: number; frames: number | null }[];
  oov: { token: string; count: number; firstId: string }[];
}

// 4. Feasibility at T': a reference needs one output frame per token plus one per adjacent repeat.
export function checkFeasibility(f: FeasibilityFacts): CheckResult {
  const fail = f.infeasible.length > 0;
  const warn = f.oov.length > 0;
  const found = new Findings();
  if (fail) {
    found.add(
      `${f.infeasible.length} of ${f.samples} samples have too few output frames for their reference (${list(f.infeasible.map((x) => `${x.id}: ${x.outFrames} frames < ${x.needed} needed`))}): CTC cannot emit them, their loss is infinite and their tokens are deleted${f.subsampling ? ` — the model's ×${f.subsampling} time subsampling leaves too few frames` : ''}`,
      'use less time subsampling (or a model without it) for these lengths, or drop those samples (zero_infinity=True only hides them)',
    );
  }
  if (warn) {
    found.add(
      `${f.oov.length} reference tokens name no class (${list(f.oov.map((x) => `'${x.token}'×${x.count}`))}): the model can never emit them; those samples are left out of the loss checks`,
      "check that vocab.txt is the model's vocabulary, in its class order",
    );
  }
  return found.result({ n: 4, id: 'feasibility', title: "Feasibility at T'" }, fail ? 'fail' : warn ? 'warn' : 'ok', {
    summary: `${f.infeasible.length} of ${f.samples} samples have fewer output frames than their reference needs${f.subsampling ? ` (×${f.subsampling} subsampling)` : ''}; ${f.oov.length} reference tokens outside the vocabulary`,
    numbers: { samples: f.samples, infeasibleSamples: f.infeasible.length, oovTokens: f.oov.length, subsampling: f.subsampling ?? 'unknown' },
    details: { infeasible: f.infeasible, oov: f.oov },
  });
}

// 6. Loss against the uniform baseline, for a model that was trained (an imported model's outputs).
export function checkOutputLoss(x: { modelLoss: number; uniformLoss: number; samples: number; excluded: number }): CheckResult {
  const ratio = x.modelLoss / x.uniformLoss;
  return judgeLossRatio(
    { n: 6, id: 'loss' },
    ratio,
    {
      nonFinite: ['The mean loss is not finite: NaN outputs (see Model outputs).', 'See the model-outputs check.'],
      wrong: [
        `The loss is ${sci(ratio)}× what uniform guessing gives: the model is confidently wrong — references that do not match the outputs (another vocabulary or class order, shuffled transcripts), or outputs that are not log-probabilities.`,
        "Check vocab.txt against the model's output classes and that each sample's reference belongs to it.",
      ],
      uniform: [
        'The loss is at the uniform-guessing level: the model has not learned to predict these references (untrained, stopped too early, or data that does not match).',
        'Run the overfit test on your model; if it passes, train longer (patience 30+); if it fails, fix data or loss first.',
      ],
    },
    {
      summary: `mean CTC loss ${sci(x.modelLoss)} per sample vs ${sci(x.uniformLoss)} for uniform outputs (ratio ${sci(ratio)}) on ${x.samples} samples${x.excluded ? ` (${x.excluded} infeasible or out-of-vocabulary samples left out)` : ''}`,
      numbers: { modelLoss: x.modelLoss, uniformLoss: x.uniformLoss, ratio, samples: x.samples, excluded: x.excluded },
    },
  );
}

export interface TokenFacts {
  emitted: Map<string, number>; // greedy emissions per token
  inRefs: Map<string, number>; // occurrences in the references
  substitutions: { ref: string; hyp: string; count: number }[]; // most frequent first
  emittedTotal: number;
}

// 7. Tokens: emitted vs in the references, tokens never emitted, the most frequent substitutions.
// A token mostly recognised as one other token (≥ 3 times, ≥ 50% of its occurrences, itself
// emitted for < 20% of them) is a systematic confusion: a class-order or label-mapping problem.
export function checkTokens(f: TokenFacts): CheckResult {
  const rows = [...f.inRefs].map(([token, refs]) => ({ token, refs, emitted: f.emitted.get(token) ?? 0 })).sort((a, b) => b.refs - a.refs);
  const never = rows.filter((r) => r.emitted === 0);
  const systematic = f.substitutions.filter((p) => {
    const refs = f.inRefs.get(p.ref) ?? 0;
    return p.count >= 3 && p.count >= 0.5 * refs && (f.emitted.get(p.ref) ?? 0) < 0.2 * refs;
  });
  const silent = f.emittedTotal === 0;
  let status: Status = 'ok',
    cause = '',
    fix = '';
  if (systematic.length) {
    status = 'fail';
    cause = `Systematic confusion: ${systematic
      .slice(0, 5)
      .map((p) => `'${p.ref}' is emitted as '${p.hyp}' in ${p.count} of its ${f.inRefs.get(p.ref)} occurrences`)
      .join(
        '; ',
      )}. One token consistently produced as another points at the class mapping — vocab.txt in a different order than the model's output layer (an off-by-one, a re-sorted vocabulary, the blank at another index) — or labels swapped in the training data.`;
    fix = 'Compare vocab.txt with the vocabulary the model was trained with, class by class; check the training labels of those tokens.';
  } else if (never.length && !silent) {
    status = 'warn';
    cause = `${never.length} of ${rows.length} reference tokens are never emitted (${list(never.map((r) => `'${r.token}'×${r.refs}`))}): rare in training, or learned later than the others.`;
    fix = 'Check how often these tokens occur in the training set; train longer or balance the data.';
  }
  return {
    n: 7,
    id: 'tokens',
    title: 'Tokens',
    status,
    summary: `${rows.length} tokens in the references, ${[...f.emitted.keys()].length} emitted by greedy decoding; ${never.length} never emitted${
      f.substitutions.length
        ? `; most frequent substitutions: ${f.substitutions
            .slice(0, 3)
            .map((p) => `${p.ref}→${p.hyp} ×${p.count}`)
            .join(', ')}`
        : ''
    }`,
    numbers: {
      referenceTokens: rows.length,
      emittedTokens: [...f.emitted.keys()].length,
      neverEmitted: never.length,
      systematicConfusions: systematic.length,
      topSubstitution: f.substitutions[0] ? `${f.substitutions[0].ref}→${f.substitutions[0].hyp} ×${f.substitutions[0].count}` : 'none',
    },
    cause,
    fix,
    details: { tokens: rows, neverEmitted: never.map((r) => r.token), substitutions: f.substitutions.slice(0, 20), systematic },
  };
}

export interface ErrorSplitFacts {
  S: number;
  D: number;
  I: number;
  N: number; // reference tokens
  hypTokens: number;
  wer: number;
  infeasible: number; // samples with too few output frames
  blankRate: number;
}

// 8. Hypothesis/reference length and the S/D/I split: which kind of error dominates says where to
// look (deletions: blank-heavy outputs or too few frames; insertions: noisy or untrained outputs;
// substitutions: the model finds where tokens are, not which).
export function checkErrorSplit(f: ErrorSplitFacts): CheckResult {
  const errors = f.S + f.D + f.I;
  const ratio = f.N ? f.hypTokens / f.N : 0;
  const share = (x: number) => (errors ? x / errors : 0);
  let status: Status = 'ok',
    cause = '',
    fix = '';
  if (f.wer > 0.1 && errors > 0) {
    if (share(f.D) > 0.5 && ratio < 0.8) {
      status = 'warn';
      cause = `Deletions dominate (${pct(share(f.D))} of the errors; the hypotheses are ${pct(ratio)} as long as the references): ${f.blankRate > 0.9 ? `the outputs are blank-heavy (${pct(f.blankRate)} blank frames)` : 'tokens are missing from the outputs'}${f.infeasible ? `, and ${f.infeasible} samples have too few output frames for their references` : ''}.`;
      fix = f.infeasible ? 'Reduce the time subsampling, and see the blank-rate check.' : 'See the blank-rate check: train longer or raise the learning rate.';
    } else if (share(f.I) > 0.5 && ratio > 1.2) {
      status = 'warn';
      cause = `Insertions dominate (${pct(share(f.I))} of the errors; the hypotheses are ${pct(ratio)} as long as the references): the model emits tokens where there are none — an untrained or early model, or repeated tokens split by noisy blanks.`;
      fix = 'Train longer; check the entropy and the per-sample errors.';
    } else if (share(f.S) > 0.5) {
      status = 'warn';
      cause = `Substitutions dominate (${pct(share(f.S))} of the errors, length ratio ${pct(ratio)}): the model finds where the tokens are but not which they are — confusable tokens, too little data per token, or a class-mapping problem (see Tokens).`;
      fix = 'See the token check for systematic confusions; train longer or add data for the confused tokens.';
    }
  }
  return {
    n: 8,
    id: 'error-split',
    title: 'Length ratio and S/D/I',
    status,
    summary: `greedy WER ${pct(f.wer)}: ${f.S} substitutions, ${f.D} deletions, ${f.I} insertions over ${f.N} reference tokens; hypothesis/reference length ${pct(ratio)}`,
    numbers: {
      wer: f.wer,
      S: f.S,
      D: f.D,
      I: f.I,
      N: f.N,
      hypTokens: f.hypTokens,
      lengthRatio: ratio,
      deletionShare: share(f.D),
      insertionShare: share(f.I),
      substitutionShare: share(f.S),
    },
    cause,
    fix,
  };
}

export interface SampleLoss {
  id: string;
  perToken: number; // CTC loss / reference length, nats per token
}

/** Outliers of per-token loss: a robust z-score (median, 1.4826 × MAD) above 5, a loss at least
 * 3× the median and above 1 nat per token (a token at less than e^-1 on average). */
export function lossOutliers(xs: SampleLoss[]): { median: number; mad: number; outliers: (SampleLoss & { z: number })[] } {
  const v = xs.map((x) => x.perToken).sort((a, b) => a - b);
  const med = (a: number[]) => (a.length ? (a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2) : 0);
  const median = med(v);
  const mad = med(v.map((x) => Math.abs(x - median)).sort((a, b) => a - b));
  const scale = Math.max(1.4826 * mad, 1e-6 + 0.01 * median);
  const outliers = xs
    .map((x) => ({ ...x, z: (x.perToken - median) / scale }))
    .filter((x) => x.z > 5 && x.perToken >= 3 * median && x.perToken > 1)
    .sort((a, b) => b.perToken - a.perToken);
  return { median, mad, outliers };
}

// 9. Per-sample loss: the distribution and the samples far above it (likely label noise).
export function checkSampleLoss(xs: SampleLoss[]): CheckResult {
  const { median, mad, outliers } = lossOutliers(xs);
  const sorted = xs.map((x) => x.perToken).sort((a, b) => a - b);
  const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0);
  const share = xs.length ? outliers.length / xs.length : 0;
  const status: Status = outliers.length === 0 ? 'ok' : share >= 0.05 ? 'fail' : 'warn';
  return {
    n: 9,
    id: 'sample-loss',
    title: 'Per-sample loss',
    status,
    summary: `CTC loss per reference token over ${xs.length} samples: median ${sci(median)}, 90th percentile ${sci(q(0.9))}, max ${sci(sorted.at(-1) ?? 0)}; ${outliers.length} outliers (${pct(share)})${
      outliers.length
        ? `: ${list(
            outliers.map((o) => o.id),
            10,
          )}`
        : ''
    }`,
    numbers: { samples: xs.length, median, mad, p90: q(0.9), max: sorted.at(-1) ?? 0, outliers: outliers.length, outlierShare: share },
    cause: outliers.length
      ? `${outliers.length} samples fit their references far worse than the rest (${sci(outliers[outliers.length - 1].perToken)} to ${sci(outliers[0].perToken)} nats per token against a median of ${sci(median)}): likely label noise — wrong, shuffled or misaligned transcripts — or inputs the model cannot handle.`
      : '',
    fix: outliers.length ? 'Listen to / look at those samples and their transcripts (the list is in the JSON report); fix or drop the wrong ones.' : '',
    details: { outliers, distribution: { median, mad, p90: q(0.9), max: sorted.at(-1) ?? 0 } },
  };
}

export interface LengthBucket {
  label: string; // "1–2 tokens"
  samples: number;
  N: number;
  wer: number;
  infeasible: number;
}

export const LENGTH_EDGES = [3, 6, 11, 21, 51]; // bucket upper bounds (exclusive): 1–2, 3–5, 6–10, 11–20, 21–50, 51+

// 10. WER by reference length: do long references fail?
export function checkWerByLength(buckets: LengthBucket[]): CheckResult {
  const used = buckets.filter((b) => b.samples > 0);
  const first = used[0],
    last = used.at(-1);
  const grows = !!first && !!last && first !== last && last.samples >= 3 && last.wer > 0.3 && last.wer > first.wer + 0.3 && last.wer > 2 * first.wer;
  const status: Status = grows ? 'warn' : 'ok';
  return {
    n: 10,
    id: 'wer-by-length',
    title: 'WER by reference length',
    status,
    summary: used.map((b) => `${b.label}: ${pct(b.wer)} (${b.samples} samples)`).join('; ') || 'no samples',
    numbers: Object.fromEntries(used.map((b) => [b.label, b.wer])),
    cause: grows
      ? `Long references fail: ${pct(last!.wer)} WER at ${last!.label} against ${pct(first!.wer)} at ${first!.label}${last!.infeasible ? ` (${last!.infeasible} of them have too few output frames)` : ''} — too much time subsampling for long sequences, or a model that does not generalise to lengths it rarely saw.`
      : '',
    fix: grows ? "Check feasibility at T'; train with more long samples, or reduce the time subsampling." : '',
    details: buckets,
  };
}
