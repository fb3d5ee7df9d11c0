// CTC loss composed from stock TF.js ops: the alpha recursion as a loop over T, gradient by
// autodiff. This is what one writes without a custom kernel (tensorflow/tfjs#1759); it is kept as
// the baseline the fused kernel is benchmarked against, and as one more independent check of it.
// -inf is a large finite negative so that autodiff through logSumExp stays finite.

import * as tf from '@tensorflow/tfjs-core';

const NEG = -1e30;

/** Per-sample nll [B]; differentiable w.r.t. logits. labels [B, L] int32 (L >= 1). */
export function ctcLossComposed(logits: tf.Tensor3D, labels: tf.Tensor2D, logitLengths: tf.Tensor1D, labelLengths: tf.Tensor1D, blank = 0): tf.Tensor1D {
  return tf.tidy(() => {
    const [B, T] = logits.shape;
    const L = labels.shape[1];
    const S = 2 * L + 1;
    const lp = tf.logSoftmax(logits); // [B, T, V]
    // Extended labels [B, S]: blank, l1, blank, l2, ..., blank.
    const blanks = tf.fill([B, L], blank, 'int32');
    const ext = tf.concat([tf.reshape(tf.stack([blanks, labels.toInt()], 2), [B, 2 * L]), tf.fill([B, 1], blank, 'int32')], 1);
    const V = logits.shape[2];
    const emit = tf.matMul(lp, tf.oneHot(ext, V).toFloat(), false, true) as tf.Tensor3D; // [B, T, V] x [B, S, V]^T → [B, T, S]
    // Skip transition s-2 → s allowed where ext[s] != blank and ext[s] != ext[s-2].
    const prev2 = tf.concat([tf.fill([B, 2], -1, 'int32'), tf.slice(ext, [0, 0], [B, S - 2])], 1);
    const canSkip = tf.logicalAnd(tf.notEqual(ext, blank), tf.notEqual(ext, prev2));
    const sIdx = tf.range(0, S, 1, 'int32');
    const negBS = tf.fill([B, S], NEG);
    const shift = (a: tf.Tensor, k: number) => tf.concat([tf.fill([B, k], NEG), tf.slice(a, [0, 0], [B, S - k])], 1);

    let alpha = tf.where(tf.less(tf.tile(tf.expandDims(sIdx, 0), [B, 1]), 2), tf.reshape(tf.slice(emit, [0, 0, 0], [B, 1, S]), [B, S]), negBS);
    const lenCol = tf.expandDims(logitLengths.toInt(), 1); // [B, 1]
    for (let t = 1; t < T; t++) {
      const a1 = shift(alpha, 1);
      const a2 = tf.where(canSkip, shift(alpha, 2), negBS);
      const next = tf.add(tf.logSumExp(tf.stack([alpha, a1, a2]), 0), tf.reshape(tf.slice(emit, [0, t, 0], [B, 1, S]), [B, S]));
      alpha = tf.where(tf.greater(lenCol, t), next, alpha); // frames past a sample's length leave alpha as it is
    }
    // ll = logsumexp(alpha[S_b - 1], alpha[S_b - 2]) with S_b = 2 L_b + 1.
    const last = tf.mul(labelLengths.toInt(), tf.scalar(2, 'int32')); // index S_b - 1
    const lastOh = tf.oneHot(last, S);
    const prevOh = tf.oneHot(tf.sub(last, tf.scalar(1, 'int32')), S); // all zeros when L_b = 0 (index -1)
    const pick = (oh: tf.Tensor) => tf.sum(tf.mul(tf.where(tf.cast(oh, 'bool'), alpha, tf.zerosLike(alpha)), 1), 1);
    const hasPrev = tf.greater(tf.sum(prevOh, 1), 0);
    const x1 = pick(lastOh);
    const x2 = tf.where(hasPrev, pick(prevOh), tf.fill([B], NEG));
    const ll = tf.logSumExp(tf.stack([x1, x2]), 0);
    return tf.neg(ll) as tf.Tensor1D;
  });
}
