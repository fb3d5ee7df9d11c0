// Property-based fuzzing of every reader a dropped dataset goes through: .npy, .npz/.zip (central
// directory, zip64, members), manifest.jsonl / manifest.tsv and vocab.txt. Mutated valid files
// (bit flips, truncations, length fields, inserted/deleted bytes, JSON type swaps, header grammar);
// each parses to a valid result or throws an Error naming the file. The seed is printed;
// FUZZ_SEED=<n> replays a run.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { zipSync } from 'fflate';
import { byteMutations, expectNamedError, fuzzSeed, jsonMutations, mutateBytes, mutateJson, validOrNamed } from '../lib/fuzz';
import { parseNpy, writeNpy, type NpyArray } from './npy';
import { readZipDirectory, readZipMember } from './zip';
import { parseManifestJsonl, parseManifestTsv, parseVocab } from './manifest';
import type { ManifestRow } from './types';

const FILE = 'fuzzed features.npy';

/** A .npy with any header text and version (writeNpy only writes 1.0 float32/64). */
function npy(dict: string, body: Uint8Array, major = 1): Uint8Array {
  const pre = major === 1 ? 10 : 12;
  const header = new TextEncoder().encode(dict + ' '.repeat((64 - ((pre + dict.length + 1) % 64)) % 64) + '\n');
  const out = new Uint8Array(pre + header.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, major, 0]);
  const dv = new DataView(out.buffer);
  if (major === 1) dv.setUint16(8, header.length, true);
  else dv.setUint32(8, header.length, true);
  out.set(header, pre);
  out.set(body, pre + header.length);
  return out;
}

const npyBases = [
  writeNpy(
    Float32Array.from({ length: 12 }, (_, i) => i - 3.5),
    [4, 3],
  ),
  writeNpy(
    Float64Array.from({ length: 10 }, (_, i) => i / 7),
    [2, 5],
  ),
  npy("{'descr': '<f2', 'fortran_order': False, 'shape': (3, 2, 2), }", new Uint8Array(24).fill(0x3c), 2),
  npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1), }", new Uint8Array(Float32Array.from([1, 2]).buffer), 3),
];

function expectValidNpy(a: NpyArray) {
  expect(a.frames).toBeGreaterThan(0);
  expect(a.dim).toBeGreaterThan(0);
  expect(a.data.length).toBe(a.frames * a.dim);
  expect(a.shape.reduce((x, y) => x * y, 1)).toBe(a.frames * a.dim);
}

const npyOrNamed = (bytes: Uint8Array, file: string) => validOrNamed(() => parseNpy(bytes, file), file, expectValidNpy);

describe('fuzz: .npy reader', () => {
  it('bit flips, truncations, header length fields, inserted and deleted bytes', () => {
    const seed = fuzzSeed('npy bytes');
    fc.assert(
      fc.property(fc.nat({ max: npyBases.length - 1 }), byteMutations([6, 7, 8, 9, 10, 11]), (k, ms) => npyOrNamed(mutateBytes(npyBases[k], ms), FILE)),
      { seed, numRuns: 3000 },
    );
  });

  it('header dicts from the grammar’s pieces (descr, fortran_order, shape, odd numbers)', () => {
    const seed = fuzzSeed('npy header grammar');
    const piece = fc.constantFrom(
      "'descr'",
      "'fortran_order'",
      "'shape'",
      ': ',
      ', ',
      "'<f4'",
      "'<f2'",
      "'>f8'",
      "'|O'",
      'True',
      'False',
      '(',
      ')',
      '{',
      '}',
      '1',
      '3',
      '0',
      '-1',
      '1e9',
      '2.5',
      '9007199254740993',
      'L',
      ' ',
      "'",
      '\\',
      '\u00e9',
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 40 }), fc.constantFrom(1, 2, 3), fc.nat({ max: 64 }), (pieces, major, body) =>
        npyOrNamed(npy(pieces.join(''), new Uint8Array(body), major), FILE),
      ),
      { seed, numRuns: 2000 },
    );
  });
});

// ---- .zip / .npz

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`./fixtures/${name}`, import.meta.url)));
const members = { 'u1.npy': npyBases[0], 'u2.npy': npyBases[1], 'dir/': new Uint8Array(0), 'notes.txt': new TextEncoder().encode('hello '.repeat(50)) };
const zipBases = [
  zipSync(members, { level: 0 }),
  zipSync(members, { level: 6 }),
  fixture('savez.npz'), // np.savez: stored, zip64 local headers
  fixture('savez_compressed.npz'),
  fixture('zip64.npz'),
];

/** Byte offsets of the length and offset fields of every record the reader uses (found by signature). */
function zipFields(b: Uint8Array): number[] {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: number[] = [];
  for (let i = 0; i + 4 <= b.length; i++) {
    const sig = dv.getUint32(i, true);
    if (sig === 0x06054b50)
      out.push(i + 8, i + 10, i + 12, i + 16, i + 20); // EOCD: entries, cd size, cd offset, comment length
    else if (sig === 0x06064b50)
      out.push(i + 32, i + 40, i + 48); // zip64 EOCD: entries, cd size, cd offset
    else if (sig === 0x07064b50)
      out.push(i + 8); // zip64 locator: EOCD64 offset
    else if (sig === 0x02014b50)
      out.push(i + 10, i + 20, i + 24, i + 28, i + 30, i + 32, i + 42); // central entry: method, sizes, name/extra/comment lengths, local offset
    else if (sig === 0x04034b50) out.push(i + 18, i + 22, i + 26, i + 28); // local header: sizes, name/extra lengths
  }
  return out;
}

async function zipOrNamed(bytes: Uint8Array) {
  const file = 'fuzzed archive.npz';
  const blob = new Blob([bytes as BlobPart]);
  let list;
  try {
    list = await readZipDirectory(blob, file);
  } catch (e) {
    expectNamedError(e, file);
    return;
  }
  for (const m of list) {
    expect(m.size).toBeGreaterThanOrEqual(0);
    expect(m.localOffset + m.compressedSize).toBeLessThanOrEqual(bytes.length);
    let data: Uint8Array;
    try {
      data = await readZipMember(blob, m, file);
    } catch (e) {
      expectNamedError(e, file);
      continue;
    }
    expect(data.length).toBe(m.size);
    if (m.name.endsWith('.npy')) npyOrNamed(data, `${file}:${m.name}`);
  }
}

describe('fuzz: .zip / .npz reader (central directory, zip64, members)', () => {
  it('bit flips, truncations, length and offset fields, inserted and deleted bytes', async () => {
    const seed = fuzzSeed('zip/npz bytes');
    const fields = zipBases.map(zipFields);
    await fc.assert(
      fc.asyncProperty(
        fc.nat({ max: zipBases.length - 1 }).chain((k) => fc.tuple(fc.constant(k), byteMutations(fields[k]))),
        async ([k, ms]) => zipOrNamed(mutateBytes(zipBases[k], ms)),
      ),
      { seed, numRuns: 1500 },
    );
  });
});

// ---- manifests and vocab.txt

const MANIFEST = 'fuzzed/manifest.jsonl';
const jsonlBase = [
  { id: 'u1', text: 'HELLO WORLD', split: 'train', features: 'u1.npy' },
  { id: 'u2', text: 'A B C', split: 'val' },
  { id: 'u3', text: 'B', features: 'sub/u3.npy' },
  { id: 'u4', text: 'C  A', split: 'test', extra: [1, 2] },
].map((r) => JSON.stringify(r));
const tsvBase = 'id\ttext\tsplit\tfeatures\nu1\tHELLO WORLD\ttrain\tu1.npy\nu2\tA B C\tval\t\nu3\tB\t\tsub/u3.npy\n';

function expectValidRows(rows: ManifestRow[]) {
  expect(rows.length).toBeGreaterThan(0);
  expect(new Set(rows.map((r) => r.id)).size).toBe(rows.length);
  for (const r of rows) {
    expect(typeof r.id === 'string' && r.id.trim() !== '').toBe(true);
    expect(r.text.split(' ').every((t) => t.length > 0)).toBe(true);
    expect([undefined, 'train', 'val', 'test']).toContain(r.split);
    expect(r.features === undefined || typeof r.features === 'string').toBe(true);
  }
}

const rowsOrNamed = (parse: () => ManifestRow[], file: string) => validOrNamed(parse, file, expectValidRows);

describe('fuzz: manifest.jsonl / manifest.tsv / vocab.txt parsers', () => {
  it('JSON type swaps, deleted and added keys on a line of manifest.jsonl', () => {
    const seed = fuzzSeed('manifest.jsonl JSON');
    fc.assert(
      fc.property(fc.nat({ max: jsonlBase.length - 1 }), jsonMutations(), fc.boolean(), (line, ms, wrap) => {
        const lines = [...jsonlBase];
        lines[line] = mutateJson(wrap ? `[${lines[line]}]` : lines[line], ms);
        rowsOrNamed(() => parseManifestJsonl(lines.join('\n'), MANIFEST), MANIFEST);
      }),
      { seed, numRuns: 2000 },
    );
  });

  it('byte mutations of manifest.jsonl, manifest.tsv and vocab.txt (decoded as the importer does)', () => {
    const seed = fuzzSeed('manifest bytes');
    const enc = new TextEncoder();
    const bases = [enc.encode(jsonlBase.join('\n')), enc.encode(tsvBase), enc.encode('HELLO\nWORLD\nA\nB\nC\n')];
    fc.assert(
      fc.property(fc.nat({ max: 2 }), byteMutations(), (k, ms) => {
        const text = new TextDecoder().decode(mutateBytes(bases[k], ms));
        if (k === 0) rowsOrNamed(() => parseManifestJsonl(text, MANIFEST), MANIFEST);
        else if (k === 1) rowsOrNamed(() => parseManifestTsv(text, 'fuzzed/manifest.tsv'), 'fuzzed/manifest.tsv');
        else {
          try {
            const v = parseVocab(text, 'fuzzed/vocab.txt');
            expect(new Set(v).size).toBe(v.length);
            expect(v.every((t) => t.length > 0 && !/\s/.test(t))).toBe(true);
          } catch (e) {
            expectNamedError(e, 'fuzzed/vocab.txt');
          }
        }
      }),
      { seed, numRuns: 2000 },
    );
  });
});
