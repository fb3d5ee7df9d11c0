// `tconv-bilstm` preset: the CorrNet/VAC teacher's temporal part without the visual backbone.
//
//   x [B, T, F] → 2 × [Conv1D k5 'same' + ReLU (padding masked) → max-pool 2, ceil]   (C channels)
//                                          time subsampling ×4: T' = ceil(ceil(T/2)/2)
//              → L × BiLSTM (H per direction, gates i,f,g,o), dropout between layers   [B, T', 2H]
//              → dropout → Linear 2H → V+1                      logits [B, T', V+1], class 0 = blank
//
// Parameters (stable names; linear weights are [in, out], conv weights [K, Cin, Cout]):
//   model.conv.{0,1}.weight [5, Cin, C], .bias [C]           (Cin = F for conv 0, C for conv 1)
//   model.lstm.{l}.w_ih [2, Cin, 4H]   direction 0 = forward, 1 = backward; Cin = C (l = 0) or 2H
//   model.lstm.{l}.w_hh [2, H, 4H]     gate columns i | f | g | o (PyTorch's order, transposed)
//   model.lstm.{l}.bias [2, 4H]        one bias per direction (PyTorch's b_ih + b_hh)
//   model.head.weight [2H, V], .bias [V]
//
// Masking: the 'same' convs see zeros beyond each sample's end (the input is zero there and every
// conv output is masked at its rate), and ReLU ≥ 0 makes a ceil-pool against a zero pad equal the
// unbatched result. The backward LSTM reads each sequence reversed within its own length, so for
// both directions the padding comes after the real frames and real outputs never depend on it.

import * as tf from '@tensorflow/tfjs-core';
import { lengthMask, ParamModel } from './base';
import { bilstm, type Recurrence } from './bilstm';
import type { ModelInput, SequenceModel } from './model';
import { paramSpecs, TCONV_KERNEL } from './shapes';

export interface TconvBilstmConfig {
  preset: 'tconv-bilstm';
  featureDim: number; // F
  numClasses: number; // vocabulary size + 1 (blank at 0)
  channels: number; // C, conv channels, usual 128
  layers: number; // BiLSTM layers, usual 2
  hidden: number; // H, LSTM hidden size per direction, usual 128
  dropout: number; // between LSTM layers and before the head
}

const KERNEL = TCONV_KERNEL;

/** 2× max-pool over time with ceil: an odd length is padded with one zero frame. */
function maxPool2(h: tf.Tensor3D): tf.Tensor3D {
  const [B, T, C] = h.shape;
  const even =
    T % 2
      ? tf.pad(h, [
          [0, 0],
          [0, 1],
          [0, 0],
        ])
      : h;
  return tf.max(tf.reshape(even, [B, Math.ceil(T / 2), 2, C]), 2);
}

export class TconvBilstmModel extends ParamModel implements SequenceModel {
  readonly config: TconvBilstmConfig;
  readonly subsampling = 4;
  /** 'auto': the fused WebGPU recurrence on webgpu; 'composed': TF.js ops everywhere (benchmarks compare the two). */
  recurrence: Recurrence = 'auto';

  constructor(config: TconvBilstmConfig, seed: number) {
    super();
    this.config = config;
    this.build(paramSpecs(config), seed); // names, shapes and init (LSTM weights U(±1/√H) as PyTorch, forget-gate bias 1): shapes.ts
  }

  outFrames(frames: number): number {
    return Math.ceil(Math.ceil(frames / 2) / 2);
  }

  forwardFlops(frames: number): number {
    const { featureDim: F, channels: C, layers, hidden: H, numClasses: V } = this.config;
    const T1 = Math.ceil(frames / 2);
    const T2 = this.outFrames(frames);
    let macs = frames * KERNEL * F * C + T1 * KERNEL * C * C + T2 * 2 * H * V;
    for (let l = 0; l < layers; l++) macs += 2 * T2 * ((l === 0 ? C : 2 * H) + H) * 4 * H;
    return 2 * macs;
  }

  /** Logits [B, T', V+1]; masks at the input and half rates come from `frames`. */
  apply({ x, frames, mask }: ModelInput, training: boolean, dropoutSeed = 0): tf.Tensor3D {
    return tf.tidy(() => {
      const { layers, dropout, numClasses: V } = this.config;
      const drop = (t: tf.Tensor3D, i: number): tf.Tensor3D =>
        training && dropout > 0 ? (tf.dropout(t, dropout, undefined, dropoutSeed + i) as tf.Tensor3D) : t;
      const half = (KERNEL - 1) / 2;
      let lens = Array.from(frames);
      let h: tf.Tensor3D = x;
      for (let i = 0; i < 2; i++) {
        const xp = tf.pad(h, [
          [0, 0],
          [half, half],
          [0, 0],
        ]);
        const y = tf.relu(tf.add(tf.conv1d(xp, this.p(`model.conv.${i}.weight`) as tf.Tensor3D, 1, 'valid'), this.p(`model.conv.${i}.bias`)));
        h = maxPool2(tf.mul(y, lengthMask(lens, h.shape[1])));
        lens = lens.map((n) => Math.ceil(n / 2));
      }
      // The LSTM outputs are masked for clean padded frames only: real frames never read them.
      for (let l = 0; l < layers; l++) h = tf.mul(this.bilstm(l === 0 ? h : drop(h, l), l, lens), mask) as tf.Tensor3D;
      h = drop(h, layers);
      const [B, T, C] = h.shape;
      const logits = tf.add(tf.matMul(tf.reshape(h, [B * T, C]), this.p('model.head.weight')), this.p('model.head.bias'));
      return tf.reshape(logits, [B, T, V]) as tf.Tensor3D;
    });
  }

  /** One bidirectional layer (bilstm.ts): h [B, T, Cin] → [B, T, 2H] (forward | backward). */
  private bilstm(h: tf.Tensor3D, l: number, lens: readonly number[]): tf.Tensor3D {
    const p = (name: string) => this.p(`model.lstm.${l}.${name}`);
    const w = { wIh: p('w_ih') as tf.Tensor3D, wHh: p('w_hh') as tf.Tensor3D, bias: p('bias') as tf.Tensor2D };
    return bilstm(h, w, lens, this.recurrence);
  }
}
