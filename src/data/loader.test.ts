import { describe, expect, it } from 'vitest';
import { Rng } from '../lib/rng';
import { bucketedBatches, paddingEfficiency } from './loader';

describe('bucketedBatches', () => {
  const rng = new Rng(3);
  const frames = Array.from({ length: 1000 }, () => rng.int(50, 600));
  it('covers every sample exactly once, deterministic per seed, different per epoch seed', () => {
    const a = bucketedBatches(frames, 8, 1);
    expect(a.flat().sort((x, y) => x - y)).toEqual(frames.map((_, i) => i));
    expect(bucketedBatches(frames, 8, 1)).toEqual(a);
    expect(bucketedBatches(frames, 8, 2)).not.toEqual(a);
  });
  it('pads far less than random batching', () => {
    const bucketed = paddingEfficiency(frames, bucketedBatches(frames, 8, 1));
    const idx = new Rng(1).shuffle(frames.map((_, i) => i));
    const random = paddingEfficiency(
      frames,
      Array.from({ length: 125 }, (_, b) => idx.slice(b * 8, b * 8 + 8)),
    );
    expect(bucketed).toBeGreaterThan(0.95);
    expect(random).toBeLessThan(0.8);
  });
});
