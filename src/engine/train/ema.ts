// Exponential moving average of a run's weights (TrainConfig.emaDecay d; 0 = off): after every
// applied optimizer step, ema ← d·ema + (1 − d)·w, on the device (tf variables, no read-back),
// starting from the weights the run starts with. With it on, validation, `best` and the model a
// checkpoint's "model.…" tensors hold are the average; the weights the optimizer updates travel
// in the same file as "train.model.…" (TRAIN_WEIGHTS_PREFIX), so a resume continues both exactly.
// The twin's ema.py does the same arithmetic on the same tensors.

import * as tf from '@tensorflow/tfjs-core';
import type { StTensor } from '../checkpoint/safetensors';
import { emaDecayProblem } from './averaging_settings';

export { emaDecayProblem, emaTensorShapes, TRAIN_WEIGHTS_PREFIX } from './averaging_settings';

export class WeightEma {
  /** parameter name → its average */
  readonly average = new Map<string, tf.Variable>();

  constructor(
    params: Map<string, tf.Variable>,
    readonly decay: number,
  ) {
    const problem = emaDecayProblem(decay);
    if (problem || decay === 0) throw new Error(problem ?? 'emaDecay 0 is off: no average to keep');
    for (const [name, p] of params) this.average.set(name, tf.variable(p.clone(), false));
  }

  /** One update after an optimizer step: ema ← d·ema + (1 − d)·w (float32, as the twin). */
  update(params: Map<string, tf.Variable>): void {
    const d = this.decay;
    tf.tidy(() => {
      for (const [name, p] of params) {
        const e = this.average.get(name)!;
        e.assign(tf.add(tf.mul(e, d), tf.mul(p, 1 - d)));
      }
    });
  }

  /** Sets the average from tensors named as the parameters (a checkpoint's "model.…"), each checked for its shape. */
  load(tensors: Record<string, StTensor>, file = 'checkpoint'): void {
    for (const [name, v] of this.average) {
      const t = tensors[name];
      if (!t || t.shape.join() !== v.shape.join())
        throw new Error(`${file}: EMA tensor ${name} is ${t ? `[${t.shape}]` : 'missing'}, the model needs [${v.shape}]`);
    }
    tf.tidy(() => {
      for (const [name, v] of this.average) v.assign(tf.tensor(Float32Array.from(tensors[name].data), v.shape));
    });
  }

  /** Runs `fn` with the average in the model's parameters, then puts the trained weights back. */
  swapped<T>(params: Map<string, tf.Variable>, fn: () => Promise<T>): Promise<T> {
    return withWeights(params, this.average, fn);
  }

  dispose(): void {
    tf.dispose([...this.average.values()]);
    this.average.clear();
  }
}

/**
 * Runs `fn` with `weights` in the model's parameters, then puts the parameters' own values back
 * (tf.clone holds a reference and assign swaps buffers: nothing is copied on the device).
 */
export async function withWeights<T>(params: Map<string, tf.Variable>, weights: Map<string, tf.Tensor>, fn: () => Promise<T>): Promise<T> {
  const own = new Map([...params].map(([name, p]) => [name, tf.clone(p)]));
  try {
    for (const [name, p] of params) p.assign(weights.get(name)!);
    return await fn();
  } finally {
    for (const [name, p] of params) p.assign(own.get(name)!);
    tf.dispose([...own.values()]);
  }
}
