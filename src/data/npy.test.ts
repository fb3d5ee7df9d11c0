import { describe, expect, it } from 'vitest';
import { halfToFloat, parseNpy, writeNpy } from './npy';

/** Builds a .npy with an arbitrary header dict and version, for the cases writeNpy never makes. */
function npy(dict: string, body: Uint8Array, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  let header = dict;
  header += ' '.repeat((64 - ((pre + header.length + 1) % 64)) % 64) + '\n';
  const out = new Uint8Array(pre + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(new TextEncoder().encode(header), pre);
  out.set(body, pre + header.length);
  return out;
}
const f32 = (xs: number[]) => new Uint8Array(Float32Array.from(xs).buffer);

describe('parseNpy', () => {
  it('round-trips float32 [T, F] written by writeNpy', () => {
    const x = Float32Array.from({ length: 12 }, (_, i) => i * 0.5 - 2);
    const a = parseNpy(writeNpy(x, [4, 3]), 'a.npy');
    expect(a).toMatchObject({ frames: 4, dim: 3, shape: [4, 3], dtype: 'float32' });
    expect(Array.from(a.data)).toEqual(Array.from(x));
  });

  it('reads float64 and converts to float32', () => {
    const x = Float64Array.from([1.5, -2.25, 1e-3, 7]);
    const a = parseNpy(writeNpy(x, [2, 2]), 'a.npy');
    expect(a.dtype).toBe('float64');
    expect(Array.from(a.data)).toEqual(Array.from(Float32Array.from(x)));
  });

  it('reads float16 (known bit patterns)', () => {
    const halves = new Uint16Array([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00, 0x0000]);
    const a = parseNpy(npy("{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2), }", new Uint8Array(halves.buffer)), 'h.npy');
    expect(a.data[0]).toBe(1);
    expect(a.data[1]).toBe(-2);
    expect(a.data[2]).toBeCloseTo(0.33325, 5);
    expect(a.data[3]).toBeCloseTo(5.96e-8, 10);
    expect(a.data[4]).toBe(Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });

  it('flattens [T, joints, xyz] pose arrays to [T, joints*xyz]', () => {
    const body = f32(Array.from({ length: 2 * 5 * 3 }, (_, i) => i));
    const a = parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 5, 3), }", body), 'pose.npy');
    expect(a).toMatchObject({ frames: 2, dim: 15, shape: [2, 5, 3] });
    expect(a.data[15]).toBe(15);
  });

  it('reads format versions 2.0 and 3.0', () => {
    for (const v of [2, 3]) {
      const a = parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", f32([3, 4]), v), `v${v}.npy`);
      expect(Array.from(a.data)).toEqual([3, 4]);
    }
  });

  it('reads headers of any size NumPy allows: 65,000 bytes (1.0, the most a u16 holds) and 1 MB (2.0)', () => {
    // The file: a 65,000-byte header overflowed String.fromCharCode(...bytes) ("Maximum call stack size exceeded").
    const dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }";
    for (const [major, size] of [
      [1, 65_000],
      [1, 65_535 - 10],
      [2, 1 << 20],
    ]) {
      const bytes = npy(dict + ' '.repeat(size - dict.length - 80), f32([3, 4]), major);
      const headerLen = major === 1 ? new DataView(bytes.buffer).getUint16(8, true) : new DataView(bytes.buffer).getUint32(8, true);
      expect(headerLen).toBeGreaterThan(size - 200);
      expect(Array.from(parseNpy(bytes, `big${major}.npy`).data)).toEqual([3, 4]);
    }
  });

  const refused: Array<[string, Uint8Array, string]> = [
    ['wrong magic', new TextEncoder().encode('hello world, not numpy'), 'x.npy: not a .npy file (wrong magic bytes)'],
    ['truncated header', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", f32([1, 2])).slice(0, 30), 'x.npy: truncated .npy header'],
    [
      'truncated data',
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4, 2), }", f32([1, 2])),
      'x.npy: truncated data: shape (4, 2) needs 32 bytes, file has 8',
    ],
    [
      'big-endian',
      npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1, 2), }", f32([1, 2])),
      `x.npy: dtype '>f4': big-endian data is not supported; save with dtype "<f4"`,
    ],
    [
      'integer dtype',
      npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1, 2), }", f32([1, 2])),
      "x.npy: dtype '<i4': integer/boolean features are not supported; convert to float32",
    ],
    ['object dtype', npy("{'descr': '|O', 'fortran_order': False, 'shape': (1, 2), }", f32([1, 2])), "x.npy: dtype '|O': object arrays are not supported"],
    [
      'Fortran order',
      npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1, 2), }", f32([1, 2])),
      'x.npy: Fortran-order arrays are not supported; save with np.ascontiguousarray',
    ],
    ['1-D array', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", f32([1, 2])), 'x.npy: shape (2) must be [frames, features, ...]; got 1-D'],
    ['zero frames', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 2), }", f32([])), 'x.npy: has 0 frames'],
    ['bad header', npy("{'descr': '<f4', 'shape': (1, 2), }", f32([1, 2])), 'x.npy: bad .npy header'],
    ['unknown version', npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }", f32([1, 2]), 9), 'x.npy: unsupported .npy format version 9.0'],
  ];
  for (const [what, bytes, message] of refused) {
    it(`refuses: ${what}`, () => {
      expect(() => parseNpy(bytes, 'x.npy')).toThrow(message);
    });
  }
});
