// A padded Batch as the tensors a CTC step needs: features, output-rate mask and lengths, labels.
// One place for the output-length / mask arithmetic shared by training, the overfit test and the
// diagnostics.

import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../../data/batch';

export interface BatchTensors {
  maxOutFrames: number; // output frames of the padded batch (T')
  outFrames: number[]; // output frames per sample
  x: tf.Tensor3D; // [B, T, F]
  frames: ArrayLike<number>; // input frames per sample
  mask: tf.Tensor3D; // [B, maxOutFrames, 1], 1 on real output frames
  labels: tf.Tensor2D; // [B, L] int32
  xl: tf.Tensor1D; // output lengths, int32
  yl: tf.Tensor1D; // label lengths, int32
}

export function batchTensors(model: { outFrames(frames: number): number }, b: Batch): BatchTensors {
  const maxOutFrames = model.outFrames(b.T);
  const outFrames = Array.from(b.frames, (f) => model.outFrames(f));
  const mask = new Float32Array(b.B * maxOutFrames);
  outFrames.forEach((n, i) => mask.fill(1, i * maxOutFrames, i * maxOutFrames + n));
  return {
    maxOutFrames,
    outFrames,
    x: tf.tensor3d(b.x, [b.B, b.T, b.F]),
    frames: b.frames,
    mask: tf.tensor3d(mask, [b.B, maxOutFrames, 1]),
    labels: tf.tensor2d(b.labels, [b.B, b.L], 'int32'),
    xl: tf.tensor1d(outFrames, 'int32'),
    yl: tf.tensor1d(b.labelLengths, 'int32'),
  };
}

export function disposeBatchTensors(t: BatchTensors): void {
  tf.dispose([t.x, t.mask, t.labels, t.xl, t.yl]);
}
