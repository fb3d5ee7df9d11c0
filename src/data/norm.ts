// Feature normalisation as the trainer applies it, in one place: per dimension (x − mean) / std,
// where a dimension whose std is (near) zero is centred, not scaled.

import type { DatasetMeta } from './types';

const MIN_STD = 1e-8;

/** What each dimension is multiplied by after centring. */
export function inverseScales(std: readonly number[]): number[] {
  return std.map((s) => (s > MIN_STD ? 1 / s : 1));
}

/** Dimensions that never vary in the training split. */
export function zeroVarianceDims(std: readonly number[]): number[] {
  return std.flatMap((s, d) => (s > MIN_STD ? [] : [d]));
}

/** x [frames, F] normalised into a new array. */
export function normalised(x: Float32Array, norm: DatasetMeta['norm']): Float32Array {
  const F = norm.mean.length,
    inv = inverseScales(norm.std),
    z = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) z[i] = (x[i] - norm.mean[i % F]) * inv[i % F];
  return z;
}
