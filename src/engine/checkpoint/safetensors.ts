// safetensors reader/writer: 8-byte little-endian header length N, N bytes of JSON header
// ({name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}),
// then the raw little-endian tensor bytes. https://github.com/huggingface/safetensors
// The header is padded with spaces to a multiple of 8 bytes so tensor data stays aligned.

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

export function readSafetensors(buf: ArrayBuffer | Uint8Array, file = 'checkpoint'): ParsedSafetensors {
  const bytes = buf instanceof Uint8Array ? buf : new Uint8Array(buf);
  if (bytes.length < 8) throw new Error(`${file}: too short to be a safetensors file (${bytes.length} bytes)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(dv.getBigUint64(0, true));
  if (n <= 0 || 8 + n > bytes.length) throw new Error(`${file}: header length ${n} does not fit in ${bytes.length} bytes; not a safetensors file`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    throw new Error(`${file}: header is not valid JSON (${(e as Error).message})`);
  }
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors: Record<string, StTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const info = v as { dtype: StDtype; shape: number[]; data_offsets: [number, number] };
    if (!(info.dtype in BYTES)) throw new Error(`${file}: tensor ${name} has unsupported dtype ${info.dtype}`);
    const [b, e] = info.data_offsets;
    const count = info.shape.reduce((a, c) => a * c, 1);
    if (!(b >= 0 && e <= dataLen && e - b === count * BYTES[info.dtype])) {
      throw new Error(`${file}: tensor ${name} offsets [${b}, ${e}] do not match shape [${info.shape}] ${info.dtype} in ${dataLen} data bytes`);
    }
    const copy = bytes.slice(dataStart + b, dataStart + e).buffer;
    const data =
      info.dtype === 'F32' ? new Float32Array(copy) : info.dtype === 'I32' ? new Int32Array(copy) : info.dtype === 'F64' ? new Float64Array(copy) : new Uint16Array(copy);
    tensors[name] = { dtype: info.dtype, shape: info.shape, data };
  }
  return { tensors, metadata };
}
