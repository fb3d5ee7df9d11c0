// Training throughput of each model preset on the active backend at PHOENIX-like shapes: frames/s,
// model FLOPs utilisation against this device's measured matmul rate, read-backs per step,
// tensor-count growth, and batch assembly time against step time (the GPU must not wait on data).

import * as tf from '@tensorflow/tfjs';
import { makeBatch, tokenIndex } from '../src/data/batch';
import type { DatasetMeta, SampleRecord } from '../src/data/types';
import { Rng } from '../src/lib/rng';
import { TRAIN_DEFAULTS } from '../src/engine/train/config';
import { Trainer } from '../src/engine/train/trainer';
import type { Preset } from '../src/engine/model/presets';

export interface TrainBenchShape {
  name: string;
  preset: Preset;
  B: number; // batch size
  T: number; // input frames per sample
  F: number; // feature dim
  V: number; // vocabulary (classes = V + 1)
  L: number; // tokens per transcript
  steps: number; // optimizer steps timed
  channels: number; // tcn width / conv channels / d_model
  layers: number;
  hidden: number; // BiLSTM
  heads: number; // transformer
}

export const DEFAULT_TRAIN_SHAPES: TrainBenchShape[] = [
  { name: 'PHOENIX-like', preset: 'tcn', B: 8, T: 150, F: 512, V: 1296, L: 28, steps: 10, channels: 128, layers: 3, hidden: 0, heads: 0 },
  { name: 'PHOENIX-like', preset: 'tconv-bilstm', B: 8, T: 150, F: 512, V: 1296, L: 28, steps: 6, channels: 128, layers: 2, hidden: 128, heads: 0 },
  { name: 'PHOENIX-like', preset: 'transformer', B: 8, T: 150, F: 512, V: 1296, L: 28, steps: 6, channels: 128, layers: 4, hidden: 0, heads: 4 },
];

export interface TrainBenchResult {
  shape: TrainBenchShape;
  backend: string;
  params: number;
  msPerStep: number;
  framesPerSecond: number; // input frames per second
  modelGflopPerStep: number; // forward + backward (3× forward), matmul/conv FLOPs only
  matmulGflops: number; // measured on a 1024² matmul
  mfu: number; // model FLOP/s / matmul FLOP/s
  readbacksPerStep: number;
  tensorGrowth: number; // numTensors after the last step minus after step 3
  batchAssemblyMs: number; // makeBatch for one batch (CPU)
}

function syntheticDataset(s: TrainBenchShape, seed = 5): { meta: DatasetMeta; samples: SampleRecord[] } {
  const rng = new Rng(seed);
  const vocab = Array.from({ length: s.V }, (_, i) => `G${i}`);
  const n = s.B * s.steps;
  const samples: SampleRecord[] = Array.from({ length: n }, (_, i) => {
    const T = s.T - rng.int(0, 8);
    return {
      datasetId: 'bench', index: i, id: `b${i}`, split: 'train', frames: T,
      text: Array.from({ length: s.L }, () => vocab[rng.int(0, s.V - 1)]).join(' '),
      features: Float32Array.from({ length: T * s.F }, () => rng.normal()).buffer,
    };
  });
  const meta: DatasetMeta = {
    id: 'bench', name: 'bench', source: 'demo', createdAt: 0, numSamples: n, counts: { train: n, val: 0, test: 0 }, featureDim: s.F,
    frames: { min: s.T - 8, mean: s.T - 4, max: s.T }, vocab, norm: { mean: new Array(s.F).fill(0), std: new Array(s.F).fill(1) }, bytes: 0,
  };
  return { meta, samples };
}

async function matmulGflops(n = 1024, reps = 3): Promise<number> {
  const a = tf.randomNormal([n, n]), b = tf.randomNormal([n, n]);
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

export async function benchTrain(s: TrainBenchShape): Promise<TrainBenchResult> {
  const { meta, samples } = syntheticDataset(s);
  const trainer = new Trainer(meta, samples, { ...TRAIN_DEFAULTS, preset: s.preset, channels: s.channels, layers: s.layers, hidden: s.hidden, heads: s.heads, dropout: 0.1, batchSize: s.B, accumulationSteps: 1, epochs: 1, warmupEpochs: 0, patience: 0 });
  const be = tf.backend() as tf.KernelBackend & { read: (id: object) => Promise<unknown> };
  const origRead = be.read.bind(be);
  let reads = 0;
  be.read = (id: object) => {
    reads++;
    return origRead(id);
  };
  const stamps: number[] = [];
  let tensorsAt3 = 0, tensorsLast = 0, readsAt3 = 0;
  await trainer.run({
    onStep: (st) => {
      stamps.push(performance.now());
      if (st.step === 3) {
        tensorsAt3 = tf.memory().numTensors;
        readsAt3 = reads;
      }
      tensorsLast = tf.memory().numTensors;
    },
  });
  be.read = origRead;
  const timedSteps = stamps.length - 3;
  const msPerStep = (stamps[stamps.length - 1] - stamps[2]) / timedSteps;
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
    framesPerSecond: (s.B * (s.T - 4)) / (msPerStep / 1000),
    modelGflopPerStep: gflop,
    matmulGflops: mm,
    mfu: gflop / (msPerStep / 1000) / mm,
    readbacksPerStep: (reads - readsAt3) / timedSteps,
    tensorGrowth: tensorsLast - tensorsAt3,
    batchAssemblyMs,
  };
  trainer.dispose();
  return result;
}
