// Training throughput of each model preset on the active backend at PHOENIX-like shapes: frames/s,
// model FLOPs utilisation against this device's measured matmul rate, read-backs per step,
// tensor-count growth, and batch assembly time against step time (the GPU must not wait on data).
// Per step: the median wall time with its spread, and the WebGPU dispatches (with the programs that
// make most of them). Every preset runs twice on the same data and seeds, fused kernels (the
// BiLSTM recurrence; the transformer's and tcn's fused ops, model/fused.ts) and composed TF.js ops,
// side by side; both runs' step losses must agree (checked; the benchmark fails otherwise).
// VITE_BENCH_PRESETS=tcn,transformer (read when the page is built) runs only those presets.

import * as tf from '@tensorflow/tfjs-core';
import { makeBatch, tokenIndex } from '../src/data/batch';
import type { DatasetMeta, SampleRecord } from '../src/data/types';
import { Rng } from '../src/lib/rng';
import { TRAIN_DEFAULTS, type TrainConfig } from '../src/engine/train/config';
import { Trainer } from '../src/engine/train/trainer';
import type { Preset } from '../src/engine/model/presets';
import type { Recurrence } from '../src/engine/model/bilstm';
import type { Kernels } from '../src/engine/model/fused';
import { watchDispatches } from '../src/engine/dispatches';
import type { AugmentSettings } from '../src/engine/augment/settings';

export interface TrainBenchShape {
  name: string;
  preset: Preset;
  B: number; // batch size
  T: number; // input frames per sample
  F: number; // feature dim
  V: number; // vocabulary (classes = V + 1)
  L: number; // tokens per transcript
  steps: number; // optimizer steps run (the first 3 are warm-up, the rest timed)
  channels: number; // tcn width / conv channels / d_model
  layers: number;
  hidden: number; // BiLSTM
  heads: number; // transformer
  compareComposed?: boolean; // also run the composed TF.js ops (no fused kernels), side by side
  augment?: AugmentSettings; // training with these augmentation settings (bench/augment.bench.ts: the same run with and without)
}

export const DEFAULT_TRAIN_SHAPES: TrainBenchShape[] = (
  [
    {
      name: 'PHOENIX-like',
      preset: 'tcn',
      B: 8,
      T: 150,
      F: 512,
      V: 1296,
      L: 28,
      steps: 10,
      channels: 128,
      layers: 3,
      hidden: 0,
      heads: 0,
      compareComposed: true,
    },
    {
      name: 'PHOENIX-like',
      preset: 'tconv-bilstm',
      B: 8,
      T: 150,
      F: 512,
      V: 1296,
      L: 28,
      steps: 8,
      channels: 128,
      layers: 2,
      hidden: 128,
      heads: 0,
      compareComposed: true,
    },
    {
      name: 'PHOENIX-like',
      preset: 'transformer',
      B: 8,
      T: 150,
      F: 512,
      V: 1296,
      L: 28,
      steps: 6,
      channels: 128,
      layers: 4,
      hidden: 0,
      heads: 4,
      compareComposed: true,
    },
  ] satisfies TrainBenchShape[]
).filter((s) => {
  // Vite replaces import.meta.env when it builds the page (Node's tsconfig does not know it: hence the cast).
  const only = (import.meta as { env?: Record<string, string | undefined> }).env?.VITE_BENCH_PRESETS?.split(',');
  return !only || only.includes(s.preset);
});

export interface TrainBenchResult {
  shape: TrainBenchShape;
  backend: string;
  params: number;
  msPerStep: number; // median over the steps after 3 warm-up steps
  msSpread: [number, number]; // min, max of those steps
  dispatchesPerStep: number; // WebGPU compute dispatches per optimizer step (0 on other backends)
  programsPerStep: [string, number][]; // the 12 programs (shader keys) with most dispatches per step, most first
  framesPerSecond: number; // input frames per second
  modelGflopPerStep: number; // forward + backward (3× forward), matmul/conv FLOPs only
  matmulGflops: number; // measured on a 1024² matmul
  mfu: number; // model FLOP/s / matmul FLOP/s
  readbacksPerStep: number;
  tensorGrowth: number; // numTensors after the last step minus after step 3
  batchAssemblyMs: number; // makeBatch for one batch (CPU)
  /** compareComposed: the same training with the composed recurrence, and how far its losses are from this run's. */
  composed?: { msPerStep: number; msSpread: [number, number]; dispatchesPerStep: number; programsPerStep: [string, number][]; lossMaxRelDiff: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Random features and transcripts at a benchmark's shape: B·steps training samples, T − 0..8 frames each. */
export function syntheticDataset(
  s: { B: number; T: number; F: number; V: number; L: number; steps: number },
  seed = 5,
): { meta: DatasetMeta; samples: SampleRecord[] } {
  const rng = new Rng(seed);
  const vocab = Array.from({ length: s.V }, (_, i) => `G${i}`);
  const n = s.B * s.steps;
  const samples: SampleRecord[] = Array.from({ length: n }, (_, i) => {
    const T = s.T - rng.int(0, 8);
    return {
      datasetId: 'bench',
      index: i,
      id: `b${i}`,
      split: 'train',
      frames: T,
      text: Array.from({ length: s.L }, () => vocab[rng.int(0, s.V - 1)]).join(' '),
      features: Float32Array.from({ length: T * s.F }, () => rng.normal()).buffer,
    };
  });
  const meta: DatasetMeta = {
    id: 'bench',
    name: 'bench',
    source: 'demo',
    createdAt: 0,
    numSamples: n,
    counts: { train: n, val: 0, test: 0 },
    featureDim: s.F,
    frames: { min: s.T - 8, mean: s.T - 4, max: s.T },
    vocab,
    norm: { mean: new Array(s.F).fill(0), std: new Array(s.F).fill(1) },
    bytes: 0,
  };
  return { meta, samples };
}

async function matmulGflops(n = 1024, reps = 3): Promise<number> {
  const a = tf.randomNormal([n, n]),
    b = tf.randomNormal([n, n]);
  const warm = tf.matMul(a, b);
  await warm.data();
  warm.dispose();
  const t0 = performance.now();
  for (let i = 0; i < reps; i++) {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  }
  const secs = (performance.now() - t0) / 1000;
  tf.dispose([a, b]);
  return (2 * n ** 3 * reps) / secs / 1e9;
}

export interface Run {
  trainer: Trainer;
  losses: number[];
  stepMs: number[]; // wall time of each step after 3 warm-up steps
  dispatchesPerStep: number;
  programsPerStep: [string, number][];
  readbacksPerStep: number;
  tensorGrowth: number;
}

/** Trains one epoch of s.steps steps, timing and counting every step. */
/** A one-epoch trainer on s's synthetic dataset (the training and speed-report benches' setup). */
export function benchTrainer(
  s: Parameters<typeof syntheticDataset>[0] & Pick<TrainBenchShape, 'preset' | 'channels' | 'layers' | 'hidden' | 'heads' | 'B'>,
  extra: Partial<TrainConfig> = {},
) {
  const { meta, samples } = syntheticDataset(s);
  const trainer = new Trainer(meta, samples, {
    ...TRAIN_DEFAULTS,
    preset: s.preset,
    channels: s.channels,
    layers: s.layers,
    hidden: s.hidden,
    heads: s.heads,
    dropout: 0.1,
    batchSize: s.B,
    accumulationSteps: 1,
    epochs: 1,
    warmupEpochs: 0,
    patience: 0,
    ...extra,
  });
  return { trainer, samples };
}

export async function trainOnce(s: TrainBenchShape, recurrence: Recurrence): Promise<Run> {
  const { trainer } = benchTrainer(s, s.augment ? { augment: s.augment } : {});
  const model = trainer.model as { recurrence?: Recurrence; kernels?: Kernels };
  if ('recurrence' in model) model.recurrence = recurrence;
  if ('kernels' in model) model.kernels = recurrence; // 'composed': the transformer's and tcn's TF.js ops
  const be = tf.backend() as tf.KernelBackend & { read: (id: object) => Promise<unknown> };
  const origRead = be.read.bind(be);
  let reads = 0;
  be.read = (id: object) => {
    reads++;
    return origRead(id);
  };
  const dispatches = watchDispatches(undefined, true);
  const stamps: number[] = [];
  const losses: number[] = [];
  let tensorsAt3 = 0,
    tensorsLast = 0,
    readsAt3 = 0,
    dispatchesAt3 = 0;
  let programsAt3: Record<string, number> = {};
  try {
    await trainer.run({
      onStep: (st) => {
        stamps.push(performance.now());
        losses.push(st.loss);
        if (st.step === 3) {
          tensorsAt3 = tf.memory().numTensors;
          readsAt3 = reads;
          dispatchesAt3 = dispatches.count.total;
          programsAt3 = { ...dispatches.count.byName };
        }
        tensorsLast = tf.memory().numTensors;
      },
    });
  } finally {
    be.read = origRead;
    dispatches.stop();
  }
  if (stamps.length < 5) throw new Error(`training benchmark ${s.preset}: ${stamps.length} steps ran, at least 5 needed (3 warm-up)`);
  const bad = losses.findIndex((l) => !Number.isFinite(l));
  if (bad >= 0) throw new Error(`training benchmark ${s.preset} (${recurrence}): step ${bad + 1} loss is ${losses[bad]}`);
  const timed = stamps.length - 3;
  return {
    trainer,
    losses,
    stepMs: stamps.slice(3).map((t, i) => t - stamps[2 + i]),
    dispatchesPerStep: (dispatches.count.total - dispatchesAt3) / timed,
    programsPerStep: Object.entries(dispatches.count.byName ?? {})
      .map(([k, n]): [string, number] => [k, (n - (programsAt3[k] ?? 0)) / timed])
      .filter(([, n]) => n > 0)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 12),
    readbacksPerStep: (reads - readsAt3) / timed,
    tensorGrowth: tensorsLast - tensorsAt3,
  };
}

const spread = (xs: number[]): [number, number] => [Math.min(...xs), Math.max(...xs)];

export async function benchTrain(s: TrainBenchShape): Promise<TrainBenchResult> {
  const run = await trainOnce(s, 'auto');
  let composed: TrainBenchResult['composed'];
  if (s.compareComposed) {
    const ref = await trainOnce(s, 'composed');
    ref.trainer.dispose();
    // The same data, seeds and dropout masks: the fused kernels agree to ~1e-6 (e2e/lstm-kernel.spec.ts, e2e/kernels.spec.ts),
    // so the step losses may drift apart only by float rounding carried through the Adam updates.
    const lossMaxRelDiff = Math.max(...run.losses.map((l, i) => Math.abs(l - ref.losses[i]) / Math.abs(ref.losses[i])));
    if (!(lossMaxRelDiff <= 1e-3)) {
      throw new Error(`training benchmark ${s.preset}: fused and composed kernels disagree, step losses ${run.losses.join(', ')} vs ${ref.losses.join(', ')}`);
    }
    composed = {
      msPerStep: median(ref.stepMs),
      msSpread: spread(ref.stepMs),
      dispatchesPerStep: ref.dispatchesPerStep,
      programsPerStep: ref.programsPerStep,
      lossMaxRelDiff,
    };
  }
  const { trainer } = run;
  const { meta, samples } = syntheticDataset(s);
  const msPerStep = median(run.stepMs);
  // Training ≈ 3× the forward FLOPs (forward + two matmuls per matmul in the backward pass).
  const gflop = (3 * samples.slice(0, s.B).reduce((a, x) => a + trainer.model.forwardFlops(x.frames), 0)) / 1e9;
  const idx = tokenIndex(meta.vocab);
  const t0 = performance.now();
  for (let i = 0; i < 5; i++) makeBatch(samples.slice(i * s.B, (i + 1) * s.B), meta, idx);
  const batchAssemblyMs = (performance.now() - t0) / 5;
  const mm = await matmulGflops();
  const result: TrainBenchResult = {
    shape: s,
    backend: tf.getBackend(),
    params: trainer.model.paramCount(),
    msPerStep,
    msSpread: spread(run.stepMs),
    dispatchesPerStep: run.dispatchesPerStep,
    programsPerStep: run.programsPerStep,
    framesPerSecond: (s.B * (s.T - 4)) / (msPerStep / 1000),
    modelGflopPerStep: gflop,
    matmulGflops: mm,
    mfu: gflop / (msPerStep / 1000) / mm,
    readbacksPerStep: run.readbacksPerStep,
    tensorGrowth: run.tensorGrowth,
    batchAssemblyMs,
    composed,
  };
  trainer.dispose();
  return result;
}
