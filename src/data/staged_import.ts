// The import pipeline, one for datasets (import.ts) and model-output sets (outputs_import.ts):
// a dropped folder, picked files or a .zip → the manifest found and parsed → the kind reads its
// side files (vocab.txt, outputs.json) and checks the rows → every row resolved to its array (the
// .npy the manifest names, or member <id>.npy of an .npz) before any is read, so a missing file
// fails in milliseconds → arrays read one at a time by random access, the next one read ahead,
// each checked by the kind and handed to a sink → the kind's meta and report. Memory holds one
// sample plus the sink's write buffer, never the set. The worker's sink stages samples out of
// sight (staging.ts, set_store.ts); only a committed import becomes a set. The first blocking
// problem throws a DataError naming the file and the line or sample; an abort, an AbortError.

import { DataError } from './errors';
import { parseNpy, type NpyArray } from './npy';
import { readZipDirectory, readZipMember } from './zip';

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
  bytesDone: number; // array bytes read (compressed, for archive members)
  bytesTotal: number;
  seconds: number;
}

export interface StreamOptions {
  onProgress?: (p: ImportProgress) => void;
  signal?: AbortSignal;
}

/** Receives each accepted sample in order (index 0, 1, …). */
export interface Sink<Sample> {
  put(sample: Sample): Promise<void> | void;
}

/** A manifest row as the pipeline needs it (each kind's rows carry more). */
export interface ImportRow {
  id: string;
  line: number; // 1-based line in the manifest, for messages
}

/** What a kind is told once the manifest is read. */
export interface ManifestFound {
  name: string; // the import's name (messages about the whole import name it)
  manifest: string; // the manifest's path
  /** A file beside the manifest, else the only one of that name anywhere (vocab.txt, outputs.json). */
  sibling(file: string): Entry | undefined;
}

/** What is imported: how its manifest is read, how each array is checked, what the result is. */
export interface ImportKind<Row extends ImportRow, Sample, Result> {
  /** The manifest's rows; each refusal names the file and line. */
  parseManifest(text: string, file: string): Row[];
  /** The manifest column naming a row's .npy, as messages spell it ('features', 'posteriors'). */
  column: string;
  /** That column's value in a row (none: member <id>.npy of an .npz). */
  arrayPath(row: Row): string | null | undefined;
  /** Reads the side files and checks the rows, before any array is read. */
  begin(found: ManifestFound, rows: Row[]): Promise<KindRun<Row, Sample, Result>>;
}

/** One import of a kind, after `begin`. */
export interface KindRun<Row, Sample, Result> {
  /** Checks row `index`'s array, read from `file`: the sample to hand to the sink, or null to leave it out (the report lists it). */
  accept(arr: NpyArray, row: Row, file: string, index: number): Sample | null;
  /** The result once every sample was seen; `unusedFiles`: the .npy files no row refers to. */
  finish(unusedFiles: string[]): Result;
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

async function archiveEntries(blob: Blob, file: string, kind: string): Promise<Entry[]> {
  let members;
  try {
    members = await readZipDirectory(blob, file);
  } catch (e) {
    if (e instanceof DataError) throw new DataError(file, `not a readable ${kind} (${e.detail})`);
    throw e;
  }
  return members.map((m) => ({ path: m.name, size: m.compressedSize, read: () => readZipMember(blob, m, file) }));
}

async function expandZips(files: InputFile[]): Promise<Entry[]> {
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
async function entryBlob(e: Entry, files: InputFile[]): Promise<Blob> {
  const direct = files.find((f) => normalise(f.path) === e.path);
  return direct ? direct.blob : new Blob([(await e.read()) as BlobPart]);
}

function abortError(): DOMException {
  return new DOMException('the import was aborted', 'AbortError');
}

/**
 * Reads and validates everything, streaming accepted samples into `sink`; throws a DataError
 * (file, line or sample) on the first blocking problem, an AbortError when `signal` fires.
 */
export async function streamStaged<Row extends ImportRow, Sample, Result>(
  files: InputFile[],
  name: string,
  kind: ImportKind<Row, Sample, Result>,
  sink: Sink<Sample>,
  opts: StreamOptions = {},
): Promise<Result> {
  const { onProgress, signal } = opts;
  const t0 = performance.now();
  const entries = await expandZips(files);
  const manifests = entries.filter((e) => /^manifest\.(jsonl|tsv)$/i.test(basename(e.path)));
  if (manifests.length === 0) throw new DataError(name, `no manifest.jsonl or manifest.tsv among the ${entries.length} files given`);
  if (manifests.length > 1) throw new DataError(name, `more than one manifest: ${manifests.map((m) => m.path).join(', ')}`);
  const manifest = manifests[0];
  const rows = kind.parseManifest(new TextDecoder().decode(await manifest.read()), manifest.path);
  const base = dirname(manifest.path);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const byBase = new Map<string, Entry[]>();
  for (const e of entries) byBase.set(basename(e.path), [...(byBase.get(basename(e.path)) ?? []), e]);
  const sibling = (file: string) => byPath.get(base + file) ?? (byBase.get(file)?.length === 1 ? byBase.get(file)![0] : undefined);
  const run = await kind.begin({ name, manifest: manifest.path, sibling }, rows);

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

  // Every row resolved to its array before any is read: a missing file fails at once.
  const used = new Set<string>();
  const sources = rows.map((row) => {
    const path = kind.arrayPath(row);
    if (path) {
      const want = normalise(base + path);
      let entry = byPath.get(want);
      if (!entry && byBase.get(basename(want))?.length === 1) entry = byBase.get(basename(want))![0];
      if (!entry) throw new DataError(manifest.path, `sample '${row.id}': ${kind.column} file '${path}' was not among the files given`, `line ${row.line}`);
      used.add(entry.path);
      return entry;
    }
    const m = npzMembers.get(row.id);
    if (!m) throw new DataError(manifest.path, `sample '${row.id}': no '${kind.column}' path and no '${row.id}.npy' in any .npz`, `line ${row.line}`);
    return m.entry;
  });
  const bytesTotal = sources.reduce((a, e) => a + e.size, 0);

  let bytesDone = 0,
    lastReport = 0;
  // Read-ahead: the next file is being read while this one is checked and handed to the sink.
  let ahead: Promise<Uint8Array> | null = sources.length ? sources[0].read() : null;
  for (let i = 0; i < rows.length; i++) {
    if (signal?.aborted) {
      ahead?.catch(() => {});
      throw abortError();
    }
    const entry = sources[i];
    const raw = await ahead!;
    ahead = i + 1 < rows.length ? sources[i + 1].read() : null;
    ahead?.catch(() => {}); // its error, if any, is thrown when awaited
    const sample = run.accept(parseNpy(raw, entry.path), rows[i], entry.path, i);
    if (sample !== null) await sink.put(sample);
    bytesDone += entry.size;
    const now = performance.now();
    if (onProgress && (now - lastReport > 100 || i === rows.length - 1)) {
      lastReport = now;
      onProgress({ samplesDone: i + 1, samplesTotal: rows.length, bytesDone, bytesTotal, seconds: (now - t0) / 1000 });
    }
  }
  return run.finish(entries.filter((e) => e.path.toLowerCase().endsWith('.npy') && !used.has(e.path)).map((e) => e.path));
}

/** The whole import in memory (tests, small inputs): the result and every accepted sample. */
export async function collectStaged<Row extends ImportRow, Sample, Result>(
  files: InputFile[],
  name: string,
  kind: ImportKind<Row, Sample, Result>,
): Promise<{ result: Result; samples: Sample[] }> {
  const samples: Sample[] = [];
  const result = await streamStaged(files, name, kind, { put: (s) => void samples.push(s) });
  return { result, samples };
}
