// A model's log-probabilities per sample (log_softmax over the classes, the sample's own output
// frames only): what Export model outputs writes and the alignment view of a checkpoint draws.
// Batches in the order given (a sample's outputs do not depend on its batch: tested per preset);
// one asynchronous read-back per batch.

import * as tf from '@tensorflow/tfjs-core';
import { makeBatch, tokenIndex } from '../../data/batch';
import type { DatasetMeta, Split } from '../../data/types';
import type { SampleSource } from '../../data/source';
import type { OutputsWriterInfo } from '../../data/outputs_write';
import type { SequenceModel } from '../model/model';
import { batchTensors, disposeBatchTensors } from '../train/batch_tensors';
import { throwOnGpuErrors } from '../backend';

export interface SampleLogProbs {
  index: number;
  id: string;
  text: string;
  split: Split;
  frames: number; // input frames
  outFrames: number; // T'
  logProbs: Float32Array; // [T', C]
}

/** What an exported output set says of itself (outputs.json): the lab's classes, blank 0, the model's subsampling, where it came from. */
export function exportedOutputsInfo(
  model: SequenceModel,
  dataset: DatasetMeta,
  checkpoint: { fileName: string; epoch: number },
  split: string,
): OutputsWriterInfo {
  return {
    classes: ['<blank>', ...dataset.vocab],
    blank: 0,
    subsampling: model.subsampling,
    frameShiftMs: null,
    model: `CTC Lab ${model.config.preset} (${model.paramCount()} parameters), checkpoint ${checkpoint.fileName}, epoch ${checkpoint.epoch}, on ${dataset.name} ${split}`,
  };
}

export async function* modelLogProbs(
  model: SequenceModel,
  meta: DatasetMeta,
  source: SampleSource,
  indices: number[],
  batchSize = 16,
): AsyncGenerator<SampleLogProbs> {
  const C = model.config.numClasses;
  const index = tokenIndex(meta.vocab);
  for (let i = 0; i < indices.length; i += batchSize) {
    const samples = await source.load(indices.slice(i, i + batchSize));
    // Labels are not needed: a placeholder transcript keeps out-of-vocabulary val/test tokens from
    // stopping the batch assembly.
    const b = makeBatch(
      samples.map((s) => ({ ...s, text: meta.vocab[0] })),
      meta,
      index,
    );
    const t = batchTensors(model, b);
    const lpT = tf.tidy(() => tf.logSoftmax(model.apply(t, false)));
    const lp = (await lpT.data()) as Float32Array;
    lpT.dispose();
    disposeBatchTensors(t);
    throwOnGpuErrors('model outputs');
    for (let k = 0; k < samples.length; k++) {
      const s = samples[k],
        n = t.outFrames[k];
      yield {
        index: s.index,
        id: s.id,
        text: s.text,
        split: s.split,
        frames: s.frames,
        outFrames: n,
        logProbs: lp.slice(k * t.maxOutFrames * C, (k * t.maxOutFrames + n) * C),
      };
    }
  }
}
