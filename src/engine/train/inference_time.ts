// Inference time of a model in ms per sample (the distillation summary compares a student's with
// its teacher's): eval forward, argmax and its read-back, timed after one warm-up batch.

import * as tf from '@tensorflow/tfjs-core';
import { makeBatch } from '../../data/batch';
import type { SampleInfo, SampleSource } from '../../data/source';
import type { DatasetMeta } from '../../data/types';
import type { SequenceModel } from '../model/model';
import { batchTensors, disposeBatchTensors, type BatchTensors } from './batch_tensors';

/**
 * ms per sample over the shortest `maxSamples` of `samples` in batches, the features assembled
 * beforehand (not timed), after one warm-up batch. null without samples.
 */
export async function inferenceMsPerSample(
  model: SequenceModel,
  data: { source: SampleSource; meta: DatasetMeta; index: Map<string, number> },
  samples: SampleInfo[],
  maxSamples = 64,
  batchSize = 16,
): Promise<number | null> {
  const chosen = [...samples].sort((a, b) => a.frames - b.frames).slice(0, maxSamples);
  if (chosen.length === 0) return null;
  const inputs: BatchTensors[] = [];
  for (let i = 0; i < chosen.length; i += batchSize) {
    const chunk = await data.source.load(chosen.slice(i, i + batchSize).map((s) => s.index));
    inputs.push(batchTensors(model, makeBatch(chunk, data.meta, data.index)));
  }
  const once = async (t: BatchTensors) => {
    const best = tf.tidy(() => tf.argMax(model.apply(t, false), 2));
    await best.data();
    best.dispose();
  };
  try {
    await once(inputs[0]); // warm-up: shader compilation, first allocations
    const t0 = performance.now();
    for (const t of inputs) await once(t);
    return (performance.now() - t0) / chosen.length;
  } finally {
    inputs.forEach(disposeBatchTensors);
  }
}
