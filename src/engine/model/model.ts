// The encoder interface every preset implements (tcn, tconv-bilstm, transformer), and the one
// place that builds a model from a config. Trainer, overfit test, diagnostics and the worker only
// see `SequenceModel`.

import type * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './registry';

/** What a model reads from a padded batch. */
export interface ModelInput {
  x: tf.Tensor3D; // [B, T, F] normalised features, zero on padded frames
  frames: ArrayLike<number>; // real input frames per sample (B entries); T = max
  mask: tf.Tensor3D; // [B, T', 1] at the output rate, 1 on real output frames
}

export type StoredTensor = { shape: number[]; data: ArrayLike<number> };

export interface SequenceModel {
  readonly config: ModelConfig;
  /** Time subsampling factor (for display and the CTC feasibility check). */
  readonly subsampling: number;
  /** Parameters with stable names ("model.…"); unnamed tf.Variables. */
  readonly params: Map<string, tf.Variable>;
  /** Output frames for an input of `frames` frames (exact, not an approximation). */
  outFrames(frames: number): number;
  /**
   * Logits [B, T', V+1] (class 0 = blank). A sample's outputs on its real frames must not depend
   * on the batch it is in (padding, batch length): masking at every intermediate rate.
   */
  apply(input: ModelInput, training: boolean, dropoutSeed?: number): tf.Tensor3D;
  /** Forward-pass FLOPs (2 per multiply-add, matmuls/convs/recurrences only) for one sample of T input frames. */
  forwardFlops(frames: number): number;
  /** Loads weights by name; every parameter must be present with its exact shape, else nothing changes. */
  loadTensors(tensors: Record<string, StoredTensor>, file?: string): void;
  paramCount(): number;
  dispose(): void;
}
