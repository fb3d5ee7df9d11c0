// Length-bucketed batching: shuffle (seeded, per epoch), cut into pools of `poolBatches` batches,
// sort each pool by length, chunk into batches, shuffle the batch order. Batches hold samples of
// similar length, so little of each padded batch is padding, while the order stays random.

import { Rng } from '../lib/rng';

export function bucketedBatches(frames: ArrayLike<number>, batchSize: number, seed: number, poolBatches = 50): number[][] {
  const rng = new Rng(seed);
  const idx = rng.shuffle(Array.from({ length: frames.length }, (_, i) => i));
  const batches: number[][] = [];
  const pool = batchSize * poolBatches;
  for (let p = 0; p < idx.length; p += pool) {
    const chunk = idx.slice(p, p + pool).sort((a, b) => frames[a] - frames[b] || a - b);
    for (let b = 0; b < chunk.length; b += batchSize) batches.push(chunk.slice(b, b + batchSize));
  }
  return rng.shuffle(batches);
}

/** Real frames / padded frames over a list of batches. */
export function paddingEfficiency(frames: ArrayLike<number>, batches: number[][]): number {
  let real = 0,
    padded = 0;
  for (const b of batches) {
    let max = 0;
    for (const i of b) {
      real += frames[i];
      max = Math.max(max, frames[i]);
    }
    padded += max * b.length;
  }
  return padded ? real / padded : 1;
}
