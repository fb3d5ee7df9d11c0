// Random-access .zip / .npz reader over a Blob: reads the central directory from the end of the
// file, then one member at a time (Blob.slice + fflate's raw inflate), so an archive of any size
// is never held in memory. Stored (method 0) and deflated (method 8) members, zip64 (np.savez
// writes zip64 local headers). fflate's own unzip needs the whole archive as one buffer.

import { inflateSync } from 'fflate';
import { DataError } from './errors';

export interface ZipMember {
  name: string;
  method: number; // 0 stored, 8 deflate
  compressedSize: number;
  size: number;
  localOffset: number;
}

const EOCD = 0x06054b50,
  EOCD64 = 0x06064b50,
  LOCATOR64 = 0x07064b50,
  CENTRAL = 0x02014b50,
  LOCAL = 0x04034b50;

async function bytesAt(blob: Blob, start: number, end: number): Promise<DataView> {
  return new DataView(await blob.slice(start, end).arrayBuffer());
}

const u64 = (v: DataView, at: number) => Number(v.getBigUint64(at, true));

/** Lists an archive's members (directories left out). Throws a DataError naming `file` if it is not a zip. */
export async function readZipDirectory(blob: Blob, file: string): Promise<ZipMember[]> {
  const size = blob.size;
  if (size < 22) throw new DataError(file, `not a zip archive (${size} bytes, too short for an end-of-directory record)`);
  // The end-of-central-directory record is in the last 22 + 65535 (comment) bytes.
  const tailStart = Math.max(0, size - 22 - 65535);
  const tail = await bytesAt(blob, tailStart, size);
  let eocd = -1;
  for (let i = tail.byteLength - 22; i >= 0; i--) {
    if (tail.getUint32(i, true) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new DataError(file, 'not a zip archive (no end-of-central-directory record; truncated or another format)');
  let entries = tail.getUint16(eocd + 10, true);
  let cdSize = tail.getUint32(eocd + 12, true);
  let cdOffset = tail.getUint32(eocd + 16, true);
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || tail.getUint32(loc, true) !== LOCATOR64) throw new DataError(file, 'zip64 archive without its zip64 locator (truncated?)');
    const at = u64(tail, loc + 8);
    const rec = await bytesAt(blob, at, at + 56);
    if (rec.byteLength < 56 || rec.getUint32(0, true) !== EOCD64) throw new DataError(file, 'zip64 end-of-directory record missing (truncated?)');
    entries = u64(rec, 32);
    cdSize = u64(rec, 40);
    cdOffset = u64(rec, 48);
  }
  if (cdOffset + cdSize > size)
    throw new DataError(file, `central directory runs past the end of the file (${cdOffset} + ${cdSize} > ${size} bytes; truncated?)`);
  const cd = await bytesAt(blob, cdOffset, cdOffset + cdSize);
  const dec = new TextDecoder();
  const members: ZipMember[] = [];
  let p = 0;
  for (let k = 0; k < entries; k++) {
    if (p + 46 > cd.byteLength || cd.getUint32(p, true) !== CENTRAL) throw new DataError(file, `central directory entry ${k + 1} of ${entries} is damaged`);
    const flags = cd.getUint16(p + 8, true);
    const method = cd.getUint16(p + 10, true);
    let compressedSize = cd.getUint32(p + 20, true);
    let usize = cd.getUint32(p + 24, true);
    const nameLen = cd.getUint16(p + 28, true),
      extraLen = cd.getUint16(p + 30, true),
      commentLen = cd.getUint16(p + 32, true);
    let localOffset = cd.getUint32(p + 42, true);
    const extraEnd = p + 46 + nameLen + extraLen;
    if (extraEnd + commentLen > cd.byteLength)
      throw new DataError(file, `central directory entry ${k + 1} of ${entries} runs past the directory's end (damaged archive)`);
    const name = dec.decode(new Uint8Array(cd.buffer, cd.byteOffset + p + 46, nameLen));
    // zip64 extra field: the 64-bit values, in order, for each 32-bit field that is 0xFFFFFFFF.
    for (let e = p + 46 + nameLen; e + 4 <= extraEnd;) {
      const id = cd.getUint16(e, true),
        len = cd.getUint16(e + 2, true);
      if (id === 0x0001) {
        let q = e + 4;
        const take = () => {
          if (q + 8 > Math.min(e + 4 + len, extraEnd)) throw new DataError(file, `member '${name}': zip64 extra field too short (damaged archive)`);
          const x = u64(cd, q);
          q += 8;
          return x;
        };
        if (usize === 0xffffffff) usize = take();
        if (compressedSize === 0xffffffff) compressedSize = take();
        if (localOffset === 0xffffffff) localOffset = take();
      }
      e += 4 + len;
    }
    p += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/')) continue;
    if (flags & 1) throw new DataError(file, `member '${name}' is encrypted`);
    if (method !== 0 && method !== 8)
      throw new DataError(file, `member '${name}' uses compression method ${method}; only stored (0) and deflate (8) are supported`);
    // Sizes the archive cannot hold are refused here, before anything is allocated for them:
    // deflate expands at most ~1032:1, a stored member is its own size.
    if (localOffset + compressedSize > size)
      throw new DataError(file, `member '${name}' runs past the end of the archive (${localOffset} + ${compressedSize} > ${size} bytes; truncated?)`);
    if (method === 0 ? usize !== compressedSize : usize > compressedSize * 1032 + 1024) {
      throw new DataError(
        file,
        `member '${name}' claims ${usize} bytes from ${compressedSize} ${method === 0 ? 'stored' : 'compressed'} bytes (damaged archive)`,
      );
    }
    members.push({ name, method, compressedSize, size: usize, localOffset });
  }
  return members;
}

/** One member's bytes, inflated. */
export async function readZipMember(blob: Blob, m: ZipMember, file: string): Promise<Uint8Array> {
  const head = await bytesAt(blob, m.localOffset, m.localOffset + 30);
  if (head.byteLength < 30 || head.getUint32(0, true) !== LOCAL)
    throw new DataError(file, `member '${m.name}': local header missing at byte ${m.localOffset} (damaged archive)`);
  const start = m.localOffset + 30 + head.getUint16(26, true) + head.getUint16(28, true);
  if (start + m.compressedSize > blob.size) throw new DataError(file, `member '${m.name}' runs past the end of the archive (truncated?)`);
  const raw = new Uint8Array(await blob.slice(start, start + m.compressedSize).arrayBuffer());
  let out: Uint8Array;
  if (m.method === 0) out = raw;
  else {
    try {
      out = inflateSync(raw, { out: new Uint8Array(m.size) });
    } catch (e) {
      throw new DataError(file, `member '${m.name}' does not inflate (${(e as Error).message})`);
    }
  }
  if (out.length !== m.size) throw new DataError(file, `member '${m.name}' has ${out.length} bytes, the directory says ${m.size} (damaged archive)`);
  return out;
}
