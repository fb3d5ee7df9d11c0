// SGD with (optionally Nesterov-free, classic) momentum and L2 weight decay, PyTorch's semantics:
//   g' = g + wd * p;  v = momentum * v + g';  p -= lr * v
// Slots are "optim.momentum.<param>".

import * as tf from '@tensorflow/tfjs-core';

export interface SgdConfig {
  lr: number;
  momentum: number; // usual 0.9
  weightDecay: number; // L2, added to the gradient
}

export class Sgd {
  readonly config: SgdConfig;
  step = 0;
  readonly slots = new Map<string, tf.Variable>();

  constructor(params: Map<string, tf.Variable>, config: SgdConfig) {
    this.config = config;
    for (const [name, p] of params) {
      const z = tf.zerosLike(p);
      this.slots.set(`optim.momentum.${name}`, tf.variable(z, false));
      z.dispose();
    }
  }

  apply(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr = this.config.lr): void {
    this.step++;
    const { momentum, weightDecay } = this.config;
    tf.tidy(() => {
      for (const [name, p] of params) {
        let g = grads[name];
        if (!g) continue;
        if (weightDecay > 0) g = tf.add(g, tf.mul(p, weightDecay));
        const v = this.slots.get(`optim.momentum.${name}`)!;
        const v1 = momentum > 0 ? tf.add(tf.mul(v, momentum), g) : g;
        if (momentum > 0) v.assign(v1);
        p.assign(tf.sub(p, tf.mul(v1, lr)));
      }
    });
  }

  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }
}
