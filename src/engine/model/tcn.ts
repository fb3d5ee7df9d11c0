// `tcn` preset: a small stack of dilated 1-D convolutions with a CTC head. Fast on slow GPUs, for
// the demo, the overfit test and CI.
//
//   x [B, T, F] → Conv1D k3 stride 2 (F→C) + ReLU        (time subsampling ×2: T' = ceil(T/2))
//              [→ Conv1D k3 stride 2 (C→C) + ReLU]     (only with subsampling 4: T' = ceil(ceil(T/2)/2))
//              → L × residual [Conv1D k3 dilation 2^i (C→C) + ReLU + dropout]   (padding masked)
//              → Linear C → V+1                            logits [B, T', V+1], class 0 = blank
//
// Parameters are plain tf.Variables with stable names ("model.…"), so checkpoints map 1:1 to
// safetensors tensors and can be read from Python. Subsampling ×4 adds model.subsample2.{weight,bias}
// and changes no other name, so a ×2 checkpoint (written before the choice existed) loads unchanged.

import * as tf from '@tensorflow/tfjs-core';
import { lengthMask, ParamModel } from './base';
import { im2colFused, residualDropoutFused, useFused, type Kernels } from './fused';
import type { ModelInput, SequenceModel } from './model';
import { paramSpecs } from './shapes';

export interface TcnConfig {
  preset: 'tcn';
  featureDim: number; // F
  numClasses: number; // vocabulary size + 1 (blank at 0)
  channels: number; // C, usual 64
  layers: number; // residual dilated blocks, usual 3
  kernel: number; // usual 3
  dropout: number; // 0 for the overfit test
  subsampling?: 2 | 4; // time subsampling; absent (configs written before the choice existed) = 2
}

export const TCN_DEFAULTS = { channels: 64, layers: 3, kernel: 3, dropout: 0, subsampling: 2 as 2 | 4 };

/**
 * 'same'-padded dilated 1-D convolution as one matmul over K time-shifted copies (im2col):
 * tfjs has no gradient for dilated conv2d, and pad/slice/concat/matMul all have one.
 * x: [B, T, Cin], w: [K, Cin, Cout] → [B, T, Cout].
 */
export function dilatedConv1d(x: tf.Tensor3D, w: tf.Tensor3D, dilation: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, C] = x.shape;
    const [K, , Cout] = w.shape;
    const half = ((K - 1) / 2) * dilation;
    const padded = tf.pad(x, [
      [0, 0],
      [half, half],
      [0, 0],
    ]);
    const taps = Array.from({ length: K }, (_, j) => tf.slice(padded, [0, j * dilation, 0], [B, T, C]));
    const cols = tf.reshape(tf.concat(taps, 2), [B * T, K * C]);
    return tf.reshape(tf.matMul(cols, tf.reshape(w, [K * C, Cout])), [B, T, Cout]) as tf.Tensor3D;
  });
}

export class TcnModel extends ParamModel implements SequenceModel {
  readonly config: TcnConfig;
  readonly subsampling: 2 | 4;
  /** 'auto': the blocks' taps and residual add are fused kernels on webgpu (fused.ts); 'composed': TF.js ops everywhere. */
  kernels: Kernels = 'auto';

  constructor(config: TcnConfig, seed: number) {
    super();
    this.config = config;
    const sub = config.subsampling ?? 2;
    if (sub !== 2 && sub !== 4) throw new Error(`tcn: subsampling must be 2 or 4, got ${String(sub)}`);
    this.subsampling = sub;
    this.build(paramSpecs(config), seed); // names, shapes and init: shapes.ts
  }

  /** Output frames for an input of `frames` frames. */
  outFrames(frames: number): number {
    const half = Math.ceil(frames / 2);
    return this.subsampling === 4 ? Math.ceil(half / 2) : half;
  }

  forwardFlops(frames: number): number {
    const { featureDim: F, channels: C, kernel: K, layers, numClasses: V } = this.config;
    const T1 = Math.ceil(frames / 2);
    const second = this.subsampling === 4 ? this.outFrames(frames) * K * C * C : 0;
    return 2 * (T1 * K * F * C + second + this.outFrames(frames) * (layers * K * C * C + C * V));
  }

  /** Logits [B, T', V+1]; the input's zero padding is the conv padding, and every block is masked. */
  apply({ x, frames, mask }: ModelInput, training: boolean, dropoutSeed = 0): tf.Tensor3D {
    return tf.tidy(() => {
      const { layers, dropout } = this.config;
      // Explicit symmetric padding, then a 'valid' stride-2 conv: T' = ceil(T/2) with the stride grid
      // anchored at frame 0. tf's 'same' padding puts the extra pad on the left for odd T, which
      // shifts the grid with the parity of the *batch's* padded length, so a sample's outputs
      // depended on which batch it was in (found by the accumulation test).
      const half = (this.config.kernel - 1) / 2;
      const stride2 = (t: tf.Tensor3D, name: string) =>
        tf.relu(
          tf.add(
            tf.conv1d(
              tf.pad(t, [
                [0, 0],
                [half, half],
                [0, 0],
              ]),
              this.p(`${name}.weight`) as tf.Tensor3D,
              2,
              'valid',
            ),
            this.p(`${name}.bias`),
          ),
        ) as tf.Tensor3D;
      let h = stride2(x, 'model.subsample');
      if (this.subsampling === 4) {
        // Mask at the half rate first: the second conv must read zeros past each sample's end.
        h = tf.mul(
          h,
          lengthMask(
            Array.from(frames, (n) => Math.ceil(n / 2)),
            h.shape[1],
          ),
        ) as tf.Tensor3D;
        h = stride2(h, 'model.subsample2');
      }
      h = tf.mul(h, mask) as tf.Tensor3D;
      if (useFused(this.kernels)) {
        // The same blocks from fused ops: the taps are one im2col dispatch (its gradient one col2im),
        // the conv's matmul carries bias and ReLU (tf.fused.matMul), and the residual add, its dropout
        // (tf.dropout's draws) and the mask are one dispatch.
        const [B, T, C] = h.shape;
        const K = this.config.kernel;
        for (let i = 0; i < layers; i++) {
          const cols = im2colFused(h, K, 2 ** i);
          const w = tf.reshape(this.p(`model.blocks.${i}.weight`), [K * C, C]) as tf.Tensor2D;
          const y = tf.fused.matMul({ a: cols, b: w, bias: this.p(`model.blocks.${i}.bias`), activation: 'relu' });
          h = residualDropoutFused(h, tf.reshape(y, [B, T, C]), { rate: training ? dropout : 0, seed: dropoutSeed + i, mask }) as tf.Tensor3D;
        }
        const logits = tf.fused.matMul({ a: tf.reshape(h, [B * T, C]), b: this.p('model.head.weight'), bias: this.p('model.head.bias') });
        return tf.reshape(logits, [B, T, this.config.numClasses]) as tf.Tensor3D;
      }
      for (let i = 0; i < layers; i++) {
        const w = this.p(`model.blocks.${i}.weight`) as tf.Tensor3D;
        let y = tf.relu(tf.add(dilatedConv1d(h as tf.Tensor3D, w, 2 ** i), this.p(`model.blocks.${i}.bias`)));
        if (training && dropout > 0) y = tf.dropout(y, dropout, undefined, dropoutSeed + i);
        h = tf.mul(tf.add(h, y), mask) as tf.Tensor3D;
      }
      const [B, T, C] = h.shape;
      const logits = tf.add(tf.matMul(tf.reshape(h, [B * T, C]), this.p('model.head.weight')), this.p('model.head.bias'));
      return tf.reshape(logits, [B, T, this.config.numClasses]) as tf.Tensor3D;
    });
  }
}
