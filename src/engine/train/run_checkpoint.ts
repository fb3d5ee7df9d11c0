// A run as a checkpoint (docs/ARCHITECTURE.md "Checkpoint format"): the model's and the optimizer's
// tensors, and the metadata a resume needs (config, state with the mid-epoch position, history,
// the teacher); and the other way, the trainer's state rebuilt from a decoded checkpoint.

import type { DatasetMeta } from '../../data/types';
import { checkpointMeta, encodeCheckpoint, type CheckpointMeta } from '../checkpoint/checkpoint';
import type { DistillationRecord } from '../../data/types';
import type { SequenceModel } from '../model/model';
import type { ModelConfig } from '../model/registry';
import type { Adam } from '../optim/adam';
import type { Sgd } from '../optim/sgd';
import type { TrainConfig } from './config';
import type { EarlyStoppingState } from './early_stopping';
import type { TrainState } from './trainer';
import type { OverfitConfig } from './overfit_config';
import type { OverfitResult } from './overfit';
import { TRAIN_WEIGHTS_PREFIX, type WeightEma } from './ema';
import type * as tf from '@tensorflow/tfjs-core';

/** What a checkpoint of a run is made of (a Trainer's parts). */
export interface RunParts {
  model: SequenceModel;
  optimizer: Adam | Sgd;
  meta: DatasetMeta; // the dataset trained on
  config: TrainConfig;
  state: TrainState;
  earlyStopping: EarlyStoppingState;
  distillation: DistillationRecord<ModelConfig> | null; // the teacher and the KD settings: a resume rebuilds the same loss
  ema?: WeightEma | null; // emaDecay > 0: "model.…" holds the average, "train.model.…" the trained weights
  weights?: Map<string, tf.Tensor>; // "model.…" from these instead (the averaged checkpoint)
  trained?: Map<string, tf.Tensor>; // EMA runs: "train.model.…" from these instead of the model's (a run that ended holds its final weights)
  averaged?: { epochs: number[]; valWer: number | null; valLoss: number | null }; // the averaged checkpoint: what it averages, how it scored
}

/** An overfit test's checkpoint file: its model and Adam state, its settings, and its per-epoch loss and WER. */
export function overfitCheckpoint(model: SequenceModel, optimizer: Adam, result: OverfitResult, cfg: OverfitConfig, ds: DatasetMeta): Promise<Uint8Array> {
  const meta = checkpointMeta({
    model: { ...model.config },
    subsampling: model.subsampling,
    vocab: ds.vocab,
    normalisation: ds.norm,
    training: {
      config: { mode: 'overfit', ...cfg, optimizer: 'adam', ...optimizer.config },
      state: { epoch: result.epochs, step: optimizer.step, seed: cfg.seed },
    },
    history: result.history.map((h) => ({ epoch: h.epoch, loss: h.loss, wer: h.wer, seconds: h.seconds })),
    dataset: { id: ds.id, name: ds.name },
  });
  return encodeCheckpoint(new Map([...model.params, ...optimizer.slots]), meta);
}

/** The run's checkpoint file (safetensors bytes). */
export function runCheckpoint(run: RunParts, datasetName: string): Promise<Uint8Array> {
  const { model, meta: ds, config, state } = run;
  const training = {
    config: { mode: 'train' as const, ...config },
    state: {
      epoch: state.epoch,
      step: state.step,
      seed: config.seed,
      earlyStopping: { ...run.earlyStopping },
      ...(state.position ? { position: { ...state.position } } : {}),
    },
  };
  const meta = checkpointMeta({
    ...modelFacts(model, ds),
    training,
    history: state.history,
    dataset: { id: ds.id, name: datasetName },
    ...(run.distillation ? { distillation: run.distillation } : {}),
    ...(run.averaged ? { averaged: run.averaged } : {}),
  });
  const measured: Map<string, tf.Tensor> = run.weights ?? run.ema?.average ?? model.params;
  const trained = run.ema ? [...(run.trained ?? model.params)].map(([n, v]) => [TRAIN_WEIGHTS_PREFIX + n, v] as const) : [];
  return encodeCheckpoint(new Map<string, tf.Tensor>([...measured, ...trained, ...run.optimizer.slots]), meta);
}

/** What a checkpoint says about the model and the data it reads: config, time subsampling, vocabulary, normalisation. */
function modelFacts(model: SequenceModel, ds: DatasetMeta) {
  return { model: { ...model.config }, subsampling: model.subsampling, vocab: ds.vocab, normalisation: ds.norm };
}

/** Rebuilds a Trainer's resume input from a decoded checkpoint. */
export function resumeStateFrom(meta: CheckpointMeta): TrainState {
  const st = meta.training.state;
  return {
    epoch: st.epoch,
    step: st.step,
    earlyStopping: st.earlyStopping ?? { best: null, bestEpoch: 0, counter: 0 },
    history: meta.history,
    ...(st.position ? { position: { ...st.position } } : {}),
  };
}
