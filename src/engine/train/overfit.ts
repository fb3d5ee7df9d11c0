// The overfit test (field guide: "train on 5 samples until WER is 0"): a model that cannot
// memorise a handful of samples has a bug in its data, loss or decoding, not a tuning problem.
// Protocol: N training samples in one batch, dropout 0, no early stopping, up to maxEpochs
// epochs of one step each; passes when simple greedy decoding reproduces every transcript.
// Each epoch is the training run's step (step.ts) with the overfit test's settings (constant lr,
// no clipping, no accumulation); what is its own is the protocol and the verdict.

import * as tf from '@tensorflow/tfjs-core';
import { greedyDecode, idsToTokens } from '../decode/greedy';
import { wer } from '../metrics/wer';
import type { SequenceModel } from '../model/model';
import { createModel, modelConfig } from '../model/registry';
import { Adam } from '../optim/adam';
import { makeBatch } from '../../data/batch';
import { batchTensors, disposeBatchTensors } from './batch_tensors';
import { throwOnGpuErrors } from '../backend';
import { trainStep, type StepSettings } from './step';
import type { DatasetMeta, SampleRecord } from '../../data/types';

import { type OverfitConfig } from './overfit_config';
export { OVERFIT_DEFAULTS, type OverfitConfig } from './overfit_config';

export interface OverfitEpoch {
  epoch: number;
  loss: number; // mean CTC loss (per label token, PyTorch 'mean')
  wer: number; // 0..1, greedy decoding on the same samples
  blankRate: number; // share of real output frames whose argmax is blank
  gradNorm: number; // global gradient norm of the step
  seconds: number; // since start
}

export interface OverfitResult {
  passed: boolean;
  reason: string; // why it ended
  epochs: number;
  seconds: number;
  finalLoss: number;
  finalWer: number;
  refs: string[];
  hyps: string[];
  history: OverfitEpoch[];
}

export interface OverfitHooks {
  onEpoch?: (e: OverfitEpoch) => void;
  shouldStop?: () => boolean;
  now?: () => number; // ms clock
}

/** Picks the samples the overfit test trains on: the first N of the training split. */
export function overfitSamples<S extends Pick<SampleRecord, 'split'>>(samples: S[], n: number): S[] {
  const train = samples.filter((s) => s.split === 'train');
  if (train.length < n) throw new Error(`the overfit test needs ${n} training samples; the dataset has ${train.length}`);
  return train.slice(0, n);
}

export async function runOverfitTest(
  samples: SampleRecord[],
  meta: DatasetMeta,
  cfg: OverfitConfig,
  hooks: OverfitHooks = {},
): Promise<{ result: OverfitResult; model: SequenceModel; optimizer: Adam }> {
  const now = hooks.now ?? (() => performance.now());
  const start = now();
  const batch = makeBatch(samples, meta);
  const model = createModel(modelConfig({ ...cfg, dropout: 0 }, meta.featureDim, meta.vocab.length + 1), cfg.seed);
  const optimizer = new Adam(model.params, { lr: cfg.lr });
  const bt = batchTensors(model, batch);
  const { maxOutFrames, outFrames } = bt;
  const decode = (best: ArrayLike<number>) => greedyDecode(best, maxOutFrames, outFrames).map((ids) => idsToTokens(ids, meta.vocab).join(' '));
  // A training run's step with the overfit test's settings: the one batch every epoch, constant lr, no clipping.
  const settings: StepSettings = { lr: cfg.lr, clipNorm: 0, alsoRead: (logits) => tf.argMax(logits, 2) };

  const history: OverfitEpoch[] = [];
  let hyps: string[] = [];
  let reason = `no exact transcription within ${cfg.maxEpochs} epochs`;
  let passed = false;
  let epoch = 0;
  try {
    while (epoch < cfg.maxEpochs) {
      if (hooks.shouldStop?.()) {
        reason = `stopped by the user at epoch ${epoch}`;
        break;
      }
      epoch++;
      // The step's loss, norm and the argmax of its forward pass per output frame: one asynchronous read.
      const { loss, gradNorm, read: bestArr } = await trainStep(model, optimizer, [() => ({ t: bt, keep: true })], settings);
      throwOnGpuErrors(`overfit step ${epoch}`);
      hyps = decode(bestArr!);
      const w = wer(batch.texts, hyps).rate;
      let blanks = 0;
      outFrames.forEach((n, b) => {
        for (let t = 0; t < n; t++) if (bestArr![b * maxOutFrames + t] === 0) blanks++;
      });
      const blankRate = blanks / outFrames.reduce((a, n) => a + n, 0);
      const e = { epoch, loss, wer: w, blankRate, gradNorm, seconds: (now() - start) / 1000 };
      history.push(e);
      hooks.onEpoch?.(e);
      if (!Number.isFinite(loss)) {
        // The step left the weights as they were (a non-finite step is never applied, as in training).
        reason = `loss became ${loss} at epoch ${epoch}`;
        break;
      }
      if (w === 0) {
        // The forward pass above ran before this step's update: confirm on the updated weights.
        const check = tf.tidy(() => tf.argMax(model.apply(bt, false), 2));
        const after = decode(await check.data());
        check.dispose();
        if (wer(batch.texts, after).rate === 0) {
          hyps = after;
          passed = true;
          reason = `greedy decoding reproduced all ${batch.B} transcripts`;
          break;
        }
      }
    }
  } finally {
    disposeBatchTensors(bt);
  }
  const last = history[history.length - 1];
  const result: OverfitResult = {
    passed,
    reason,
    epochs: epoch,
    seconds: (now() - start) / 1000,
    finalLoss: last?.loss ?? NaN,
    finalWer: last?.wer ?? 1,
    refs: batch.texts,
    hyps,
    history,
  };
  return { result, model, optimizer };
}
