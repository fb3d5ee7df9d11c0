// Pieces every preset shares: named parameter storage (built from the config's parameter list in
// shapes.ts, lookup, loading by name, count, dispose), seeded uniform init, per-sample length masks
// and LayerNorm.

import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../../lib/rng';
import type { StoredTensor } from './model';
import type { ParamSpec } from './shapes';

/** Owns a model's parameters: plain unnamed tf.Variables under stable names ("model.…"). */
export abstract class ParamModel {
  readonly params = new Map<string, tf.Variable>();

  /** Creates the parameters `specs` lists, in its order, initialised as each says (uniform ones drawn from `seed`). */
  protected build(specs: ParamSpec[], seed: number): void {
    const uniform = uniformInit(new Rng(seed));
    for (const { name, shape, init } of specs) {
      const t = init.kind === 'uniform' ? uniform(shape, init.limit) : init.kind === 'fill' ? tf.fill(shape, init.value, 'float32') : lstmBias(shape);
      this.params.set(name, tf.variable(t, true)); // unnamed: tfjs variable names are global, ours are per model
      t.dispose();
    }
  }

  p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`model has no parameter ${name}`);
    return v;
  }

  /** Loads weights by name ("model.…"); every parameter must be present with its exact shape, else nothing changes. */
  loadTensors(tensors: Record<string, StoredTensor>, file = 'checkpoint'): void {
    for (const [name, v] of this.params) {
      const t = tensors[name];
      if (!t) throw new Error(`${file}: tensor ${name} is missing`);
      if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
        throw new Error(`${file}: tensor ${name} has shape [${t.shape}], the model needs [${v.shape}]`);
      }
    }
    for (const [name, v] of this.params) {
      const t = tensors[name];
      tf.tidy(() => v.assign(tf.tensor(Float32Array.from(t.data), t.shape)));
    }
  }

  paramCount(): number {
    let n = 0;
    for (const v of this.params.values()) n += v.size;
    return n;
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.params.clear();
  }
}

/** An LSTM bias [2, 4H] (gates i | f | g | o per direction): 0, the forget gate 1. */
function lstmBias(shape: number[]): tf.Tensor {
  const H = shape[1] / 4;
  const bias = new Float32Array(2 * 4 * H);
  for (let d = 0; d < 2; d++) bias.fill(1, d * 4 * H + H, d * 4 * H + 2 * H);
  return tf.tensor(bias, shape);
}

/** Uniform(-limit, limit) tensors drawn from `rng` in row-major order. */
export function uniformInit(rng: Rng): (shape: number[], limit: number) => tf.Tensor {
  return (shape, limit) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => (2 * rng.next() - 1) * limit),
      shape,
    );
}

/** [B, T, 1] float mask, 1 on each sample's first lengths[b] frames (built on the CPU: no GPU read). */
export function lengthMask(lengths: readonly number[], T: number): tf.Tensor3D {
  const m = new Float32Array(lengths.length * T);
  lengths.forEach((n, b) => m.fill(1, b * T, b * T + Math.min(n, T)));
  return tf.tensor3d(m, [lengths.length, T, 1]);
}

/** LayerNorm over the last axis (biased variance, eps 1e-5 as in PyTorch). */
export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps = 1e-5): tf.Tensor {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
  });
}
