// Adam / AdamW (decoupled weight decay, Loshchilov & Hutter 2019) over named tf.Variables.
// Slots are named "optim.m.<param>" / "optim.v.<param>" so they go into checkpoints as they are.

import * as tf from '@tensorflow/tfjs-core';

export interface AdamConfig {
  lr: number; // usual 3e-4 .. 3e-3
  beta1: number; // 0.9
  beta2: number; // 0.999
  eps: number; // 1e-8
  weightDecay: number; // AdamW decoupled decay, 0 = plain Adam
}

export const ADAM_DEFAULTS: AdamConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

export class Adam {
  readonly config: AdamConfig;
  step = 0;
  readonly slots = new Map<string, tf.Variable>();

  constructor(params: Map<string, tf.Variable>, config: Partial<AdamConfig> = {}) {
    this.config = { ...ADAM_DEFAULTS, ...config };
    for (const [name, p] of params) {
      for (const slot of ['m', 'v']) {
        const z = tf.zerosLike(p);
        this.slots.set(`optim.${slot}.${name}`, tf.variable(z, false));
        z.dispose();
      }
    }
  }

  /** One update. grads: parameter name → gradient. lr overrides the configured rate (schedules). */
  apply(params: Map<string, tf.Variable>, grads: Record<string, tf.Tensor>, lr = this.config.lr): void {
    this.step++;
    const { beta1: b1, beta2: b2, eps, weightDecay } = this.config;
    const c1 = 1 - b1 ** this.step;
    const c2 = 1 - b2 ** this.step;
    tf.tidy(() => {
      for (const [name, p] of params) {
        const g = grads[name];
        if (!g) continue;
        const m = this.slots.get(`optim.m.${name}`)!;
        const v = this.slots.get(`optim.v.${name}`)!;
        const m1 = tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1));
        const v1 = tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2));
        m.assign(m1);
        v.assign(v1);
        let update = tf.div(tf.div(m1, c1), tf.add(tf.sqrt(tf.div(v1, c2)), eps));
        if (weightDecay > 0) update = tf.add(update, tf.mul(p, weightDecay));
        p.assign(tf.sub(p, tf.mul(update, lr)));
      }
    });
  }

  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }
}
