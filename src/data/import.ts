// Dataset import: dropped folder, picked files, .zip or .npz → validated samples, streamed.
// Files arrive as { path, blob } with paths relative to what the user dropped. Samples are read,
// checked and handed to a sink one at a time (zip/npz members by random access), so memory holds
// one sample plus the sink's write buffer, never the dataset. The caller's sink stages them out
// of sight; only a successful, committed import becomes a dataset.

import { DataError } from './errors';
import { parseManifestJsonl, parseManifestTsv, parseVocab } from './manifest';
import { parseNpy } from './npy';
import { assignSplits, FeatureStats, finishMeta, type PreparedDataset, type PreparedSample, type PreparedInfo } from './prepare';
import { readZipDirectory, readZipMember } from './zip';
import { zeroVarianceDims } from './norm';
import { labelFacts, type DatasetFacts } from './dataset_facts';

/** What the user sees before committing an import. Blocking problems throw instead. */
export interface ImportReport {
  name: string;
  counts: PreparedDataset['meta']['counts'];
  frames: PreparedDataset['meta']['frames'];
  featureDim: number;
  vocabSize: number;
  bytes: number; // float32 feature bytes to store (float16: half)
  maxAbs: number; // largest |feature value| stored: float16 storage needs ≤ 65504
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

export interface Entry {
  path: string;
  size: number; // bytes read to get it (compressed size for archive members)
  read: () => Promise<Uint8Array>;
}

export interface ImportProgress {
  samplesDone: number;
  samplesTotal: number;
  bytesDone: number; // feature bytes read (compressed, for archive members)
  bytesTotal: number;
  seconds: number;
}

export interface ImportOptions {
  seed?: number; // for the 90/10 split of rows without one
  subsampling?: number; // the model's, for the feasibility list
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
  /** Refuse a sample with a larger |value| (float16 storage chosen before the import: 65504). */
  maxAbs?: number;
}

/** Receives each accepted sample in order (index 0, 1, …). */
export interface SampleSink {
  put(sample: PreparedSample): Promise<void> | void;
}

export const basename = (p: string) => p.slice(p.lastIndexOf('/') + 1);
export const dirname = (p: string) => (p.includes('/') ? p.slice(0, p.lastIndexOf('/') + 1) : '');

export function normalise(path: string): string {
  const out: string[] = [];
  for (const part of path.replace(/\\/g, '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') out.pop();
    else out.push(part);
  }
  return out.join('/');
}

export async function archiveEntries(blob: Blob, file: string, kind: string): Promise<Entry[]> {
  let members;
  try {
    members = await readZipDirectory(blob, file);
  } catch (e) {
    if (e instanceof DataError) throw new DataError(file, `not a readable ${kind} (${e.detail})`);
    throw e;
  }
  return members.map((m) => ({ path: m.name, size: m.compressedSize, read: () => readZipMember(blob, m, file) }));
}

export async function expandZips(files: InputFile[]): Promise<Entry[]> {
  const entries: Entry[] = [];
  for (const f of files) {
    const path = normalise(f.path);
    if (path.toLowerCase().endsWith('.zip')) {
      for (const m of await archiveEntries(f.blob, path, 'zip archive')) {
        if (m.path.startsWith('__MACOSX/')) continue;
        entries.push({ ...m, path: normalise(m.path) });
      }
    } else {
      entries.push({ path, size: f.blob.size, read: async () => new Uint8Array(await f.blob.arrayBuffer()) });
    }
  }
  return entries;
}

/** An npz inside a zip is read into memory first (it is one member); a dropped npz is read by random access. */
export async function entryBlob(e: Entry, files: InputFile[]): Promise<Blob> {
  const direct = files.find((f) => normalise(f.path) === e.path);
  return direct ? direct.blob : new Blob([(await e.read()) as BlobPart]);
}

export function abortError(): DOMException {
  return new DOMException('the import was aborted', 'AbortError');
}

/**
 * Reads and validates everything, streaming accepted samples into `sink`; throws a DataError
 * (file, line or sample) on the first blocking problem, an AbortError when `signal` fires.
 * Samples with NaN/Inf features are not blocking: they are left out and listed, and the user
 * decides whether to store the rest.
 */
export async function streamImport(
  files: InputFile[],
  name: string,
  sink: SampleSink,
  opts: ImportOptions = {},
): Promise<{ meta: PreparedDataset['meta']; report: ImportReport }> {
  const { seed = 1234, subsampling = 2, onProgress, signal, maxAbs: limit = Infinity } = opts;
  const t0 = performance.now();
  const entries = await expandZips(files);
  const manifests = entries.filter((e) => /^manifest\.(jsonl|tsv)$/i.test(basename(e.path)));
  if (manifests.length === 0) {
    throw new DataError(name, `no manifest.jsonl or manifest.tsv among the ${entries.length} files given`);
  }
  if (manifests.length > 1) throw new DataError(name, `more than one manifest: ${manifests.map((m) => m.path).join(', ')}`);
  const manifest = manifests[0];
  const text = new TextDecoder().decode(await manifest.read());
  const rows = manifest.path.toLowerCase().endsWith('.tsv') ? parseManifestTsv(text, manifest.path) : parseManifestJsonl(text, manifest.path);
  const base = dirname(manifest.path);

  const byPath = new Map(entries.map((e) => [e.path, e]));
  const byBase = new Map<string, Entry[]>();
  for (const e of entries) byBase.set(basename(e.path), [...(byBase.get(basename(e.path)) ?? []), e]);

  // .npz archives (np.savez / np.savez_compressed are zip files): members "<id>.npy", read one by one.
  const npzMembers = new Map<string, { archive: string; entry: Entry }>();
  for (const e of entries.filter((x) => x.path.toLowerCase().endsWith('.npz'))) {
    for (const m of await archiveEntries(await entryBlob(e, files), e.path, '.npz archive')) {
      if (!m.path.endsWith('.npy')) continue;
      const id = m.path.slice(0, -4);
      if (npzMembers.has(id)) throw new DataError(e.path, `member '${m.path}' also appears in ${npzMembers.get(id)!.archive}`);
      npzMembers.set(id, { archive: e.path, entry: { ...m, path: `${e.path}:${m.path}` } });
    }
  }

  let vocab: string[] | null = null;
  const vocabEntry = byPath.get(base + 'vocab.txt') ?? (byBase.get('vocab.txt')?.length === 1 ? byBase.get('vocab.txt')![0] : undefined);
  if (vocabEntry) vocab = parseVocab(new TextDecoder().decode(await vocabEntry.read()), vocabEntry.path);

  // Resolve every row to its features before reading any: a missing file fails in milliseconds.
  const used = new Set<string>();
  const sources = rows.map((row) => {
    if (row.features) {
      const want = normalise(base + row.features);
      let entry = byPath.get(want);
      if (!entry) {
        const same = byBase.get(basename(want)) ?? [];
        if (same.length === 1) entry = same[0];
      }
      if (!entry) throw new DataError(manifest.path, `sample '${row.id}': features file '${row.features}' was not among the files given`, `line ${row.line}`);
      used.add(entry.path);
      return entry;
    }
    const m = npzMembers.get(row.id);
    if (!m) throw new DataError(manifest.path, `sample '${row.id}': no 'features' path and no '${row.id}.npy' in any .npz`, `line ${row.line}`);
    return m.entry;
  });
  const bytesTotal = sources.reduce((a, e) => a + e.size, 0);

  const splits = assignSplits(
    rows.map((r) => r.split),
    seed,
  );
  const infos: PreparedInfo[] = [];
  const nonFinite: ImportReport['nonFinite'] = [];
  let stats: FeatureStats | null = null;
  let dimFrom = '';
  let bytesDone = 0,
    bytes = 0,
    lastReport = 0,
    maxAbs = 0;
  // Read-ahead: the next file is being read while this one is checked and handed to the sink.
  let ahead: Promise<Uint8Array> | null = sources.length ? sources[0].read() : null;
  for (let i = 0; i < rows.length; i++) {
    if (signal?.aborted) {
      ahead?.catch(() => {});
      throw abortError();
    }
    const row = rows[i];
    const entry = sources[i];
    const raw = await ahead!;
    ahead = i + 1 < rows.length ? sources[i + 1].read() : null;
    ahead?.catch(() => {}); // its error, if any, is thrown when awaited
    const arr = parseNpy(raw, entry.path);
    bytesDone += entry.size;
    if (!stats) {
      stats = new FeatureStats(arr.dim);
      dimFrom = entry.path;
    } else if (arr.dim !== stats.featureDim) {
      throw new DataError(
        entry.path,
        `has ${arr.dim} features per frame (shape ${arr.shape.join('x')}), but ${dimFrom} has ${stats.featureDim}`,
        `sample '${row.id}'`,
      );
    }
    // One pass: NaN/Inf count and the largest magnitude (float16 range check).
    let bad = 0,
      firstBad = -1,
      big = 0;
    const x = arr.data;
    for (let k = 0; k < x.length; k++) {
      const a = Math.abs(x[k]);
      if (a > big) big = a;
      else if (!(a <= big)) {
        // NaN (a <= big is false), or Inf that was caught by a > big above: sorted out below.
        if (bad++ === 0) firstBad = k;
      }
    }
    if (big === Infinity) {
      bad = 0;
      firstBad = -1;
      for (let k = 0; k < x.length; k++) if (!Number.isFinite(x[k]) && bad++ === 0) firstBad = k;
    }
    const first = bad ? `${Number.isNaN(x[firstBad]) ? 'NaN' : 'Inf'} value at frame ${Math.floor(firstBad / arr.dim)}, feature ${firstBad % arr.dim}` : '';
    if (bad) nonFinite.push({ id: row.id, file: entry.path, values: bad, first });
    else if (big > limit) {
      throw new DataError(
        entry.path,
        `has a value of magnitude ${big.toPrecision(6)}, beyond float16's range (±${limit}) chosen for storage; import it with float32 storage`,
        `sample '${row.id}'`,
      );
    } else {
      if (splits[i] === 'train') stats.add(arr.data, arr.frames);
      const sample = { id: row.id, text: row.text, split: splits[i], frames: arr.frames, features: arr.data.buffer as ArrayBuffer };
      await sink.put(sample);
      infos.push({ id: row.id, text: row.text, split: splits[i], frames: arr.frames });
      bytes += arr.data.byteLength;
      maxAbs = Math.max(maxAbs, big);
    }
    const now = performance.now();
    if (onProgress && (now - lastReport > 100 || i === rows.length - 1)) {
      lastReport = now;
      onProgress({ samplesDone: i + 1, samplesTotal: rows.length, bytesDone, bytesTotal, seconds: (now - t0) / 1000 });
    }
  }
  if (infos.length === 0) {
    throw new DataError(name, `every sample has NaN/Inf features (first: ${nonFinite[0]?.file}, ${nonFinite[0]?.first})`);
  }
  const meta = finishMeta(name, 'import', infos, stats!, vocab, vocabEntry?.path, bytes);
  const { infeasible, oov } = labelFacts(meta.vocab, infos, subsampling);
  return {
    meta,
    report: {
      name,
      counts: meta.counts,
      frames: meta.frames,
      featureDim: meta.featureDim,
      vocabSize: meta.vocab.length,
      bytes,
      maxAbs,
      nonFinite,
      zeroVarianceDims: zeroVarianceDims(meta.norm.std),
      oov,
      subsampling,
      infeasible,
      unusedFeatureFiles: entries.filter((e) => e.path.toLowerCase().endsWith('.npy') && !used.has(e.path)).map((e) => e.path),
    },
  };
}

/** The whole import in memory (tests, small inputs): streamImport into an array. */
export async function prepareImport(
  files: InputFile[],
  name: string,
  seed = 1234,
  subsampling = 2,
): Promise<{ dataset: PreparedDataset; report: ImportReport }> {
  const samples: PreparedSample[] = [];
  const { meta, report } = await streamImport(files, name, { put: (s) => void samples.push(s) }, { seed, subsampling });
  return { dataset: { meta, samples }, report };
}
