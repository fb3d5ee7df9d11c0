// A distillation run's step loss: ctcWeight · CTC(student) + kdWeight · τ²·KL(teacher ‖ student)
// (VAC's SeqKD: CTC 'mean' per label token, the KL term averaged over each sample's valid frames,
// both then averaged over the batch). CTC is skipped when its weight is 0.

import * as tf from '@tensorflow/tfjs-core';
import { ctcLoss } from '../ctc/ctc_loss';
import type { BatchTensors } from '../train/batch_tensors';
import { kdLoss } from './kd_loss';
import type { DistillSettings } from './settings';

/** total: the weighted loss to minimise; kd: the unweighted τ²·KL term (reported per step). */
export function distillationLoss(student: tf.Tensor3D, teacher: tf.Tensor3D, t: BatchTensors, s: DistillSettings): { total: tf.Scalar; kd: tf.Scalar } {
  const kd = kdLoss(student, teacher, t.mask, { temperature: s.temperature, excludeBlank: s.excludeBlank }) as tf.Scalar;
  let total = tf.mul(kd, s.kdWeight) as tf.Scalar;
  if (s.ctcWeight !== 0) total = tf.add(total, tf.mul(ctcLoss(student, t.labels, t.xl, t.yl), s.ctcWeight)) as tf.Scalar;
  return { total, kd };
}
