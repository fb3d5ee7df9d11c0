// `transformer` preset: conv subsampling and a pre-LN Transformer encoder with a CTC head.
//
//   x [B, T, F] → Conv1D k3 stride 2 (F→d) + ReLU → Conv1D k3 stride 2 (d→d) + ReLU   (padding masked)
//                                          time subsampling ×4: T' = ceil(ceil(T/2)/2)
//              → + sinusoidal positions
//              → L × [h += dropout(MHSA(LN(h)));  h += dropout(FF(LN(h)))]   FF: d → 4d ReLU → d
//              → LN → Linear d → V+1                          logits [B, T', V+1], class 0 = blank
//
// Attention runs on [B, heads, T', d/heads] with an additive -1e9 bias on padded keys, so a real
// frame attends to real frames only; everything else is per frame.
//
// Parameters (stable names; linear weights are [in, out], conv weights [K, Cin, Cout]):
//   model.subsample.{0,1}.weight [3, Cin, d], .bias [d]
//   model.layers.{i}.ln1.gamma/beta [d], .attn.qkv.weight [d, 3d] (q | k | v, heads contiguous in
//   each), .attn.qkv.bias [3d], .attn.out.weight [d, d], .attn.out.bias [d], .ln2.gamma/beta [d],
//   .ff.1.weight [d, 4d], .ff.1.bias [4d], .ff.2.weight [4d, d], .ff.2.bias [d]
//   model.ln_final.gamma/beta [d], model.head.weight [d, V], model.head.bias [V]

import * as tf from '@tensorflow/tfjs-core';
import { layerNorm, lengthMask, ParamModel } from './base';
import { layerNormFused, maskedSoftmaxFused, residualDropoutFused, useFused, type Kernels } from './fused';
import type { ModelInput, SequenceModel } from './model';
import { paramSpecs } from './shapes';

export interface TransformerConfig {
  preset: 'transformer';
  featureDim: number; // F
  numClasses: number; // vocabulary size + 1 (blank at 0)
  channels: number; // d_model, usual 128 (even, divisible by heads)
  layers: number; // encoder layers, usual 4
  heads: number; // attention heads, usual 4
  dropout: number; // after attention and feed-forward, before each residual add
}

/** Sinusoidal positions [T, d]: sin on even, cos on odd channels (Vaswani et al.). */
function positions(T: number, d: number): tf.Tensor2D {
  const pe = new Float32Array(T * d);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < d; i += 2) {
      const a = t / 10000 ** (i / d);
      pe[t * d + i] = Math.sin(a);
      pe[t * d + i + 1] = Math.cos(a);
    }
  }
  return tf.tensor2d(pe, [T, d]);
}

export class TransformerModel extends ParamModel implements SequenceModel {
  readonly config: TransformerConfig;
  readonly subsampling = 4;
  /** 'auto': fused layer norm, masked softmax and residual dropout on webgpu (fused.ts); 'composed': TF.js ops everywhere. */
  kernels: Kernels = 'auto';

  constructor(config: TransformerConfig, seed: number) {
    super();
    const { channels: d, heads } = config;
    if (d % 2 || d % heads) throw new Error(`transformer: d_model ${d} must be even and divisible by the ${heads} heads`);
    this.config = config;
    this.build(paramSpecs(config), seed); // names, shapes and init: shapes.ts
  }

  outFrames(frames: number): number {
    return Math.ceil(Math.ceil(frames / 2) / 2);
  }

  forwardFlops(frames: number): number {
    const { featureDim: F, channels: d, layers, numClasses: V } = this.config;
    const T1 = Math.ceil(frames / 2);
    const T2 = this.outFrames(frames);
    // Per layer: qkv 3d², scores and context T'·d each, out d², feed-forward 8d² (per frame).
    const layer = T2 * (3 * d * d + 2 * T2 * d + d * d + 8 * d * d);
    return 2 * (T1 * 3 * F * d + T2 * 3 * d * d + layers * layer + T2 * d * V);
  }

  /** Logits [B, T', V+1]; the half-rate mask comes from `frames`, the key padding bias from `mask`. */
  apply({ x, frames, mask }: ModelInput, training: boolean, dropoutSeed = 0): tf.Tensor3D {
    return tf.tidy(() => {
      const { channels: d, layers, heads, dropout, numClasses: V } = this.config;
      const drop = (t: tf.Tensor, i: number): tf.Tensor => (training && dropout > 0 ? tf.dropout(t, dropout, undefined, dropoutSeed + i) : t);
      const lin = (t: tf.Tensor2D, name: string): tf.Tensor2D => tf.add(tf.matMul(t, this.p(`${name}.weight`)), this.p(`${name}.bias`));
      const ln = (t: tf.Tensor, name: string) => layerNorm(t, this.p(`${name}.gamma`), this.p(`${name}.beta`));

      // Explicit pad 1 + 'valid' stride-2 convs: T → ceil(T/2), grid anchored at frame 0 (see tcn).
      const half = Math.ceil(x.shape[1] / 2);
      const masks = [
        lengthMask(
          Array.from(frames, (n) => Math.ceil(n / 2)),
          half,
        ),
        mask,
      ];
      let h: tf.Tensor3D = x;
      for (let i = 0; i < 2; i++) {
        const y = tf.conv1d(
          tf.pad(h, [
            [0, 0],
            [1, 1],
            [0, 0],
          ]),
          this.p(`model.subsample.${i}.weight`) as tf.Tensor3D,
          2,
          'valid',
        );
        h = tf.mul(tf.relu(tf.add(y, this.p(`model.subsample.${i}.bias`))), masks[i]);
      }
      const [B, T] = h.shape;
      const dh = d / heads;
      let s = tf.reshape(tf.add(h, positions(T, d)), [B * T, d]) as tf.Tensor2D; // residual stream
      const toHeads = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, heads, dh]), [0, 2, 1, 3]) as tf.Tensor4D;
      if (useFused(this.kernels)) {
        // The same function from fused ops (fused.ts): layer norm, the scaled and masked softmax and
        // the residual add with its dropout are one dispatch each; linear layers are tf.fused.matMul
        // (bias and ReLU in the matmul's epilogue).
        const flin = (t: tf.Tensor2D, name: string, relu = false): tf.Tensor2D =>
          tf.fused.matMul({
            a: t,
            b: this.p(`${name}.weight`) as tf.Tensor2D,
            bias: this.p(`${name}.bias`),
            activation: relu ? 'relu' : 'linear',
          }) as tf.Tensor2D;
        const fln = (t: tf.Tensor2D, name: string) => layerNormFused(t, this.p(`${name}.gamma`), this.p(`${name}.beta`));
        const rate = training ? dropout : 0;
        const mask2d = tf.reshape(mask, [B, T]) as tf.Tensor2D;
        for (let i = 0; i < layers; i++) {
          const p = `model.layers.${i}`;
          const [q, k, v] = tf.split(flin(fln(s, `${p}.ln1`), `${p}.attn.qkv`), 3, 1).map(toHeads);
          const scores = tf.reshape(tf.matMul(q, k, false, true), [B * heads, T, T]) as tf.Tensor3D;
          const att = tf.reshape(maskedSoftmaxFused(scores, mask2d, heads, 1 / Math.sqrt(dh)), [B, heads, T, T]);
          const ctx = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D;
          s = residualDropoutFused(s, flin(ctx, `${p}.attn.out`), { rate, seed: dropoutSeed + 2 * i }) as tf.Tensor2D;
          const ff = flin(flin(fln(s, `${p}.ln2`), `${p}.ff.1`, true), `${p}.ff.2`);
          s = residualDropoutFused(s, ff, { rate, seed: dropoutSeed + 2 * i + 1 }) as tf.Tensor2D;
        }
        const logits = flin(fln(s, 'model.ln_final'), 'model.head');
        return tf.mul(tf.reshape(logits, [B, T, V]), mask) as tf.Tensor3D;
      }
      const keyBias = tf.reshape(tf.mul(tf.sub(1, mask), -1e9), [B, 1, 1, T]);
      for (let i = 0; i < layers; i++) {
        const p = `model.layers.${i}`;
        const [q, k, v] = tf.split(lin(ln(s, `${p}.ln1`) as tf.Tensor2D, `${p}.attn.qkv`), 3, 1).map(toHeads);
        const scores = tf.add(tf.matMul(tf.mul(q, 1 / Math.sqrt(dh)), k, false, true), keyBias); // [B, heads, T, T]
        const ctx = tf.reshape(tf.transpose(tf.matMul(tf.softmax(scores), v), [0, 2, 1, 3]), [B * T, d]) as tf.Tensor2D;
        s = tf.add(s, drop(lin(ctx, `${p}.attn.out`), 2 * i));
        const ff = lin(tf.relu(lin(ln(s, `${p}.ln2`) as tf.Tensor2D, `${p}.ff.1`)), `${p}.ff.2`);
        s = tf.add(s, drop(ff, 2 * i + 1));
      }
      const logits = lin(ln(s, 'model.ln_final') as tf.Tensor2D, 'model.head');
      return tf.mul(tf.reshape(logits, [B, T, V]), mask) as tf.Tensor3D;
    });
  }
}
