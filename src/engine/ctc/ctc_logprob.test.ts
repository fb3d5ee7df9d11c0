import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/rng';
import { ctcLossReference, logSoftmax64 } from './ctc_reference';
import { ctcNllBruteForce } from './ctc_oracle';
import { ctcLogLikelihood, ctcUniformLogLikelihood } from './ctc_logprob';

describe('CTC log-likelihood from log-probabilities', () => {
  it('equals the brute-force oracle on tiny cases and the float64 reference on larger ones', () => {
    const rng = new Rng(21);
    for (let n = 0; n < 60; n++) {
      const T = rng.int(1, 6),
        C = rng.int(2, 4),
        L = rng.int(0, 3);
      const labels = Array.from({ length: L }, () => rng.int(1, C - 1));
      const logits = Array.from({ length: T * C }, () => rng.normal() * 2);
      const lp = logSoftmax64(logits, T, C);
      const want = -ctcNllBruteForce(logits, T, C, labels);
      const got = ctcLogLikelihood(lp, T, C, labels);
      if (want === -Infinity) expect(got).toBe(-Infinity);
      else expect(Math.abs(got - want)).toBeLessThan(1e-10);
    }
    for (let n = 0; n < 20; n++) {
      const T = rng.int(20, 80),
        C = rng.int(3, 30),
        L = rng.int(1, 10);
      const labels = Array.from({ length: L }, () => rng.int(1, C - 1));
      const lp = logSoftmax64(
        Array.from({ length: T * C }, () => rng.normal() * 3),
        T,
        C,
      );
      const ref = ctcLossReference({ logits: lp, labels, logitLengths: [T], labelLengths: [L], B: 1, T, V: C, L }, false).nll[0];
      expect(Math.abs(ctcLogLikelihood(lp, T, C, labels) + ref)).toBeLessThan(1e-9 * Math.max(1, ref));
    }
  });

  it('uniform baseline: the exact count of valid paths (hand-counted) and the reference on zero logits', () => {
    // T 3, labels [a]: paths a__, _a_, __a, aa_, _aa, aaa = 6 of 3^3.
    expect(ctcUniformLogLikelihood(3, 3, [1])).toBeCloseTo(Math.log(6 / 27), 12);
    // Repeated labels [a, a] in 3 frames: only a _ a.
    expect(ctcUniformLogLikelihood(3, 3, [1, 1])).toBeCloseTo(Math.log(1 / 27), 12);
    expect(ctcUniformLogLikelihood(2, 3, [1, 1])).toBe(-Infinity);
    const T = 50,
      C = 12,
      labels = [3, 3, 5, 1, 7];
    const ref = ctcLossReference({ logits: new Float64Array(T * C), labels, logitLengths: [T], labelLengths: [5], B: 1, T, V: C, L: 5 }, false).nll[0];
    expect(ctcUniformLogLikelihood(T, C, labels)).toBeCloseTo(-ref, 9);
  });
});
