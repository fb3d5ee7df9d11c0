// The diagnostics checks: pure functions from measured numbers to a verdict, a likely cause and a
// fix. Numbered as in the report. Thresholds are the field guide's where it gives them.
// Calibration (issue #11): each verdict is judged for the situation measured — a fresh model is
// expected to guess uniformly, a peaky CTC model is expected to predict mostly blanks, gradient
// size matters through the step the optimiser and clipping actually take — and a cause is named
// only when the numbers show it.

import type { DatasetFacts } from '../../data/dataset_facts';
import { causeAndFix, pct, sci } from './format';

export type Status = 'ok' | 'warn' | 'fail' | 'info';

export interface CheckResult {
  n: number; // position in the report, 1..9
  id: string;
  title: string;
  status: Status;
  summary: string; // one line, with the key numbers
  numbers: Record<string, number | string | boolean | null>;
  cause: string; // likely cause; '' when nothing is wrong
  fix: string; // what to do; '' when nothing is wrong
  details?: unknown;
}

/** What a check found, problem by problem (each with its likely cause and its fix), and the result it makes. */
export class Findings {
  private readonly causes: string[] = [];
  private readonly fixes: string[] = [];

  add(cause: string, fix: string): void {
    this.causes.push(cause);
    this.fixes.push(fix);
  }

  result(head: Pick<CheckResult, 'n' | 'id' | 'title'>, status: Status, body: Pick<CheckResult, 'summary' | 'numbers' | 'details'>): CheckResult {
    return { ...head, status, summary: body.summary, numbers: body.numbers, ...causeAndFix(this.causes, this.fixes), details: body.details };
  }
}

/** Rows of log-probabilities: `frames` valid frames of V classes each, concatenated. */
export interface LogProbRows {
  lp: Float32Array; // [frames, V]
  frames: number;
  V: number; // classes including the blank
}

// 1. Model outputs: finite and normalised (logsumexp of each frame ≈ 0).
export function checkOutputs({ lp, frames, V }: LogProbRows): CheckResult {
  let nonFinite = 0;
  let maxDev = 0;
  for (let t = 0; t < frames; t++) {
    let m = -Infinity;
    let bad = false;
    for (let v = 0; v < V; v++) {
      const x = lp[t * V + v];
      if (Number.isNaN(x) || x === Infinity) bad = true;
      if (x > m) m = x;
    }
    if (bad || !Number.isFinite(m)) {
      nonFinite++;
      continue;
    }
    let s = 0;
    for (let v = 0; v < V; v++) s += Math.exp(lp[t * V + v] - m);
    maxDev = Math.max(maxDev, Math.abs(m + Math.log(s)));
  }
  const fail = nonFinite > 0 || maxDev > 1e-3;
  return {
    n: 1,
    id: 'outputs',
    title: 'Model outputs',
    status: fail ? 'fail' : 'ok',
    summary: `${frames} frames: ${nonFinite} with NaN/Inf log-probabilities; max |logsumexp| = ${sci(maxDev)}`,
    numbers: { frames, nonFiniteFrames: nonFinite, maxLogSumExpDeviation: maxDev },
    cause: fail
      ? nonFinite
        ? 'The network produces NaN/Inf: exploding activations, a NaN in the inputs, or a diverged run (learning rate too high).'
        : 'The output layer is not log-normalised before the CTC loss.'
      : '',
    fix: fail
      ? nonFinite
        ? 'Check the dataset check (NaN/Inf features), lower the learning rate, enable gradient clipping, resume from an earlier checkpoint.'
        : 'Apply log_softmax over the class axis before CTC.'
      : '',
  };
}

/** What checks 2 and 3 are computed from, accumulated over rows (a sample or a batch at a time). */
export interface FrameFacts {
  V: number;
  frames: number;
  entropySum: number; // nats, summed over frames
  blanks: number; // frames whose argmax is the blank
  emitted: number; // greedy tokens (argmax runs that are not the blank)
}

/** Adds `rows` to `into` (or to fresh facts). Greedy tokens are counted within these rows. */
export function frameFacts({ lp, frames, V }: LogProbRows, blank = 0, into?: FrameFacts): FrameFacts {
  const f = into ?? { V, frames: 0, entropySum: 0, blanks: 0, emitted: 0 };
  let prev = -1;
  for (let t = 0; t < frames; t++) {
    let h = 0,
      best = 0;
    for (let v = 0; v < V; v++) {
      const x = lp[t * V + v];
      if (x > -80) h -= Math.exp(x) * x;
      if (x > lp[t * V + best]) best = v;
    }
    f.entropySum += h;
    if (best === blank) f.blanks++;
    else if (best !== prev) f.emitted++;
    prev = best;
  }
  f.frames += frames;
  return f;
}

// 2. Prediction entropy: mean per-frame entropy over log(V); > 0.95 is guessing uniformly — a
// finding for a trained model, the expected start for an untrained one.
export function checkEntropy(rows: LogProbRows, opts: { trained?: boolean } = {}): CheckResult {
  return judgeEntropy(frameFacts(rows), opts);
}

export function judgeEntropy({ frames, V, entropySum: sum }: FrameFacts, opts: { trained?: boolean } = {}): CheckResult {
  const trained = opts.trained ?? true;
  const ratio = frames ? sum / frames / Math.log(V) : 1;
  const status: Status = !trained ? 'ok' : ratio > 0.95 ? 'fail' : ratio > 0.8 ? 'warn' : 'ok';
  return {
    n: 2,
    id: 'entropy',
    title: 'Prediction entropy',
    status,
    summary: `mean entropy ${pct(ratio)} of the maximum log(${V}) (uniform guessing is 100%)${!trained ? (ratio > 0.8 ? '; untrained model: near-uniform outputs are its expected start' : '; untrained model') : ''}`,
    numbers: { entropyRatio: ratio, meanEntropyNats: frames ? sum / frames : null, maxEntropyNats: Math.log(V) },
    cause:
      status === 'fail'
        ? 'The model is guessing uniformly: untrained, or not learning (learning rate far too low, labels not matching the features, training stopped too early).'
        : status === 'warn'
          ? 'The model is still very uncertain on most frames.'
          : '',
    fix: status === 'ok' ? '' : 'Run the overfit test: if it passes, train longer (raise early-stopping patience); if it fails, fix data or loss first.',
  };
}

// 3. Blank rate: share of frames whose argmax is the blank. A trained CTC model is peaky — each
// token a spike of a frame or two between blanks — so a high blank rate alone is normal; it is
// blank collapse when, above 90%, greedy decoding also emits less than half the reference tokens.
// `referenceTokens` (tokens in the references of these frames) makes that comparison; without it
// a blank rate above 90% is judged alone.
export function checkBlankRate(rows: LogProbRows, blank = 0, referenceTokens?: number): CheckResult {
  return judgeBlankRate(frameFacts(rows, blank), referenceTokens);
}

export function judgeBlankRate({ frames, blanks, emitted }: FrameFacts, referenceTokens?: number): CheckResult {
  const rate = frames ? blanks / frames : 0;
  const ratio = referenceTokens ? emitted / referenceTokens : null;
  const fail = rate > 0.9 && (ratio === null || ratio < 0.5);
  const peaky = rate > 0.9 && !fail;
  return {
    n: 3,
    id: 'blank-rate',
    title: 'Blank rate',
    status: fail ? 'fail' : 'ok',
    summary: `${pct(rate)} of ${frames} frames predict the blank; greedy decoding emits ${emitted} tokens${referenceTokens ? ` for ${referenceTokens} reference tokens (${pct(ratio!)})` : ''}${peaky ? ': blank-heavy but the tokens are emitted, as a peaky CTC model does' : ''} (collapse: above 90% blank with fewer than half the tokens emitted)`,
    numbers: { blankRate: rate, frames, emittedTokens: emitted, referenceTokens: referenceTokens ?? null, emittedRatio: ratio },
    cause: fail
      ? `Blank collapse: ${pct(rate)} of frames are blank${ratio !== null ? ` and only ${pct(ratio)} of the reference tokens are emitted` : ''}. Predicting only blanks is the cheapest early CTC solution; the model has not yet learned the tokens (early in training, too low a learning rate, or too much time subsampling for the label length).`
      : '',
    fix: fail
      ? 'Train longer before judging (patience 30+ on large datasets), check the overfit test, and check CTC feasibility in the dataset check; lower time subsampling if labels are long.'
      : '',
  };
}

// 5. Dataset quality.
export function checkDataset(f: DatasetFacts): CheckResult {
  const fail = f.nonFinite.length > 0 || f.infeasible.length > 0;
  const warn = f.zeroVarianceDims.length > 0 || f.oov.length > 0 || Math.abs(f.normalised.meanAbsMean) > 0.5 || Math.abs(f.normalised.meanStd - 1) > 0.5;
  const found = new Findings();
  if (f.nonFinite.length) {
    found.add(
      `${f.nonFinite.length} samples contain NaN/Inf (${f.nonFinite
        .slice(0, 5)
        .map((x) => x.id)
        .join(', ')}${f.nonFinite.length > 5 ? ', …' : ''}); one NaN makes every loss NaN`,
      're-extract or drop those samples',
    );
  }
  if (f.infeasible.length) {
    found.add(
      `${f.infeasible.length} samples are CTC-infeasible at ×${f.subsampling} subsampling: label length plus repeats exceeds output frames (${f.infeasible
        .slice(0, 5)
        .map((x) => `${x.id}: ${x.outFrames} frames < ${x.needed}`)
        .join('; ')}${f.infeasible.length > 5 ? '; …' : ''}); their loss is infinite`,
      'drop them, use zero_infinity, or use a model with less time subsampling',
    );
  }
  if (f.zeroVarianceDims.length) {
    found.add(
      `${f.zeroVarianceDims.length} feature dims never vary (${f.zeroVarianceDims.slice(0, 10).join(', ')}${f.zeroVarianceDims.length > 10 ? ', …' : ''}): dead keypoints or a broken extractor`,
      'check the feature extractor; those dims carry no information',
    );
  }
  if (f.oov.length) {
    found.add(
      `${f.oov.length} val/test tokens are not in the vocabulary (${f.oov
        .slice(0, 5)
        .map((x) => `'${x.token}'×${x.count}`)
        .join(', ')}): they can never be predicted`,
      'add them to vocab.txt or accept the WER floor they cause',
    );
  }
  return found.result({ n: 5, id: 'dataset', title: 'Dataset quality' }, fail ? 'fail' : warn ? 'warn' : 'ok', {
    summary: `${f.samples} samples, ${f.featureDim} dims: ${f.nonFinite.length} with NaN/Inf, ${f.zeroVarianceDims.length} zero-variance dims, ${f.infeasible.length} CTC-infeasible at ×${f.subsampling}, ${f.oov.length} out-of-vocabulary tokens; normalisation applied (train mean |μ| ${sci(f.normalised.meanAbsMean)}, mean σ ${sci(f.normalised.meanStd)})`,
    numbers: {
      samples: f.samples,
      featureDim: f.featureDim,
      nonFiniteSamples: f.nonFinite.length,
      zeroVarianceDims: f.zeroVarianceDims.length,
      infeasibleSamples: f.infeasible.length,
      oovTokens: f.oov.length,
      normalisedMeanAbs: f.normalised.meanAbsMean,
      normalisedMeanStd: f.normalised.meanStd,
    },
    details: { nonFinite: f.nonFinite, infeasible: f.infeasible, zeroVarianceDims: f.zeroVarianceDims, oov: f.oov },
  });
}

export interface DecodingFacts {
  samples: number;
  split: string;
  greedyWer: number;
  adaptiveWer: number;
  beamWer: number;
  beamWidth: number;
  greedyTokens: number;
  adaptiveDropped: number;
  greedyCorrect?: number; // greedy tokens that match the reference (word alignment)
  correctDropped?: number; // of those, removed by the adaptive filter
}

// 6. Decoding: does the decoder hide what the model learned? Dropping a token can only raise the
// WER if that token was right, so the filter hides learning when adaptive decoding scores worse
// than greedy (and, when counted, when it drops tokens greedy decoding gets right). When it scores
// better it removed wrong tokens — an untrained model's insertions — and hides nothing.
export function checkDecoding(d: DecodingFacts): CheckResult {
  const dropShare = d.greedyTokens ? d.adaptiveDropped / d.greedyTokens : 0;
  const counted = d.correctDropped !== undefined && d.greedyCorrect !== undefined;
  const hides = d.adaptiveWer > d.greedyWer + 0.05 && (!counted || d.correctDropped! > 0);
  const correct = counted ? `; ${d.correctDropped} of the ${d.greedyCorrect} greedy tokens that match the reference were dropped` : '';
  const helps = !hides && d.adaptiveWer < d.greedyWer - 0.05;
  return {
    n: 6,
    id: 'decoding',
    title: 'Decoding',
    status: hides ? 'warn' : 'ok',
    summary: `on ${d.samples} ${d.split} samples: greedy WER ${pct(d.greedyWer)}, adaptive ${pct(d.adaptiveWer)} (dropped ${d.adaptiveDropped} of ${d.greedyTokens} greedy tokens, ${pct(dropShare)}${correct}), beam search (width ${d.beamWidth}) ${pct(d.beamWer)}${helps ? `; filtering lowers the WER: it removed ${counted ? `${d.adaptiveDropped - d.correctDropped!} wrong tokens and ${d.correctDropped} right ones` : 'mostly wrong tokens'}${d.greedyWer > 1 ? ' (greedy WER above 100%: insertions of an untrained or early model)' : ''}` : ''}`,
    numbers: { ...d, adaptiveDropShare: dropShare },
    cause: hides
      ? `Confidence filtering removes tokens the model gets right${counted ? ` (${d.correctDropped} of ${d.greedyCorrect})` : ''}: adaptive decoding reports ${pct(d.adaptiveWer)} where greedy decoding gets ${pct(d.greedyWer)}, a worse WER than the model deserves (the field guide's 92% WER run).`
      : '',
    fix: hides ? 'Use simple greedy decoding for validation during training; keep adaptive filtering for a converged model, if at all.' : '',
  };
}

/**
 * The loss against the uniform-prediction baseline, judged by their ratio: a fail when it is not
 * finite, when it is above 1.5 (confidently wrong), or, where `why.uniform` is given (a model that
 * was trained), when it is at the uniform level (above 0.9); `why` says each in its report's words.
 */
export function judgeLossRatio(
  head: Pick<CheckResult, 'n' | 'id'>,
  ratio: number,
  why: { nonFinite: [cause: string, fix: string]; wrong: [cause: string, fix: string]; uniform: [cause: string, fix: string] | null },
  body: Pick<CheckResult, 'summary' | 'numbers'>,
): CheckResult {
  const found = !Number.isFinite(ratio) ? why.nonFinite : ratio > 1.5 ? why.wrong : ratio > 0.9 && why.uniform ? why.uniform : null;
  return {
    ...head,
    title: 'Loss against the uniform baseline',
    status: found ? 'fail' : 'ok',
    ...body,
    cause: found?.[0] ?? '',
    fix: found?.[1] ?? '',
  };
}

// 7. Initial loss against the uniform-prediction baseline (exact CTC nll of uniform outputs).
export function checkInitialLoss(x: { modelLoss: number; uniformLoss: number; samples: number; split: string; trained: boolean }): CheckResult {
  const ratio = x.modelLoss / x.uniformLoss;
  return judgeLossRatio(
    { n: 7, id: 'initial-loss' },
    ratio,
    {
      nonFinite: [
        'The loss is not finite: NaN inputs, infeasible samples without zero_infinity, or a diverged model.',
        'See the dataset and model-output checks.',
      ],
      wrong: [
        'The loss is well above what uniform guessing gives: confidently wrong outputs (a bad initialisation scale, unnormalised features, or labels that do not match the features).',
        'Check the feature normalisation and the token → class mapping; initialise the output layer small.',
      ],
      uniform: x.trained
        ? [
            `After training, the loss on ${x.split} samples is at or above the uniform baseline: nothing the model learned carries over to them. Either it has not learned at all, or it memorised its training samples (an overfit-test checkpoint does exactly that).`,
            'If the overfit test passes, train on the full training split, longer (patience) and with regularisation; if it fails, fix data or loss first.',
          ]
        : null,
    },
    {
      summary: `mean CTC loss ${sci(x.modelLoss)} per sample vs ${sci(x.uniformLoss)} for uniform outputs (ratio ${sci(ratio)}) on ${x.samples} ${x.split} samples${x.trained ? '' : ', untrained model'}`,
      numbers: { modelLoss: x.modelLoss, uniformLoss: x.uniformLoss, ratio, samples: x.samples, split: x.split, trained: x.trained },
    },
  );
}
