// The cost of augmentation per training step: the same run (data, seeds, model) trained with every
// op off and with the settings given, side by side, on the active backend (train.bench.ts's
// trainOnce: median step time after 3 warm-up steps, dispatches and read-backs per step). Before
// anything is timed, one augmented batch on this backend is checked against the float64 reference
// of the same plan (≤ 1e-5), and the augmented run must have changed the losses; else it throws.
// Also the CPU side alone: planning one batch's draws (ms).

import * as tf from '@tensorflow/tfjs-core';
import { makeBatch, tokenIndex } from '../src/data/batch';
import { augmentedBatchTensors, planForBatch } from '../src/engine/augment/augment';
import { applyPlanReference } from '../src/engine/augment/plan';
import type { AugmentSettings } from '../src/engine/augment/settings';
import { disposeBatchTensors } from '../src/engine/train/batch_tensors';
import { syntheticDataset, trainOnce, type TrainBenchShape } from './train.bench';

export interface AugmentBenchResult {
  shape: TrainBenchShape;
  backend: string;
  augment: AugmentSettings;
  // cpuMsPerStep: the process's CPU time over the whole run (construction and warm-up included) per step
  off: { msPerStep: number; msSpread: [number, number]; cpuMsPerStep: number; dispatchesPerStep: number; readbacksPerStep: number };
  on: { msPerStep: number; msSpread: [number, number]; cpuMsPerStep: number; dispatchesPerStep: number; readbacksPerStep: number; tensorGrowth: number };
  planMs: number; // CPU: the plan of one batch (draws, indices, weights, noise)
  checkMaxAbsDiff: number; // the augmented batch on this backend against the float64 reference
}

/** Node: TF.js with its cpu backend (the gradients and chained ops registered, as in bench/dawn.node.ts). */
export async function useCpuBackend(): Promise<void> {
  await import('@tensorflow/tfjs');
  await tf.setBackend('cpu');
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const spread = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];

export async function benchAugment(s: TrainBenchShape, augment: AugmentSettings): Promise<AugmentBenchResult> {
  // Check first: one batch of the benchmark's data, augmented on this backend, against the reference.
  const { meta, samples } = syntheticDataset(s);
  const b = makeBatch(samples.slice(0, s.B), meta, tokenIndex(meta.vocab));
  const outFrames = (f: number) => Math.ceil(f / 2);
  const key = { seed: 1, epoch: 1, batch: 0, batchSize: s.B };
  const t = augmentedBatchTensors({ outFrames }, b, augment, key);
  const got = await t.x.data();
  disposeBatchTensors(t);
  const ref = applyPlanReference(planForBatch({ outFrames }, b, augment, key), b.x);
  if (got.length !== ref.length) throw new Error(`augment benchmark: ${got.length} values on ${tf.getBackend()}, the reference has ${ref.length}`);
  let checkMaxAbsDiff = 0;
  got.forEach((v, i) => (checkMaxAbsDiff = Math.max(checkMaxAbsDiff, Math.abs(v - ref[i]))));
  if (!(checkMaxAbsDiff <= 1e-5)) throw new Error(`augment benchmark: the batch on ${tf.getBackend()} is ${checkMaxAbsDiff} from the float64 reference`);

  // CPU time too (Node): on a shared machine the wall time of a step says more about the neighbours than about the step.
  const proc = (globalThis as { process?: { cpuUsage(): { user: number; system: number } } }).process;
  const cpuMs = () => {
    const u = proc?.cpuUsage();
    return u ? (u.user + u.system) / 1000 : NaN;
  };
  let c0 = cpuMs();
  const off = await trainOnce({ ...s, augment: undefined }, 'auto');
  const offCpu = (cpuMs() - c0) / off.losses.length;
  off.trainer.dispose();
  c0 = cpuMs();
  const on = await trainOnce({ ...s, augment }, 'auto');
  const onCpu = (cpuMs() - c0) / on.losses.length;
  on.trainer.dispose();
  if (on.losses.every((l, i) => l === off.losses[i])) throw new Error('augment benchmark: the augmented run has the same losses as the plain one');

  const t0 = performance.now();
  for (let i = 0; i < 10; i++) planForBatch({ outFrames }, b, augment, { ...key, batch: i });
  const planMs = (performance.now() - t0) / 10;
  return {
    shape: s,
    backend: tf.getBackend(),
    augment,
    off: {
      msPerStep: median(off.stepMs),
      msSpread: spread(off.stepMs),
      cpuMsPerStep: offCpu,
      dispatchesPerStep: off.dispatchesPerStep,
      readbacksPerStep: off.readbacksPerStep,
    },
    on: {
      msPerStep: median(on.stepMs),
      msSpread: spread(on.stepMs),
      cpuMsPerStep: onCpu,
      dispatchesPerStep: on.dispatchesPerStep,
      readbacksPerStep: on.readbacksPerStep,
      tensorGrowth: on.tensorGrowth,
    },
    planMs,
    checkMaxAbsDiff,
  };
}
