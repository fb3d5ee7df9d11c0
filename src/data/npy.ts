// .npy reader/writer (NumPy format 1.0, 2.0, 3.0).
// Accepts little-endian float16/32/64, C order, shape [T, F] or [T, a, b, ...] (flattened to
// [T, a*b*...]). Everything else is refused with a reason, never read wrongly.
// https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html

import { DataError } from './errors';

export interface NpyArray {
  frames: number; // T
  dim: number; // F (product of the trailing axes)
  shape: number[]; // as stored
  dtype: 'float16' | 'float32' | 'float64';
  data: Float32Array; // [T * F], converted to float32
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function parseHeaderDict(text: string, file: string): { descr: string; fortran: boolean; shape: number[] } {
  // The header is a Python dict literal: {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(text);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !fortran || !shape) throw new DataError(file, `bad .npy header (expected descr, fortran_order and shape): ${text.trim().slice(0, 120)}`);
  const dims = shape[1]
    .split(',')
    .map((x) => x.trim())
    .filter((x) => x.length > 0)
    .map((x) => {
      const n = Number(x.replace(/L$/, ''));
      if (!Number.isInteger(n) || n < 0) throw new DataError(file, `bad .npy shape entry '${x}'`);
      return n;
    });
  return { descr: descr[1], fortran: fortran[1] === 'True', shape: dims };
}

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function parseNpy(buf: ArrayBuffer | Uint8Array, file: string): NpyArray {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (bytes.length < 10 || MAGIC.some((m, i) => bytes[i] !== m)) throw new DataError(file, 'not a .npy file (wrong magic bytes)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let offset: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    offset = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw new DataError(file, 'truncated .npy header');
    headerLen = view.getUint32(8, true);
    offset = 12;
  } else {
    throw new DataError(file, `unsupported .npy format version ${major}.${bytes[7]}`);
  }
  if (offset + headerLen > bytes.length) throw new DataError(file, 'truncated .npy header');
  const headerBytes = bytes.subarray(offset, offset + headerLen);
  // Versions 1 and 2 store the header as latin-1, version 3 as UTF-8 (NumPy's format spec). TextDecoder,
  // not String.fromCharCode(...bytes): a spread of a 65,000-byte header overflows the call stack.
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(headerBytes);
  const { descr, fortran, shape } = parseHeaderDict(header, file);

  const dtypes: Record<string, NpyArray['dtype']> = { '<f2': 'float16', '<f4': 'float32', '<f8': 'float64' };
  const dtype = dtypes[descr];
  if (!dtype) {
    const why = descr.startsWith('>')
      ? 'big-endian data is not supported; save with dtype "<f4"'
      : /^[<|=]?[iub]/.test(descr)
        ? 'integer/boolean features are not supported; convert to float32'
        : descr.includes('O')
          ? 'object arrays are not supported'
          : 'only little-endian float16, float32 or float64 are supported';
    throw new DataError(file, `dtype '${descr}': ${why}`);
  }
  if (fortran) throw new DataError(file, 'Fortran-order arrays are not supported; save with np.ascontiguousarray');
  if (shape.length < 2) throw new DataError(file, `shape (${shape.join(', ')}) must be [frames, features, ...]; got ${shape.length}-D`);
  const frames = shape[0];
  const dim = shape.slice(1).reduce((a, b) => a * b, 1);
  if (frames === 0) throw new DataError(file, 'has 0 frames');
  if (dim === 0) throw new DataError(file, 'has 0 features per frame');
  const itemSize = dtype === 'float16' ? 2 : dtype === 'float32' ? 4 : 8;
  const dataStart = offset + headerLen;
  const need = frames * dim * itemSize;
  if (bytes.length - dataStart < need) {
    throw new DataError(file, `truncated data: shape (${shape.join(', ')}) needs ${need} bytes, file has ${bytes.length - dataStart}`);
  }
  const n = frames * dim;
  const out = new Float32Array(n);
  const dv = new DataView(bytes.buffer, bytes.byteOffset + dataStart, need);
  if (dtype === 'float32') {
    if (LITTLE_ENDIAN_HOST) new Uint8Array(out.buffer).set(bytes.subarray(dataStart, dataStart + need));
    else for (let i = 0; i < n; i++) out[i] = dv.getFloat32(i * 4, true);
  } else if (dtype === 'float64') for (let i = 0; i < n; i++) out[i] = dv.getFloat64(i * 8, true);
  else for (let i = 0; i < n; i++) out[i] = halfToFloat(dv.getUint16(i * 2, true));
  return { frames, dim, shape, dtype, data: out };
}

/** Writes a little-endian float32 (or float64) C-order .npy, format 1.0. */
export function writeNpy(data: Float32Array | Float64Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float64Array ? '<f8' : '<f4';
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return out;
}
