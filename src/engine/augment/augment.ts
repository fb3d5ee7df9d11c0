// Augmentation of a training batch on the device: the plan (plan.ts, a few numbers per sample
// drawn on the CPU, uploaded) applied with tfjs ops to the normalised features, with no read-back.
// Order: time (stretch, frame dropping: one gather + linear interpolation) → feature-axis warp →
// noise → time and feature masks (to 0, the normalised mean). Only the training step calls it:
// validation, diagnostics and exports build their batches with batchTensors.

import * as tf from '@tensorflow/tfjs-core';
import type { Batch } from '../../data/batch';
import { ctcMinFrames } from '../../lib/ctc_frames';
import { batchTensors, type BatchTensors } from '../train/batch_tensors';
import { planAugmentation, type AugmentKey, type AugmentPlan, type Lerp } from './plan';
import { augmentActive, type AugmentSettings } from './settings';

/** out[r, :] = src[i0[r], :] · wa[r] + src[i1[r], :] · wb[r] over the rows of a 2-D tensor. */
function lerpRows(src: tf.Tensor2D, l: Lerp): tf.Tensor2D {
  const n = l.i0.length;
  const a = tf.gather(src, tf.tensor1d(l.i0, 'int32'));
  const b = tf.gather(src, tf.tensor1d(l.i1, 'int32'));
  return tf.add(tf.mul(a, tf.tensor2d(l.wa, [n, 1])), tf.mul(b, tf.tensor2d(l.wb, [n, 1])));
}

/** The plan applied to x [B, T, F] (normalised, zero-padded): [B, T2, F]. Pure: call inside tf.tidy. */
export function applyPlan(p: AugmentPlan, x: tf.Tensor3D): tf.Tensor3D {
  const { B, T, F, T2 } = p;
  let y: tf.Tensor3D = x;
  if (p.time) y = tf.reshape(lerpRows(tf.reshape(y, [B * T, F]), p.time), [B, T2, F]);
  if (p.warp) {
    // Rows b·F + d of the transposed features [B·F, T2]: each sample's bins interpolated along the feature axis.
    const rows = tf.reshape(tf.transpose(y, [0, 2, 1]), [B * F, T2]) as tf.Tensor2D;
    y = tf.transpose(tf.reshape(lerpRows(rows, p.warp), [B, F, T2]), [0, 2, 1]);
  }
  if (p.noise) y = tf.add(y, tf.tensor3d(p.noise, [B, T2, F]));
  if (p.keepT) y = tf.mul(y, tf.tensor3d(p.keepT, [B, T2, 1]));
  if (p.keepF) y = tf.mul(y, tf.tensor3d(p.keepF, [B, 1, F]));
  return y;
}

/** The plan for a padded batch: lengths, labels' CTC needs and the model's output frames. */
export function planForBatch(model: { outFrames(frames: number): number }, b: Batch, a: AugmentSettings, key: AugmentKey): AugmentPlan {
  const minFrames = Array.from({ length: b.B }, (_, i) => ctcMinFrames(b.labels.subarray(i * b.L, i * b.L + b.labelLengths[i])));
  return planAugmentation(a, key, { T: b.T, F: b.F, frames: b.frames, minFrames, outFrames: (f) => model.outFrames(f) });
}

/**
 * A training micro-batch's tensors, augmented: batchTensors of the batch when every op is off
 * (exactly the batch), else the augmented features with their new lengths, output frames and mask.
 */
export function augmentedBatchTensors(model: { outFrames(frames: number): number }, b: Batch, a: AugmentSettings | undefined, key: AugmentKey): BatchTensors {
  if (!augmentActive(a)) return batchTensors(model, b);
  const p = planForBatch(model, b, a, key);
  const x = tf.tidy(() => applyPlan(p, tf.tensor3d(b.x, [b.B, b.T, b.F])));
  const maxOutFrames = model.outFrames(p.T2);
  const outFrames = Array.from(p.frames, (f) => model.outFrames(f));
  const mask = new Float32Array(b.B * maxOutFrames);
  outFrames.forEach((n, i) => mask.fill(1, i * maxOutFrames, i * maxOutFrames + n));
  return {
    maxOutFrames,
    outFrames,
    x,
    frames: p.frames,
    mask: tf.tensor3d(mask, [b.B, maxOutFrames, 1]),
    labels: tf.tensor2d(b.labels, [b.B, b.L], 'int32'),
    xl: tf.tensor1d(outFrames, 'int32'),
    yl: tf.tensor1d(b.labelLengths, 'int32'),
  };
}
