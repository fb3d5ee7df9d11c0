// The learning-rate range test (Smith 2017, "Cyclical learning rates"; fastai's lr_find and
// Lightning's Tuner.lr_find): train with the learning rate ramped exponentially from 1e-7 to 1 over
// at most 100 steps, stop when the smoothed loss exceeds 4× its best, and suggest the rate at the
// steepest descent of the smoothed loss (not among the first 10 points nor the last, as Lightning). CTC-aware (issue 22): every step also records the blank
// rate and the greedy output length of its forward pass, because during the blank plateau the CTC
// loss falls fast while the model learns nothing but "emit blank"; the suggestion skips any stretch
// where the model emits only blanks. The run leaves the model and the optimizer exactly as it found
// them (weights, slots and step count are restored).
//
// The pure parts (ramp, smoothing, stop rule, suggestion) are mirrored line for line by the twin,
// python/ctc_lab/lr_find.py; fixtures/lr_find.json (written by lr_find.test.ts) holds the lab's
// results on shared curves and the twin's test asserts them.

import * as tf from '@tensorflow/tfjs-core';
import { makeBatch, tokenIndex } from '../../data/batch';
import { bucketedBatches } from '../../data/loader';
import { asSource, type SampleInfo, type SampleSource } from '../../data/source';
import type { DatasetMeta, SampleRecord } from '../../data/types';
import { throwOnGpuErrors } from '../backend';
import { ctcMinFrames } from '../ctc/ctc_reference';
import type { SequenceModel } from '../model/model';
import { createModel, modelConfig } from '../model/registry';
import { Adam } from '../optim/adam';
import { Sgd } from '../optim/sgd';
import type { TrainConfig } from '../train/config';
import { batchTensors } from '../train/batch_tensors';
import { trainStep, type MicroBatch } from '../train/step';

export interface LrFindSettings {
  startLr: number; // 1e-7 (fastai, Lightning)
  endLr: number; // 1
  steps: number; // at most this many optimizer steps, 100
  divergeFactor: number; // stop when the smoothed loss exceeds this × its best, 4
  beta: number; // EMA factor of the smoothed loss, 0.98 (fastai, Lightning)
  blankOnlyRate: number; // a step whose blank rate is ≥ this (or whose greedy output is empty) emits only blanks, 0.995
  skipBegin: number; // the first points are never suggested, 10 (Lightning's skip_begin: the EMA of a few noisy batches over a tiny lr span is not a descent)
  skipEnd: number; // nor the last, 1 (Lightning's skip_end)
}

export const LR_FIND_DEFAULTS: LrFindSettings = {
  startLr: 1e-7,
  endLr: 1,
  steps: 100,
  divergeFactor: 4,
  beta: 0.98,
  blankOnlyRate: 0.995,
  skipBegin: 10,
  skipEnd: 1,
};

/** One step of the range test: its rate and what its forward pass measured (before its update). */
export interface LrFindPoint {
  step: number; // 0-based
  lr: number;
  loss: number; // the step's mean CTC loss (NaN: not finite, the step was not applied)
  smoothed: number; // bias-corrected EMA of the losses so far
  blankRate: number; // share of real output frames whose argmax is blank, 0..1
  outputLength: number; // mean greedy output length in tokens per sample
}

export interface LrSuggestion {
  lr: number | null; // null: no point qualifies (reason says why)
  index: number | null; // the point's index
  slope: number | null; // d(smoothed loss) / d(log10 lr) there (negative)
  reason: string;
}

export interface LrFindResult {
  points: LrFindPoint[];
  stopReason: string;
  suggestion: LrSuggestion;
  settings: LrFindSettings;
}

/** The rate of step i: exponential from startLr (step 0) to endLr (step steps − 1). */
export function rampLr(i: number, s: LrFindSettings = LR_FIND_DEFAULTS): number {
  return s.startLr * (s.endLr / s.startLr) ** (i / Math.max(s.steps - 1, 1));
}

/** The bias-corrected exponential moving average of the losses (fastai's SmoothenValue): one value per loss. */
export function smoothLosses(losses: number[], beta = LR_FIND_DEFAULTS.beta): number[] {
  let avg = 0;
  return losses.map((l, i) => {
    avg = beta * avg + (1 - beta) * l;
    return avg / (1 - beta ** (i + 1));
  });
}

/** Why the test stops after these points (null: go on): a non-finite loss, or the smoothed loss past divergeFactor × its best. */
export function stopReason(points: LrFindPoint[], s: LrFindSettings = LR_FIND_DEFAULTS): string | null {
  const last = points.at(-1);
  if (!last) return null;
  if (!Number.isFinite(last.loss)) return `the loss became ${last.loss} at lr ${last.lr.toExponential(2)}`;
  const best = Math.min(...points.map((p) => p.smoothed));
  if (last.smoothed > s.divergeFactor * best)
    return `the smoothed loss ${last.smoothed.toPrecision(4)} exceeded ${s.divergeFactor}× its best (${best.toPrecision(4)}) at lr ${last.lr.toExponential(2)}`;
  if (points.length >= s.steps) return `reached lr ${last.lr.toExponential(2)} after ${points.length} steps`;
  return null;
}

/** A point where the model emits only blanks (the CTC blank plateau): its loss falls while nothing is learned. */
export function blankOnly(p: Pick<LrFindPoint, 'blankRate' | 'outputLength'>, s: LrFindSettings = LR_FIND_DEFAULTS): boolean {
  return p.outputLength === 0 || p.blankRate >= s.blankOnlyRate;
}

/**
 * The rate at the steepest descent of the smoothed loss against log10(lr). The slope at point i is
 * the central difference over i − 1 and i + 1. The first skipBegin and last skipEnd points are
 * never candidates (nor the very first and last, which have no central difference); nor is any
 * point whose slope touches a point that emits only blanks or whose loss is not finite.
 */
export function suggestLr(
  points: Pick<LrFindPoint, 'lr' | 'smoothed' | 'loss' | 'blankRate' | 'outputLength'>[],
  s: LrFindSettings = LR_FIND_DEFAULTS,
): LrSuggestion {
  const usable = (p: (typeof points)[number]) => Number.isFinite(p.loss) && Number.isFinite(p.smoothed) && !blankOnly(p, s);
  let best: { i: number; slope: number } | null = null;
  let skippedBlank = 0;
  for (let i = Math.max(1, s.skipBegin); i < points.length - Math.max(1, s.skipEnd); i++) {
    const [a, b, c] = [points[i - 1], points[i], points[i + 1]];
    if (![a, b, c].every(usable)) {
      if ([a, b, c].some((p) => blankOnly(p, s))) skippedBlank++;
      continue;
    }
    const slope = (c.smoothed - a.smoothed) / (Math.log10(c.lr) - Math.log10(a.lr));
    if (slope < 0 && (best === null || slope < best.slope)) best = { i, slope };
  }
  const need = Math.max(1, s.skipBegin) + Math.max(1, s.skipEnd) + 1;
  if (points.length < need) return { lr: null, index: null, slope: null, reason: `${points.length} point(s): the suggestion needs at least ${need}` };
  if (!best) {
    const why = skippedBlank ? `; ${skippedBlank} point(s) skipped where the model emits only blanks` : '';
    return {
      lr: null,
      index: null,
      slope: null,
      reason: `the smoothed loss never falls between point ${Math.max(1, s.skipBegin)} and the last ${Math.max(1, s.skipEnd)}${why}`,
    };
  }
  const note = skippedBlank ? ` (${skippedBlank} point(s) of the blank plateau skipped)` : '';
  return {
    lr: points[best.i].lr,
    index: best.i,
    slope: best.slope,
    reason: `steepest descent of the smoothed loss at step ${best.i}: ${best.slope.toPrecision(3)} per decade of lr${note}`,
  };
}

export interface LrFindHooks {
  onPoint?: (p: LrFindPoint) => void;
  shouldStop?: () => boolean;
}

/** One step's micro-batches: each made when the step reaches it (its tensors disposed by the step). */
export type StepBatches = (step: number) => Promise<(() => MicroBatch)[]>;

/**
 * The range test on a model and its optimizer as they are; both are restored afterwards, exactly
 * (the parameters, every optimizer slot, the step count), whether the test ends, stops or throws.
 */
export async function rangeTest(
  model: SequenceModel,
  optimizer: Adam | Sgd,
  batches: StepBatches,
  clipNorm: number,
  s: LrFindSettings = LR_FIND_DEFAULTS,
  hooks: LrFindHooks = {},
): Promise<LrFindResult> {
  const saved = [...model.params, ...optimizer.slots].map(([name, v]) => [name, v, tf.clone(v)] as const);
  const savedStep = optimizer.step;
  const points: LrFindPoint[] = [];
  let reason: string | null = null;
  try {
    for (let i = 0; i < s.steps && reason === null; i++) {
      if (hooks.shouldStop?.()) {
        reason = `stopped by the user after ${i} steps`;
        break;
      }
      const made = await batches(i);
      // What each micro-batch's argmax covers: [B, T'] with its real output frames per sample.
      const shapes: { maxOutFrames: number; outFrames: number[] }[] = [];
      const micro = made.map((make) => () => {
        const mb = make();
        shapes.push({ maxOutFrames: mb.t.maxOutFrames, outFrames: mb.t.outFrames });
        return mb;
      });
      const lr = rampLr(i, s);
      const out = await trainStep(model, optimizer, micro, { lr, clipNorm, alsoRead: (logits) => tf.argMax(logits, 2) });
      throwOnGpuErrors(`lr range test step ${i + 1}`);
      const { blankRate, outputLength } = greedyStats(out.read!, shapes);
      const loss = Number.isFinite(out.loss) && Number.isFinite(out.gradNorm) ? out.loss : NaN;
      const losses = [...points.map((p) => p.loss), loss];
      const p: LrFindPoint = { step: i, lr, loss, smoothed: smoothLosses(losses, s.beta)[i], blankRate, outputLength };
      points.push(p);
      hooks.onPoint?.(p);
      reason = stopReason(points, s);
    }
  } finally {
    for (const [, v, copy] of saved) v.assign(copy);
    tf.dispose(saved.map(([, , copy]) => copy));
    optimizer.step = savedStep;
  }
  return { points, stopReason: reason ?? `reached lr ${points.at(-1)?.lr.toExponential(2)}`, suggestion: suggestLr(points, s), settings: s };
}

/** Blank rate over the real output frames and mean greedy output length, from the argmax of a step's micro-batches (in order). */
export function greedyStats(best: ArrayLike<number>, shapes: { maxOutFrames: number; outFrames: number[] }[]): { blankRate: number; outputLength: number } {
  let at = 0,
    frames = 0,
    blanks = 0,
    tokens = 0,
    samples = 0;
  for (const { maxOutFrames, outFrames } of shapes) {
    outFrames.forEach((n, b) => {
      let prev = -1;
      for (let t = 0; t < n; t++) {
        const c = best[at + b * maxOutFrames + t];
        if (c === 0) blanks++;
        else if (c !== prev) tokens++;
        prev = c;
      }
      frames += n;
    });
    samples += outFrames.length;
    at += outFrames.length * maxOutFrames;
  }
  return { blankRate: frames ? blanks / frames : NaN, outputLength: samples ? tokens / samples : NaN };
}

/** The training samples a run with this config would train on (the Trainer's rule: in vocabulary, CTC-feasible, maxTrainSamples). */
export function trainableSamples(infos: SampleInfo[], meta: DatasetMeta, model: SequenceModel, maxTrainSamples: number): SampleInfo[] {
  const index = tokenIndex(meta.vocab);
  const train = infos.filter((s) => {
    if (s.split !== 'train') return false;
    const ids = s.text.split(' ').map((t) => index.get(t));
    return !ids.some((i) => i === undefined) && model.outFrames(s.frames) >= ctcMinFrames(ids as number[]);
  });
  return maxTrainSamples > 0 ? train.slice(0, maxTrainSamples) : train;
}

/**
 * The range test of a new model built from a training form's settings (preset, sizes, dropout,
 * optimizer, batch size, accumulation, clipping, seed): its steps are the run's first steps
 * (the run's batches, epoch after epoch when an epoch has fewer than `steps` steps), at the ramp's rates.
 */
export async function lrRangeTest(
  meta: DatasetMeta,
  samples: SampleRecord[] | SampleSource,
  config: TrainConfig,
  s: LrFindSettings = LR_FIND_DEFAULTS,
  hooks: LrFindHooks = {},
): Promise<LrFindResult & { trainSamples: number }> {
  const source = asSource(samples);
  const model = createModel(modelConfig(config, meta.featureDim, meta.vocab.length + 1), config.seed);
  const optimizer =
    config.optimizer === 'sgd'
      ? new Sgd(model.params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay })
      : new Adam(model.params, { lr: config.lr, weightDecay: config.optimizer === 'adamw' ? config.weightDecay : 0 });
  try {
    const train = trainableSamples(source.infos, meta, model, config.maxTrainSamples);
    if (train.length === 0) throw new Error('no trainable samples in the training split');
    const index = tokenIndex(meta.vocab);
    const A = config.accumulationSteps;
    const frames = train.map((x) => x.frames);
    // The run's steps in order: epoch 1's shuffled buckets A at a time (its last step may take fewer), then epoch 2's, …
    const steps: number[][][] = [];
    let epoch = 0;
    const groups = (i: number) => {
      while (steps.length <= i) {
        const b = bucketedBatches(frames, config.batchSize, config.seed * 100003 + ++epoch);
        for (let k = 0; k < b.length; k += A) steps.push(b.slice(k, k + A));
      }
      return steps[i];
    };
    const batches: StepBatches = async (i) => {
      const loaded = await Promise.all(groups(i).map(async (idx) => makeBatch(await source.load(idx.map((j) => train[j].index)), meta, index)));
      return loaded.map((b, k) => () => ({ t: batchTensors(model, b), dropoutSeed: config.seed * 7919 + i * 131 + k }));
    };
    const result = await rangeTest(model, optimizer, batches, config.clipNorm, s, hooks);
    return { ...result, trainSamples: train.length };
  } finally {
    model.dispose();
    optimizer.dispose();
  }
}
