import { describe, expect, it } from 'vitest';
import { readSafetensors, writeSafetensors } from './safetensors';

describe('safetensors', () => {
  it('writes the public layout: u64 header length, JSON header padded to 8, raw data', () => {
    const bytes = writeSafetensors(
      {
        'model.b': { dtype: 'F32', shape: [2], data: Float32Array.from([1, 2]) },
        'model.a': { dtype: 'I32', shape: [1, 3], data: Int32Array.from([7, 8, 9]) },
      },
      { ctc_lab: '{"x":1}' },
    );
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    expect(header.__metadata__).toEqual({ ctc_lab: '{"x":1}' });
    // sorted by name: model.a first
    expect(header['model.a']).toEqual({ dtype: 'I32', shape: [1, 3], data_offsets: [0, 12] });
    expect(header['model.b']).toEqual({ dtype: 'F32', shape: [2], data_offsets: [12, 20] });
    expect(bytes.length).toBe(8 + n + 20);
    expect(new Float32Array(bytes.slice(8 + n + 12).buffer)).toEqual(Float32Array.from([1, 2]));
  });

  it('round-trips', () => {
    const data = Float32Array.from({ length: 30 }, (_, i) => Math.sin(i));
    const { tensors, metadata } = readSafetensors(writeSafetensors({ w: { dtype: 'F32', shape: [5, 6], data } }, { k: 'v' }));
    expect(metadata).toEqual({ k: 'v' });
    expect(tensors.w.shape).toEqual([5, 6]);
    expect(Array.from(tensors.w.data)).toEqual(Array.from(data));
  });

  it('refuses files that are not safetensors, with the file name', () => {
    expect(() => readSafetensors(new Uint8Array(4), 'x.safetensors')).toThrow('x.safetensors: too short');
    const junk = new Uint8Array(64);
    new DataView(junk.buffer).setBigUint64(0, 1000n, true);
    expect(() => readSafetensors(junk, 'x.safetensors')).toThrow('does not fit');
    const ok = writeSafetensors({ w: { dtype: 'F32', shape: [4], data: new Float32Array(4) } });
    expect(() => readSafetensors(ok.slice(0, ok.length - 4), 'cut.safetensors')).toThrow('cut.safetensors: tensor w offsets');
  });
});

describe('readSafetensors on a Node Buffer', () => {
  it('reads tensor data from the buffer, not from the shared pool behind it', () => {
    const bytes = writeSafetensors({ w: { dtype: 'F32', shape: [3], data: new Float32Array([1.5, -2, 3.25]) } });
    // A small Buffer lives at an offset inside Node's pooled ArrayBuffer.
    const pooled = Buffer.from(bytes);
    expect(pooled.byteOffset > 0 || pooled.buffer.byteLength > pooled.byteLength).toBe(true);
    expect(Array.from(readSafetensors(pooled, 'w.safetensors').tensors.w.data)).toEqual([1.5, -2, 3.25]);
  });
});
