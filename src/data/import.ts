// Dataset import: dropped folder, picked files or .zip → validated PreparedDataset.
// Files arrive as { path, blob } with paths relative to what the user dropped. Nothing is stored
// here: the caller writes the result in one transaction, so a failure leaves no trace.

import { unzipSync } from 'fflate';
import { DataError } from './errors';
import { parseManifestJsonl, parseManifestTsv, parseVocab } from './manifest';
import { parseNpy } from './npy';
import { assignSplits, finishDataset, type PreparedDataset, type PreparedSample } from './prepare';
import { datasetFacts } from '../engine/diagnose/dataset_facts';
import type { DatasetFacts } from '../engine/diagnose/checks';

/** What the user sees before committing an import. Blocking problems throw instead. */
export interface ImportReport {
  name: string;
  counts: PreparedDataset['meta']['counts'];
  frames: PreparedDataset['meta']['frames'];
  featureDim: number;
  vocabSize: number;
  bytes: number; // float32 feature bytes to store
  nonFinite: { id: string; file: string; values: number; first: string }[]; // left out of the dataset
  zeroVarianceDims: number[];
  oov: DatasetFacts['oov'];
  subsampling: number;
  infeasible: DatasetFacts['infeasible'];
  unusedFeatureFiles: string[]; // .npy files no manifest row refers to
}

export interface InputFile {
  path: string; // e.g. "mydata/feats/utt1.npy"
  blob: Blob;
}

interface Entry {
  path: string;
  read: () => Promise<Uint8Array>;
}

const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);
const dirname = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/') + 1) : '');

function normalise(path: string): string {
  const out: string[] = [];
  for (const part of path.replace(/\\/g, '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

async function expandZips(files: InputFile[]): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (const f of files) {
    const path = normalise(f.path);
    if (path.toLowerCase().endsWith('.zip')) {
      let members: Record<string, Uint8Array>;
      try {
        members = unzipSync(new Uint8Array(await f.blob.arrayBuffer()));
      } catch (e) {
        throw new DataError(path, `not a readable zip archive (${(e as Error).message})`);
      }
      for (const [name, bytes] of Object.entries(members)) {
        if (name.endsWith('/') || name.startsWith('__MACOSX/')) continue;
        entries.push({ path: normalise(name), read: async () => bytes });
      }
    } else {
      entries.push({ path, read: async () => new Uint8Array(await f.blob.arrayBuffer()) });
    }
  }
  return entries;
}

/**
 * Reads and validates everything; throws a DataError (file, line or sample) on the first blocking
 * problem. Samples with NaN/Inf features are not blocking: they are left out and listed, and the
 * user decides whether to store the rest. `subsampling` is the model's, for the feasibility list.
 */
export async function prepareImport(files: InputFile[], name: string, seed = 1234, subsampling = 2): Promise<{ dataset: PreparedDataset; report: ImportReport }> {
  const entries = await expandZips(files);
  const manifests = entries.filter((e) => /^manifest\.(jsonl|tsv)$/i.test(basename(e.path)));
  if (manifests.length === 0) {
    throw new DataError(name, `no manifest.jsonl or manifest.tsv among the ${entries.length} files given`);
  }
  if (manifests.length > 1) throw new DataError(name, `more than one manifest: ${manifests.map((m) => m.path).join(', ')}`);
  const manifest = manifests[0];
  const text = new TextDecoder().decode(await manifest.read());
  const rows = manifest.path.toLowerCase().endsWith('.tsv')
    ? parseManifestTsv(text, manifest.path)
    : parseManifestJsonl(text, manifest.path);
  const base = dirname(manifest.path);

  const byPath = new Map(entries.map((e) => [e.path, e]));
  const byBase = new Map<string, Entry[]>();
  for (const e of entries) byBase.set(basename(e.path), [...(byBase.get(basename(e.path)) ?? []), e]);

  // .npz archives: members "<id>.npy" (np.savez / np.savez_compressed are zip files).
  const npzMembers = new Map<string, { archive: string; bytes: Uint8Array }>();
  for (const e of entries.filter((x) => x.path.toLowerCase().endsWith('.npz'))) {
    let members: Record<string, Uint8Array>;
    try {
      members = unzipSync(await e.read());
    } catch (err) {
      throw new DataError(e.path, `not a readable .npz archive (${(err as Error).message})`);
    }
    for (const [m, bytes] of Object.entries(members)) {
      if (!m.endsWith('.npy')) continue;
      const id = m.slice(0, -4);
      if (npzMembers.has(id)) throw new DataError(e.path, `member '${m}' also appears in ${npzMembers.get(id)!.archive}`);
      npzMembers.set(id, { archive: e.path, bytes });
    }
  }

  let vocab: string[] | null = null;
  const vocabEntry = byPath.get(base + 'vocab.txt') ?? (byBase.get('vocab.txt')?.length === 1 ? byBase.get('vocab.txt')![0] : undefined);
  if (vocabEntry) vocab = parseVocab(new TextDecoder().decode(await vocabEntry.read()), vocabEntry.path);

  const splits = assignSplits(rows.map((r) => r.split), seed);
  const samples: PreparedSample[] = [];
  const nonFinite: ImportReport['nonFinite'] = [];
  const used = new Set<string>();
  let featureDim = -1;
  let dimFrom = '';
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    let file: string;
    let bytes: Uint8Array;
    if (row.features) {
      const want = normalise(base + row.features);
      let entry = byPath.get(want);
      if (!entry) {
        const same = byBase.get(basename(want)) ?? [];
        if (same.length === 1) entry = same[0];
      }
      if (!entry) throw new DataError(manifest.path, `sample '${row.id}': features file '${row.features}' was not among the files given`, `line ${row.line}`);
      file = entry.path;
      used.add(entry.path);
      bytes = await entry.read();
    } else {
      const m = npzMembers.get(row.id);
      if (!m) throw new DataError(manifest.path, `sample '${row.id}': no 'features' path and no '${row.id}.npy' in any .npz`, `line ${row.line}`);
      file = `${m.archive}:${row.id}.npy`;
      bytes = m.bytes;
    }
    const arr = parseNpy(bytes, file);
    if (featureDim < 0) {
      featureDim = arr.dim;
      dimFrom = file;
    } else if (arr.dim !== featureDim) {
      throw new DataError(file, `has ${arr.dim} features per frame (shape ${arr.shape.join('x')}), but ${dimFrom} has ${featureDim}`, `sample '${row.id}'`);
    }
    let bad = 0;
    let first = '';
    for (let k = 0; k < arr.data.length; k++) {
      if (!Number.isFinite(arr.data[k])) {
        if (bad++ === 0) first = `${Number.isNaN(arr.data[k]) ? 'NaN' : 'Inf'} value at frame ${Math.floor(k / arr.dim)}, feature ${k % arr.dim}`;
      }
    }
    if (bad) {
      nonFinite.push({ id: row.id, file, values: bad, first });
      continue;
    }
    samples.push({ id: row.id, text: row.text, split: splits[i], frames: arr.frames, features: arr.data.buffer as ArrayBuffer });
  }
  if (samples.length === 0) {
    throw new DataError(name, `every sample has NaN/Inf features (first: ${nonFinite[0]?.file}, ${nonFinite[0]?.first})`);
  }
  const dataset = finishDataset(name, 'import', samples, featureDim, vocab, vocabEntry?.path);
  const facts = datasetFacts(dataset.meta, dataset.samples, subsampling);
  const m = dataset.meta;
  return {
    dataset,
    report: {
      name, counts: m.counts, frames: m.frames, featureDim: m.featureDim, vocabSize: m.vocab.length, bytes: m.bytes,
      nonFinite, zeroVarianceDims: facts.zeroVarianceDims, oov: facts.oov, subsampling, infeasible: facts.infeasible,
      unusedFeatureFiles: entries.filter((e) => e.path.toLowerCase().endsWith('.npy') && !used.has(e.path)).map((e) => e.path),
    },
  };
}
