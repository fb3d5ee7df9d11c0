// Full-training configuration: one flat typed object, every flag of the field guide's
// train_teacher.py, with its usual value. Recipes are the field guide's three sets of settings
// (the architectures are model presets: ../model/presets.ts).

import type { Preset } from '../model/presets';
import { AUGMENT_DEFAULTS, AUGMENT_OFF, type AugmentSettings } from '../augment/settings';

export interface TrainConfig {
  preset: Preset; // model: tcn | tconv-bilstm | transformer
  subsampling?: 2 | 4; // tcn only: time subsampling ×2 (default) or ×4 (e.g. to match a ×4 teacher); the other presets have their own
  channels: number; // tcn width / conv channels / d_model
  layers: number; // tcn residual blocks / BiLSTM layers / encoder layers
  hidden: number; // BiLSTM hidden size per direction
  heads: number; // transformer attention heads
  dropout: number; // 0.2
  batchSize: number; // samples per micro-batch, 8
  accumulationSteps: number; // micro-batches per optimizer step, 2
  epochs: number; // 150
  lr: number; // peak learning rate, 5e-4
  warmupEpochs: number; // linear warmup, 5
  decay: 'cosine' | 'step' | 'none';
  optimizer: 'adam' | 'adamw' | 'sgd';
  weightDecay: number; // AdamW decoupled / SGD L2, 0
  momentum: number; // SGD, 0.9
  clipNorm: number; // clip gradients by global norm; 0 = off; 5
  patience: number; // early stopping, epochs; 0 = off; 40
  minDelta: number; // improvement needed, in the monitored metric's units; 0.01
  monitor: 'val_wer' | 'val_loss';
  restoreBest: boolean;
  evalEvery: number; // epochs between validations, 1
  seed: number; // 1
  maxTrainSamples: number; // 0 = all; the "debug on a small subset" recipe uses a few dozen
  checkpointMinutes: number; // the last checkpoint is also written mid-epoch this often (minutes), 5; 0 = at epoch ends only
  augment: AugmentSettings; // augmentation of training batches (../augment/settings.ts); every op off by default
  emaDecay: number; // EMA of the weights (ema.ts): 0 = off, else d in (0, 1); validation, best and the checkpoint's model use the average
  averageBest: number; // at the run's end average the N best evaluated weight sets (average.ts) into an "averaged" checkpoint; 0 = off
  targetWer: number; // the val WER the forecast (../forecast/fit.ts) is asked about, in percent (0, 100]; 0 = none
}

export const TRAIN_DEFAULTS: TrainConfig = {
  preset: 'tcn',
  subsampling: 2,
  channels: 64,
  layers: 3,
  hidden: 128,
  heads: 4,
  dropout: 0.2,
  batchSize: 8,
  accumulationSteps: 2,
  epochs: 150,
  lr: 5e-4,
  warmupEpochs: 5,
  decay: 'cosine',
  optimizer: 'adam',
  weightDecay: 0,
  momentum: 0.9,
  clipNorm: 5,
  patience: 40,
  minDelta: 0.01,
  monitor: 'val_wer',
  restoreBest: true,
  evalEvery: 1,
  seed: 1,
  maxTrainSamples: 0,
  checkpointMinutes: 5,
  augment: AUGMENT_OFF,
  emaDecay: 0,
  averageBest: 0,
  targetWer: 0,
};

export type RecipeName = 'fresh' | 'continue' | 'debug' | 'generalise';

// note: the one line the page shows under the buttons (the field guide's three need none). The twin takes them by
// name (python -m ctc_lab train --recipe R; fixtures/recipes.json, written by recipes.test.ts, holds them for it).
export const RECIPES: Record<RecipeName, { label: string; config: Partial<TrainConfig>; note?: string }> = {
  fresh: {
    label: 'Fresh start (field guide option 2)',
    config: { lr: 5e-4, dropout: 0.2, epochs: 150, warmupEpochs: 5, optimizer: 'adam', weightDecay: 0, accumulationSteps: 2, patience: 40, batchSize: 8 },
  },
  continue: {
    label: 'Continue-style settings (field guide option 1)',
    config: { lr: 3e-4, dropout: 0.3, epochs: 150, warmupEpochs: 5, optimizer: 'adamw', weightDecay: 1e-4, accumulationSteps: 2, patience: 30, batchSize: 8 },
  },
  debug: {
    label: 'Debug on a small subset (field guide option 3)',
    config: { maxTrainSamples: 40, lr: 1e-3, dropout: 0.1, epochs: 30, warmupEpochs: 0, patience: 0, accumulationSteps: 1, batchSize: 8 },
  },
  generalise: {
    label: 'Generalise (augmentation + EMA)',
    // EMA 0.99 averages about the last 100 steps: a lab run of a few thousand steps forgets its initial weights (0.999 would not in under ~3000).
    config: { augment: { ...AUGMENT_DEFAULTS }, emaDecay: 0.99 },
    note: 'Generalise: for a model that fits its training data but not new speakers or signers — time stretch 0.9–1.1, two time and two feature masks, and validation on an average of the weights (EMA 0.99).',
  },
};
