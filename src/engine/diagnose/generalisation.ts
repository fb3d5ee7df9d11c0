// Check 10, generalisation: the model evaluated the same way (eval mode, train/evaluate.ts's
// Evaluator: mean per-token CTC loss, greedy WER, blank rate) on the same number of training
// samples it was trained on and of validation samples; the gap between the two, a verdict, and a
// fix naming the levers the run has not pulled yet, in the order CTC recipes pull them:
// augmentation, then dropout, weight decay, a smaller model, more data.
// Calibration (diagnose.test.ts): a healthy demo run → OK; the overfit test's checkpoint on the
// full data (train WER 0 on its samples, validation near 100%) → FAIL.

import { tokenIndex } from '../../data/batch';
import type { SampleInfo, SampleSource } from '../../data/source';
import type { DatasetMeta } from '../../data/types';
import type { SequenceModel } from '../model/model';
import { Evaluator } from '../train/evaluate';
import type { CheckResult } from './checks';
import { pct } from './format';

/** A split's scores, measured the same way on both splits. */
export interface SplitScores {
  samples: number;
  loss: number; // mean per-token CTC loss
  wer: number; // greedy
  blankRate: number;
}

/** What the checkpoint says about how it was trained (null: a fresh model, nothing to judge). */
export interface TrainedHow {
  mode: 'train' | 'overfit';
  trainedOn: number | null; // the first this many training samples (maxTrainSamples, the overfit test's numSamples); null: all
  augment: boolean | null; // any augmentation op on; null: the config has no augmentation settings (written before them: off)
  dropout: number;
  weightDecay: number;
  optimizer: string;
  emaDecay: number;
  params: number;
  trainSamples: number; // training samples in the dataset
}

export interface GeneralisationFacts {
  train: SplitScores | null;
  val: SplitScores | null;
  how: TrainedHow | null;
}

// Gap in greedy WER (validation − training), in WER units.
export const GAP_WARN = 0.1;
export const GAP_FAIL = 0.3;
// A model whose training WER is above this does not fit its own samples: the gap is not the problem yet.
export const TRAIN_FIT = 0.5;

/** Reads a checkpoint's training config defensively (fields added later may be absent: the setting off). */
export function trainedHow(config: Record<string, unknown>, params: number, trainSamples: number): TrainedHow {
  const num = (k: string, d: number) => (typeof config[k] === 'number' && Number.isFinite(config[k]) ? (config[k] as number) : d);
  const overfit = config.mode === 'overfit';
  const a = config.augment as Record<string, number> | undefined;
  const augment =
    a && typeof a === 'object'
      ? (a.stretchMin ?? 1) !== 1 ||
        (a.stretchMax ?? 1) !== 1 ||
        (a.timeMasks ?? 0) > 0 ||
        (a.featureMasks ?? 0) > 0 ||
        (a.featureWarp ?? 0) > 0 ||
        (a.noise ?? 0) > 0 ||
        (a.frameDrop ?? 0) > 0
      : null;
  const limit = overfit ? num('numSamples', 0) : num('maxTrainSamples', 0);
  return {
    mode: overfit ? 'overfit' : 'train',
    trainedOn: limit > 0 ? limit : null,
    augment,
    dropout: overfit ? 0 : num('dropout', 0),
    weightDecay: num('weightDecay', 0),
    optimizer: typeof config.optimizer === 'string' ? config.optimizer : 'adam',
    emaDecay: num('emaDecay', 0),
    params,
    trainSamples,
  };
}

/** The training samples a run of `how` trained on: the overfit test's first N of the split, a run's first maxTrainSamples of the usable ones. */
export function samplesTrainedOn(how: TrainedHow, trainSplit: SampleInfo[], usable: (s: SampleInfo) => boolean): SampleInfo[] {
  if (how.mode === 'overfit') return trainSplit.slice(0, how.trainedOn ?? trainSplit.length).filter(usable);
  const ok = trainSplit.filter(usable);
  return how.trainedOn ? ok.slice(0, how.trainedOn) : ok;
}

/**
 * Scores the model on training samples it was trained on (`seen`) and on validation samples, the
 * same number of each (at most `maxSamples`), in eval mode.
 */
export async function measureGeneralisation(
  model: SequenceModel,
  meta: DatasetMeta,
  source: SampleSource,
  seen: SampleInfo[],
  val: SampleInfo[],
  maxSamples: number,
): Promise<{ train: SplitScores; val: SplitScores } | null> {
  const n = Math.min(maxSamples, seen.length, val.length);
  if (n === 0) return null;
  const ev = new Evaluator(model, source, meta, tokenIndex(meta.vocab), null);
  const score = async (s: SampleInfo[]): Promise<SplitScores> => {
    const e = (await ev.evaluate(s))!;
    return { samples: s.length, loss: e.loss, wer: e.wer, blankRate: e.blankRate };
  };
  return { train: await score(seen.slice(0, n)), val: await score(val.slice(0, n)) };
}

/** The levers a run has not pulled, most effective first (CTC recipes: augmentation first). */
export function untriedLevers(how: TrainedHow): string[] {
  const out: string[] = [];
  if (!how.augment)
    out.push('augmentation (it is off: the Generalise recipe turns on time stretch 0.9–1.1 and time and feature masks, with EMA of the weights)');
  if (how.dropout < 0.3) out.push(`more dropout (${how.dropout} now; 0.3)`);
  if (how.weightDecay === 0) out.push('weight decay (AdamW with 1e-4)');
  out.push(`a smaller model (${how.params.toLocaleString('en')} parameters now)`);
  out.push(`more training data (${how.trainedOn ?? how.trainSamples} samples now)`);
  return out;
}

const id = 'generalisation';
const title = 'Generalisation';

export function checkGeneralisation(f: GeneralisationFacts): CheckResult {
  const base = { n: 10, id, title };
  if (!f.how) return { ...base, status: 'info', summary: 'not judged: a fresh model has learned nothing to carry over', numbers: {}, cause: '', fix: '' };
  if (!f.train || !f.val) {
    return { ...base, status: 'info', summary: 'not judged: the dataset needs training and validation samples', numbers: {}, cause: '', fix: '' };
  }
  const { train: t, val: v, how } = f;
  const gap = v.wer - t.wer;
  const numbers = {
    samplesPerSplit: t.samples,
    trainLoss: t.loss,
    valLoss: v.loss,
    trainWer: t.wer,
    valWer: v.wer,
    werGap: gap,
    trainBlankRate: t.blankRate,
    valBlankRate: v.blankRate,
    augmentation: how.augment === null ? 'off (not recorded)' : how.augment ? 'on' : 'off',
  };
  const line = `train WER ${pct(t.wer)} / val WER ${pct(v.wer)} (gap ${(gap * 100).toFixed(1)} points), loss ${t.loss.toFixed(3)} / ${v.loss.toFixed(3)}, blank rate ${pct(t.blankRate)} / ${pct(v.blankRate)}, on ${t.samples} samples of each split`;
  if (t.wer > TRAIN_FIT) {
    return {
      ...base,
      status: 'info',
      summary: `${line}; the model does not fit its own training samples yet (train WER above ${pct(TRAIN_FIT)}): train longer before judging generalisation`,
      numbers,
      cause: '',
      fix: '',
    };
  }
  if (gap < GAP_WARN) return { ...base, status: 'ok', summary: line, numbers, cause: '', fix: '' };
  const fail = gap >= GAP_FAIL;
  const levers = untriedLevers(how);
  const overfitTest = how.mode === 'overfit';
  return {
    ...base,
    status: fail ? 'fail' : 'warn',
    summary: line,
    numbers,
    cause: overfitTest
      ? `The overfit test's checkpoint: it memorised its ${how.trainedOn ?? '?'} samples by design (train WER ${pct(t.wer)}) and carries nothing over to new ones (val WER ${pct(v.wer)}).`
      : `The model fits the samples it trained on (train WER ${pct(t.wer)}) much better than new ones (val WER ${pct(v.wer)}, ${(gap * 100).toFixed(0)} points worse): it memorises its training speakers or signers instead of generalising.`,
    fix: overfitTest
      ? `Diagnose a full training run's checkpoint instead; for that run, first ${levers[0]}.`
      : `First ${levers[0]}; then ${levers.slice(1).join(', then ')}.`,
  };
}
