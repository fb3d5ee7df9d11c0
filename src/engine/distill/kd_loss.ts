// The distillation term of a student–teacher loss (Hinton et al. 2015; VAC's SeqKD for CTC):
//
//   kd = τ² · KL(softmax(teacher/τ) ‖ softmax(student/τ))   per output frame,
//        averaged over each sample's valid output frames, then over the batch ('mean').
//
// With excludeBlank the blank class is left out of both distributions, which are renormalised
// over the other classes (CTC posteriors are mostly blank; without it the KL is dominated by
// how blank-heavy each frame is). The τ² factor keeps the gradient's size independent of τ:
// d(τ²·KL)/ds = τ·(q − p), which for large τ tends to (s − t)/K on zero-mean logits.
//
// Teacher rows may be logits or log-probs (softmax is invariant to a per-frame shift). Composed
// TF.js ops (every backend, no read-back) inside tf.customGrad with the closed-form gradient;
// masked frames contribute nothing even when they hold NaN or Inf.

import * as tf from '@tensorflow/tfjs-core';

export interface KdOptions {
  temperature: number; // τ > 0; VAC: 8
  excludeBlank: boolean; // VAC: true
  blank?: number; // 0
  reduction?: 'none' | 'mean'; // 'none': [B] per sample; default 'mean': their batch mean
}

/** Drops class `blank` from the last axis. */
function withoutClass(x: tf.Tensor3D, blank: number): tf.Tensor3D {
  const [B, T, C] = x.shape;
  const parts: tf.Tensor3D[] = [];
  if (blank > 0) parts.push(tf.slice(x, [0, 0, 0], [B, T, blank]));
  if (blank < C - 1) parts.push(tf.slice(x, [0, 0, blank + 1], [B, T, C - blank - 1]));
  return parts.length === 1 ? parts[0] : (tf.concat(parts, 2) as tf.Tensor3D);
}

/** Inserts a zero column at class `blank` (inverse of withoutClass for a gradient). */
function withZeroClass(g: tf.Tensor3D, blank: number): tf.Tensor3D {
  const [B, T, K] = g.shape;
  const zero = tf.zeros([B, T, 1]);
  const parts: tf.Tensor[] = [];
  if (blank > 0) parts.push(tf.slice(g, [0, 0, 0], [B, T, blank]));
  parts.push(zero);
  if (blank < K) parts.push(tf.slice(g, [0, 0, blank], [B, T, K - blank]));
  return tf.concat(parts, 2) as tf.Tensor3D;
}

/**
 * τ²·KL(softmax(teacher/τ) ‖ softmax(student/τ)) averaged over each sample's valid frames.
 * student, teacher: [B, T, C]; mask: [B, T, 1] (1 on valid output frames, 0 elsewhere).
 * Returns [B] ('none') or a scalar ('mean'). Differentiable w.r.t. the student only.
 */
export function kdLoss(student: tf.Tensor3D, teacher: tf.Tensor3D, mask: tf.Tensor3D, opts: KdOptions): tf.Tensor {
  const [B, T, C] = student.shape;
  const tau = opts.temperature;
  const blank = opts.blank ?? 0;
  if (!(tau > 0) || !Number.isFinite(tau)) throw new Error(`kdLoss: temperature must be a positive number, got ${tau}`);
  if (teacher.shape.some((d, i) => d !== student.shape[i])) {
    throw new Error(`kdLoss: teacher shape [${teacher.shape}] differs from the student's [${student.shape}]`);
  }
  if (mask.shape[0] !== B || mask.shape[1] !== T) throw new Error(`kdLoss: mask shape [${mask.shape}], expected [${B}, ${T}, 1]`);
  if (blank < 0 || blank >= C) throw new Error(`kdLoss: blank ${blank} outside [0, ${C})`);
  if (opts.excludeBlank && C < 2) throw new Error('kdLoss: excluding the blank leaves no class');
  const keep = (x: tf.Tensor3D) => (opts.excludeBlank ? withoutClass(x, blank) : x);
  const K = opts.excludeBlank ? C - 1 : C;
  return tf.tidy(() => {
    const m = tf.reshape(mask, [B, T]).toFloat();
    const valid = tf.greater(m, 0); // [B, T]
    const validK = tf.broadcastTo(tf.reshape(valid, [B, T, 1]), [B, T, K]);
    const w = tf.div(m, tf.maximum(tf.sum(m, 1, true), 1)); // [B, T]: 1 / valid frames of the sample
    const logp = tf.logSoftmax(tf.div(keep(teacher), tau)) as tf.Tensor3D; // [B, T, K]
    const p = tf.exp(logp);
    const pPositive = tf.greater(p, 0);
    const zerosBT = tf.zeros([B, T]);
    const zerosK = tf.zeros([B, T, K]);
    const perSample = tf.customGrad(((s: tf.Tensor, save: tf.GradSaveFunc) => {
      const logq = tf.logSoftmax(tf.div(keep(s as tf.Tensor3D), tau));
      const q = tf.exp(logq);
      // p·(log p − log q), with 0·log 0 = 0 (also for a −∞ teacher log-prob)
      const terms = tf.where(pPositive, tf.mul(p, tf.sub(logp, logq)), zerosK);
      const frame = tf.where(valid, tf.mul(tf.sum(terms, 2), w), zerosBT); // [B, T]
      const value = tf.mul(tf.sum(frame, 1), tau * tau); // [B]
      // d value_b / d s_btc = τ·w_bt·(q − p) on kept classes of valid frames, 0 elsewhere
      const gKept = tf.where(validK, tf.mul(tf.mul(tf.sub(q, p), tf.reshape(w, [B, T, 1])), tau), zerosK) as tf.Tensor3D;
      save([opts.excludeBlank ? withZeroClass(gKept, blank) : gKept]);
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0], tf.reshape(dy, [B, 1, 1])),
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0])(student) as tf.Tensor1D;
    return (opts.reduction ?? 'mean') === 'none' ? perSample : tf.mean(perSample);
  });
}
