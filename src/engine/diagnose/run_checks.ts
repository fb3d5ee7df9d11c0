// The diagnostics checks of how a run is set up rather than what a model outputs: 8, the last
// overfit test (and whether it is needed), and 9, the early-stopping settings against the dataset
// size. Pure functions from numbers to a verdict, cause and fix, like checks.ts.

import type { CheckResult } from './checks';
import { pct, sci } from './format';

export interface OverfitFacts {
  passed: boolean;
  epochs: number;
  seconds: number;
  finalLoss: number;
  finalWer: number;
  when: string; // ISO date
}

/** A trained model's measured greedy WER, when it shows that the model learns (≤ 20%). */
export interface Learns {
  wer: number;
  split: string;
}

// 8. Overfit test: the last result for this dataset. It separates data/loss bugs from tuning; a
// model that already learns (greedy WER ≤ 20% on held-out samples) has answered that question.
export function checkOverfit(last: OverfitFacts | null, learns: Learns | null = null): CheckResult {
  if (!last && learns) {
    return {
      n: 8,
      id: 'overfit',
      title: 'Overfit test',
      status: 'ok',
      summary: `not run for this dataset; not needed: the model learns (greedy WER ${pct(learns.wer)} on ${learns.split} samples)`,
      numbers: { run: false, learnsWer: learns.wer },
      cause: '',
      fix: '',
    };
  }
  if (!last) {
    return {
      n: 8,
      id: 'overfit',
      title: 'Overfit test',
      status: 'warn',
      summary: 'not run for this dataset',
      numbers: { run: false },
      cause: 'Without it, a bug in the data, loss or decoding cannot be told apart from a tuning problem.',
      fix: 'Click Run overfit test (5 samples, WER must reach 0%).',
    };
  }
  return {
    n: 8,
    id: 'overfit',
    title: 'Overfit test',
    status: last.passed ? 'ok' : 'fail',
    summary: `${last.passed ? 'passed' : 'failed'} after ${last.epochs} epochs (${last.seconds.toFixed(1)} s), final loss ${sci(last.finalLoss)}, WER ${pct(last.finalWer)} (${last.when})`,
    numbers: { run: true, ...last },
    cause: last.passed
      ? ''
      : 'The model cannot memorise 5 samples: the problem is in the data, the loss or the decoding, not in the hyperparameters of full training.',
    fix: last.passed ? '' : 'Look at the dataset and model-output checks; check that transcripts match the features.',
  };
}

// 9. Early-stopping settings against the dataset size.
export function recommendedPatience(trainSamples: number): number {
  // The field guide: patience 15 stopped a 6000-sample run at epoch 45 with 92% WER; 30-40 fixed it.
  return trainSamples >= 5000 ? 30 : trainSamples >= 1000 ? 20 : 10;
}

export function checkEarlyStopping(
  x: { patience: number; minDelta: number; maxEpochs: number; trainSamples: number },
  learns: Learns | null = null,
): CheckResult {
  const rec = recommendedPatience(x.trainSamples);
  // A run that learned (greedy WER ≤ 20%) was not cut short by these settings.
  const low = x.patience < rec && !learns;
  const tightEpochs = x.maxEpochs < 3 * rec && !learns;
  return {
    n: 9,
    id: 'early-stopping',
    title: 'Early-stopping settings',
    status: low || tightEpochs ? 'warn' : 'ok',
    summary: `patience ${x.patience} epochs, min_delta ${x.minDelta}, at most ${x.maxEpochs} epochs, for ${x.trainSamples} training samples (recommended patience ≥ ${rec})${learns && (x.patience < rec || x.maxEpochs < 3 * rec) ? `; the model learned anyway (greedy WER ${pct(learns.wer)})` : ''}`,
    numbers: { ...x, recommendedPatience: rec },
    cause: low
      ? `Patience ${x.patience} is low for ${x.trainSamples} training samples: a large dataset needs more epochs before validation WER moves, and early stopping can end the run before it starts learning (the field guide's run stopped at epoch 45 of 150 with 92% WER).`
      : tightEpochs
        ? `At most ${x.maxEpochs} epochs leaves little room after ${rec} epochs of patience.`
        : '',
    fix: low || tightEpochs ? `Use patience ≥ ${rec} with min_delta ≈ 0.01, and enough epochs (≥ ${3 * rec}).` : '',
  };
}
