// safetensors reader/writer: 8-byte little-endian header length N, N bytes of JSON header
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}),
// then the raw little-endian tensor bytes. https://github.com/huggingface/safetensors
// The header is padded with spaces to a multiple of 8 bytes so tensor data stays aligned.

import { preview } from '../../lib/preview';

export type StDtype = 'F32' | 'I32' | 'F16' | 'F64';

export interface StTensor {
  dtype: StDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint16Array | Float64Array;
}

const BYTES: Record<StDtype, number> = { F32: 4, I32: 4, F16: 2, F64: 8 };

export function writeSafetensors(tensors: Record<string, StTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) throw new Error(`safetensors: ${name} has shape [${t.shape}] but ${t.data.length} values`);
    const len = n * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  const enc = new TextEncoder();
  let hb = enc.encode(json);
  const pad = (8 - (hb.length % 8)) % 8;
  if (pad) {
    json += ' '.repeat(pad);
    hb = enc.encode(json);
  }
  const out = new Uint8Array(8 + hb.length + offset);
  const dv = new DataView(out.buffer);
  dv.setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let p = 8 + hb.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), p); // typed arrays are little-endian on every platform browsers run on
    p += d.byteLength;
  }
  return out;
}

export interface ParsedSafetensors {
  tensors: Record<string, StTensor>;
  metadata: Record<string, string>;
}

// The safetensors crate refuses headers over 100 MB; so does this reader (a 2^60 length is not a file).
const MAX_HEADER = 100_000_000;

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): x is number => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** A tensor's entry in the header: where its bytes are, not the bytes. */
export interface StEntry {
  dtype: StDtype;
  shape: number[];
  begin: number; // byte offset in the file
  end: number;
}

export interface SafetensorsHeader {
  entries: Record<string, StEntry>;
  metadata: Record<string, string>;
}

/**
 * Parses a safetensors file's header only: every tensor's dtype, shape and offsets (checked to fit
 * the file) and the metadata, without reading or copying any tensor's bytes. Anything malformed
 * (header length, JSON, a tensor entry's dtype, shape or offsets, metadata values) throws an Error
 * naming `file` and the tensor or field.
 */
export function readSafetensorsHeader(buf: ArrayBuffer | Uint8Array, file = 'checkpoint'): SafetensorsHeader {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (bytes.length < 8) throw new Error(`${file}: too short to be a safetensors file (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n <= 0 || n > MAX_HEADER || 8 + n > bytes.length)
    throw new Error(`${file}: header length ${n} does not fit in ${bytes.length} bytes; not a safetensors file`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`${file}: header is not valid UTF-8 JSON (${(e as Error).message})`, { cause: e });
  }
  if (!isObject(header))
    throw new Error(`${file}: header is ${header === null ? 'null' : Array.isArray(header) ? 'an array' : typeof header}, expected a JSON object`);
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  // Null-prototype maps: a tensor named "__proto__" is a key like any other, not a prototype.
  const entries: Record<string, StEntry> = Object.create(null);
  const metadata: Record<string, string> = Object.create(null);
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (!isObject(v)) throw new Error(`${file}: __metadata__ must be an object of strings`);
      for (const [k, s] of Object.entries(v)) {
        if (typeof s !== 'string') throw new Error(`${file}: __metadata__.${k} is ${preview(s)}, expected a string`);
        metadata[k] = s;
      }
      continue;
    }
    const where = `${file}: tensor ${name}`;
    if (!isObject(v)) throw new Error(`${where}: expected {dtype, shape, data_offsets}, got ${preview(v)}`);
    const { dtype, shape, data_offsets: off } = v;
    if (typeof dtype !== 'string' || !Object.hasOwn(BYTES, dtype)) throw new Error(`${where} has unsupported dtype ${preview(dtype)} (F32, F16, F64 or I32)`);
    if (!Array.isArray(shape) || !shape.every(isCount)) throw new Error(`${where}: shape ${preview(shape)} is not a list of non-negative integers`);
    if (!Array.isArray(off) || off.length !== 2 || !off.every(isCount)) throw new Error(`${where}: data_offsets ${preview(off)} is not [begin, end] in bytes`);
    const [b, e] = off as [number, number];
    const count = (shape as number[]).reduce((a, c) => a * c, 1);
    const size = BYTES[dtype as StDtype];
    if (!(b <= e && e <= dataLen && e - b === count * size)) {
      throw new Error(`${where} offsets [${b}, ${e}] do not match shape [${shape}] ${dtype} in ${dataLen} data bytes`);
    }
    entries[name] = { dtype: dtype as StDtype, shape: shape as number[], begin: dataStart + b, end: dataStart + e };
  }
  return { entries, metadata };
}

/** A tensor's values (a copy of its bytes in the file, as its dtype). */
export function readTensor(buf: ArrayBuffer | Uint8Array, entry: StEntry): StTensor {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  // Uint8Array's own slice copies; a Node Buffer's slice is a view into a shared pool, so call it explicitly.
  const copy = Uint8Array.prototype.slice.call(bytes, entry.begin, entry.end).buffer;
  const { dtype, shape } = entry;
  const data =
    dtype === 'F32' ? new Float32Array(copy) : dtype === 'I32' ? new Int32Array(copy) : dtype === 'F64' ? new Float64Array(copy) : new Uint16Array(copy);
  return { dtype, shape, data };
}

/** Parses a safetensors file: the header (readSafetensorsHeader, same refusals), then every tensor's values. */
export function readSafetensors(buf: ArrayBuffer | Uint8Array, file = 'checkpoint'): ParsedSafetensors {
  const { entries, metadata } = readSafetensorsHeader(buf, file);
  const tensors: Record<string, StTensor> = Object.create(null);
  for (const [name, entry] of Object.entries(entries)) tensors[name] = readTensor(buf, entry);
  return { tensors, metadata };
}
