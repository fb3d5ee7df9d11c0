import * as tf from '@tensorflow/tfjs-core';

/**
 * Global L2 norm of a list of tensors. Not tf.addN: on WebGPU it binds every input as a storage
 * buffer and fails validation past 7 inputs (maxStorageBuffersPerShaderStage = 8), which
 * silently drops the whole command buffer — the optimizer update with it. Stack is split by
 * tfjs's concat; the sum is one reduction.
 */
export function globalNorm(ts: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.sum(tf.stack(ts.map((t) => tf.sum(tf.square(t)))))) as tf.Scalar);
}
