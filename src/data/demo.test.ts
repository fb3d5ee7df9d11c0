import { describe, expect, it } from 'vitest';
import { generateDemo } from './demo';
import { ctcMinFrames } from '../engine/ctc/ctc_reference';

describe('demo generator', () => {
  it('is deterministic for a seed', () => {
    const a = generateDemo({ seed: 7 });
    const b = generateDemo({ seed: 7 });
    expect(a.meta).toEqual(b.meta);
    expect(a.samples.map((s) => [s.id, s.text, s.split, s.frames])).toEqual(b.samples.map((s) => [s.id, s.text, s.split, s.frames]));
    a.samples.forEach((s, i) => expect(new Float32Array(s.features)).toEqual(new Float32Array(b.samples[i].features)));
  });

  it('differs between seeds', () => {
    const a = generateDemo({ seed: 1 });
    const b = generateDemo({ seed: 2 });
    expect(a.samples.map((s) => s.text)).not.toEqual(b.samples.map((s) => s.text));
  });

  it('has the documented shape: 2-6 words, 90/10 split, every sample CTC-feasible at 2x subsampling', () => {
    const d = generateDemo();
    expect(d.meta.numSamples).toBe(160);
    expect(d.meta.counts).toEqual({ train: 144, val: 16, test: 0 });
    expect(d.meta.vocab).toHaveLength(8);
    const index = new Map(d.meta.vocab.map((t, i) => [t, i + 1]));
    for (const s of d.samples) {
      const words = s.text.split(' ');
      expect(words.length).toBeGreaterThanOrEqual(2);
      expect(words.length).toBeLessThanOrEqual(6);
      expect(s.features.byteLength).toBe(s.frames * d.meta.featureDim * 4);
      expect(Math.ceil(s.frames / 2)).toBeGreaterThanOrEqual(ctcMinFrames(words.map((w) => index.get(w)!)));
    }
  });

  it('normalisation statistics are the training split mean and std', () => {
    const d = generateDemo({ numSamples: 20 });
    const F = d.meta.featureDim;
    const sum = new Float64Array(F),
      sq = new Float64Array(F);
    let n = 0;
    for (const s of d.samples.filter((x) => x.split === 'train')) {
      const x = new Float32Array(s.features);
      for (let t = 0; t < s.frames; t++, n++)
        for (let k = 0; k < F; k++) {
          sum[k] += x[t * F + k];
          sq[k] += x[t * F + k] ** 2;
        }
    }
    for (let k = 0; k < F; k++) {
      const mean = sum[k] / n;
      expect(d.meta.norm.mean[k]).toBeCloseTo(mean, 9);
      expect(d.meta.norm.std[k]).toBeCloseTo(Math.sqrt(sq[k] / n - mean * mean), 6);
    }
  });
});
