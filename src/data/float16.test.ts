import { describe, expect, it } from 'vitest';
import { decodeFloat16, encodeFloat16, floatToHalf, FLOAT16_MAX } from './float16';
import { halfToFloat } from './npy';

describe('float16 storage', () => {
  it('known bit patterns', () => {
    const cases: Array<[number, number]> = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [0.5, 0x3800],
      [FLOAT16_MAX, 0x7bff],
      [65520, 0x7c00], // rounds up past the largest half → Inf
      [2 ** -14, 0x0400],
      [2 ** -24, 0x0001],
      [2 ** -26, 0x0000],
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [1 + 2 ** -11, 0x3c00], // tie → even (mantissa 0)
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even (mantissa 2)
      [0.1, 0x2e66],
    ];
    for (const [x, h] of cases) expect(floatToHalf(x), `${x}`).toBe(h);
    expect(Number.isNaN(halfToFloat(floatToHalf(NaN)))).toBe(true);
  });

  it('every half value round-trips exactly, and rounding picks the nearest half', () => {
    for (let h = 0; h < 65536; h++) {
      const x = halfToFloat(h);
      if (Number.isNaN(x)) continue;
      expect(floatToHalf(x)).toBe(h);
    }
    // Nearest: for random float32 values, no other half is closer than the chosen one.
    let seed = 3;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5) * 200;
    for (let i = 0; i < 2000; i++) {
      const x = Math.fround(rnd());
      const h = floatToHalf(x);
      const err = Math.abs(halfToFloat(h) - x);
      expect(err).toBeLessThanOrEqual(Math.abs(halfToFloat(h + 1) - x));
      expect(err).toBeLessThanOrEqual(Math.abs(halfToFloat(h - 1) - x));
      expect(err).toBeLessThanOrEqual(Math.abs(x) * 2 ** -11 + 2 ** -25);
    }
  });

  it('array encode/decode', () => {
    const x = Float32Array.from([0, 1.5, -3.25, 1000, 1e-3]);
    const y = decodeFloat16(encodeFloat16(x));
    x.forEach((v, i) => expect(Math.abs(y[i] - v)).toBeLessThanOrEqual(Math.abs(v) * 2 ** -11));
  });
});
