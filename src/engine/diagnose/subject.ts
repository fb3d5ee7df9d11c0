// What diagnostics judges: a stored checkpoint's model (checked against the dataset), with the
// optimiser and clipping that trained it and its per-epoch gradient norms, or a fresh model with
// the training defaults. Gradients are judged for the optimiser that trains the model: the
// checkpoint's own (the overfit test: Adam, no clipping).

import type { DatasetMeta } from '../../data/types';
import { checkpointModel, type FittedCheckpoint } from '../checkpoint/fit';
import type { SequenceModel } from '../model/model';
import { presetSize } from '../model/presets';
import { createModel, modelConfig } from '../model/registry';
import { TRAIN_DEFAULTS } from '../train/config';
import type { GradContext } from './gradient_checks';
import { trainedHow, type TrainedHow } from './generalisation';

export interface DiagnosisSubject {
  model: SequenceModel; // the caller disposes it
  source: string; // what the report names as the model
  trainedSteps: number;
  gradContext: GradContext;
  trainedHow: TrainedHow | null; // the generalisation check's facts about the training (null: a fresh model)
}

/** A fitted checkpoint (its file name) as the model to diagnose. */
export function checkpointSubject(ck: FittedCheckpoint, fileName: string, trainSamples = 0): DiagnosisSubject {
  const tc = ck.meta.training.config;
  const history = ck.meta.history.map((h) => h.gradNorm).filter((g): g is number => typeof g === 'number' && Number.isFinite(g));
  const model = checkpointModel(ck, fileName);
  return {
    model,
    trainedHow: trainedHow(tc as unknown as Record<string, unknown>, model.paramCount(), trainSamples),
    source: fileName,
    trainedSteps: ck.meta.training.state.step,
    gradContext:
      tc.mode === 'train' ? { optimizer: tc.optimizer, lr: tc.lr, clipNorm: tc.clipNorm, history } : { optimizer: 'adam', lr: tc.lr, clipNorm: 0, history },
  };
}

/** A fresh, untrained model for the dataset (the tcn preset at its default size, seed 1), judged for the training defaults. */
export function freshSubject(dataset: DatasetMeta): DiagnosisSubject {
  return {
    model: createModel(modelConfig({ preset: 'tcn', ...presetSize('tcn'), dropout: 0 }, dataset.featureDim, dataset.vocab.length + 1), 1),
    source: 'fresh model (untrained, seed 1)',
    trainedSteps: 0,
    trainedHow: null,
    gradContext: { optimizer: TRAIN_DEFAULTS.optimizer, lr: TRAIN_DEFAULTS.lr, clipNorm: TRAIN_DEFAULTS.clipNorm },
  };
}
