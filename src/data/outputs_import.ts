// Model-outputs import: a dropped folder, picked files or a .zip holding manifest.jsonl/.tsv,
// vocab.txt, optional outputs.json and the per-sample [T', C] arrays (members <id>.npy of .npz
// archives, or the .npy files the manifest names). The dataset import's machinery: archives read
// by random access, one sample read ahead, each sample validated, converted to log-probabilities
// and handed to a sink (staged in IndexedDB by the worker, invisible until committed); the first
// blocking problem throws a DataError naming the file and the line or sample.

import { DataError } from './errors';
import { abortError, archiveEntries, basename, dirname, entryBlob, expandZips, normalise, type Entry, type InputFile } from './import';
import { parseNpy } from './npy';
import { parseOutputsJson, parseOutputsManifest, parseOutputsVocab, type OutputsJson } from './outputs_manifest';
import { kindTolerance, rowFacts, toLogProbs } from './outputs_kind';
import { ctcMinFrames } from '../lib/ctc_frames';
import type { OutputKind, OutputSampleRecord, OutputSetMeta } from './types';

export type PreparedOutputSample = Omit<OutputSampleRecord, 'setId' | 'index'>;

export interface OutputSampleSink {
  put(sample: PreparedOutputSample): Promise<void> | void;
}

/** What the user sees before storing. Blocking problems throw instead. */
export interface OutputsImportReport {
  name: string;
  numSamples: number;
  counts: OutputSetMeta['counts'];
  numClasses: number;
  blank: number;
  kind: OutputSetMeta['kind'];
  normalised: string; // what was done to reach log-probabilities, in words
  subsampling: number | null;
  subsamplingSource: OutputSetMeta['subsamplingSource'];
  frameShiftMs: number | null;
  model: string;
  outFrames: OutputSetMeta['outFrames'];
  bytes: number;
  nonFinite: (OutputSetMeta['nonFinite'][number] & { file: string })[];
  oov: { token: string; count: number; firstId: string }[]; // reference tokens no class names
  infeasible: { id: string; outFrames: number; needed: number }[]; // fewer output frames than the reference needs
  unusedFiles: string[]; // .npy files nothing refers to
  attachedTo: { id: string; name: string } | null;
}

export interface AttachTarget {
  id: string;
  name: string;
  infos: { id: string; text: string; frames: number }[];
}

export interface OutputsImportOptions {
  onProgress?: (p: { samplesDone: number; samplesTotal: number; bytesDone: number; bytesTotal: number; seconds: number }) => void;
  signal?: AbortSignal;
  /** A stored dataset with the same ids: every sample must be in it with the same reference. */
  attach?: AttachTarget;
}

/** Output frames the input frames allow at a subsampling: [at least, at most]. Convolutions
 * without padding lose a few frames at each end; more than `at most` means padding was saved. */
export function outFramesRange(frames: number, subsampling: number): [number, number] {
  const expected = frames / subsampling;
  return [Math.max(1, Math.floor(0.75 * expected) - 4), Math.ceil(expected) + 2];
}

const median = (xs: number[]) => {
  const s = xs.slice().sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function streamOutputsImport(
  files: InputFile[],
  name: string,
  sink: OutputSampleSink,
  opts: OutputsImportOptions = {},
): Promise<{ meta: Omit<OutputSetMeta, 'id' | 'createdAt'>; report: OutputsImportReport }> {
  const { onProgress, signal, attach } = opts;
  const t0 = performance.now();
  const entries = await expandZips(files);
  const manifests = entries.filter((e) => /^manifest\.(jsonl|tsv)$/i.test(basename(e.path)));
  if (manifests.length === 0) throw new DataError(name, `no manifest.jsonl or manifest.tsv among the ${entries.length} files given`);
  if (manifests.length > 1) throw new DataError(name, `more than one manifest: ${manifests.map((m) => m.path).join(', ')}`);
  const manifest = manifests[0];
  const rows = parseOutputsManifest(new TextDecoder().decode(await manifest.read()), manifest.path);
  const base = dirname(manifest.path);
  const byPath = new Map(entries.map((e) => [e.path, e]));
  const byBase = new Map<string, Entry[]>();
  for (const e of entries) byBase.set(basename(e.path), [...(byBase.get(basename(e.path)) ?? []), e]);
  const sibling = (file: string) => byPath.get(base + file) ?? (byBase.get(file)?.length === 1 ? byBase.get(file)![0] : undefined);

  const jsonEntry = sibling('outputs.json');
  const json: OutputsJson = jsonEntry
    ? parseOutputsJson(new TextDecoder().decode(await jsonEntry.read()), jsonEntry.path)
    : { kind: null, blank: null, subsampling: null, frameShiftMs: null, model: '' };
  const vocabEntry = sibling('vocab.txt');
  if (!vocabEntry)
    throw new DataError(name, 'no vocab.txt (one token per line in class order, a <blank> line where the blank is; without it the classes cannot be named)');
  const { classes, blank, blankLine } = parseOutputsVocab(new TextDecoder().decode(await vocabEntry.read()), vocabEntry.path, json.blank, jsonEntry?.path);
  const C = classes.length;

  if (attach) {
    const known = new Map(attach.infos.map((s) => [s.id, s]));
    for (const r of rows) {
      const s = known.get(r.id);
      if (!s)
        throw new DataError(
          manifest.path,
          `sample '${r.id}' is not in dataset '${attach.name}' (an attached output set has the dataset's ids)`,
          `line ${r.line}`,
        );
      if (s.text !== r.text)
        throw new DataError(manifest.path, `sample '${r.id}': reference '${r.text}' differs from dataset '${attach.name}' ('${s.text}')`, `line ${r.line}`);
      if (r.frames !== null && r.frames !== s.frames)
        throw new DataError(manifest.path, `sample '${r.id}': frames ${r.frames}, but dataset '${attach.name}' has ${s.frames} input frames`, `line ${r.line}`);
      if (r.frames === null) r.frames = s.frames;
    }
  }

  // .npz members "<id>.npy", read one by one by random access.
  const npzMembers = new Map<string, Entry>();
  for (const e of entries.filter((x) => x.path.toLowerCase().endsWith('.npz'))) {
    for (const m of await archiveEntries(await entryBlob(e, files), e.path, '.npz archive')) {
      if (!m.path.endsWith('.npy')) continue;
      const id = m.path.slice(0, -4);
      if (npzMembers.has(id)) throw new DataError(e.path, `member '${m.path}' also appears in ${npzMembers.get(id)!.path.split(':')[0]}`);
      npzMembers.set(id, { ...m, path: `${e.path}:${m.path}` });
    }
  }
  // Every row resolved to its array before any is read: a missing file fails at once.
  const used = new Set<string>();
  const sources = rows.map((row) => {
    if (row.posteriors) {
      const want = normalise(base + row.posteriors);
      let entry = byPath.get(want);
      if (!entry && byBase.get(basename(want))?.length === 1) entry = byBase.get(basename(want))![0];
      if (!entry)
        throw new DataError(manifest.path, `sample '${row.id}': posteriors file '${row.posteriors}' was not among the files given`, `line ${row.line}`);
      used.add(entry.path);
      return entry;
    }
    const m = npzMembers.get(row.id);
    if (!m) throw new DataError(manifest.path, `sample '${row.id}': no 'posteriors' path and no '${row.id}.npy' in any .npz`, `line ${row.line}`);
    return m;
  });
  const bytesTotal = sources.reduce((a, e) => a + e.size, 0);

  const classOf = new Map(classes.map((t, c) => [t, c] as const).filter(([, c]) => c !== blank));
  const detected: Record<OutputKind, number> = { log_probs: 0, logits: 0, probs: 0 };
  const nonFinite: OutputsImportReport['nonFinite'] = [];
  const infeasible: OutputsImportReport['infeasible'] = [];
  const oov = new Map<string, { count: number; firstId: string }>();
  const counts: OutputSetMeta['counts'] = { train: 0, val: 0, test: 0, none: 0 };
  const lengths: { id: string; line: number; file: string; frames: number | null; outFrames: number }[] = [];
  let lseMin = Infinity,
    lseMax = -Infinity,
    bytes = 0,
    bytesDone = 0,
    lastReport = 0;
  let ahead: Promise<Uint8Array> | null = sources.length ? sources[0].read() : null;
  for (let i = 0; i < rows.length; i++) {
    if (signal?.aborted) {
      ahead?.catch(() => {});
      throw abortError();
    }
    const row = rows[i],
      entry = sources[i];
    const raw = await ahead!;
    ahead = i + 1 < rows.length ? sources[i + 1].read() : null;
    ahead?.catch(() => {});
    const arr = parseNpy(raw, entry.path);
    const where = `sample '${row.id}'`;
    if (arr.shape.length !== 2) {
      const hint = arr.shape.length === 3 && arr.shape[0] === 1 ? '; the batch axis was saved: save out[0] (or out[b, :length_b] per sample)' : '';
      throw new DataError(entry.path, `shape (${arr.shape.join(', ')}) must be [output frames, classes]${hint}`, where);
    }
    if (arr.dim !== C) {
      throw new DataError(
        entry.path,
        `has ${arr.dim} classes per frame (shape ${arr.shape.join('x')}), but ${vocabEntry.path} names ${C} classes (${blankLine ? `${C} lines with '<blank>'` : `${C - 1} tokens + the blank`})`,
        where,
      );
    }
    const T = arr.frames;
    const facts = rowFacts(arr.data, T, C, kindTolerance(arr.dtype));
    detected[facts.kind]++;
    if (facts.lseMin < lseMin) lseMin = facts.lseMin;
    if (facts.lseMax > lseMax) lseMax = facts.lseMax;
    if (facts.nonFiniteValues) {
      const k = facts.firstNonFinite;
      nonFinite.push({
        id: row.id,
        file: entry.path,
        values: facts.nonFiniteValues,
        first: `${Number.isNaN(arr.data[k]) ? 'NaN' : '+Inf'} at frame ${Math.floor(k / C)}, class ${k % C}`,
      });
    }
    const lp = toLogProbs(arr.data, T, C, facts.kind);
    // Feasibility at T' and unknown reference tokens (those cannot be aligned or scored).
    const toks = row.text.split(' ');
    const ids = toks.map((t, j) => classOf.get(t) ?? -1 - j);
    for (const t of toks) {
      if (classOf.has(t)) continue;
      const o = oov.get(t) ?? { count: 0, firstId: row.id };
      o.count++;
      oov.set(t, o);
    }
    const needed = ctcMinFrames(ids);
    if (T < needed) infeasible.push({ id: row.id, outFrames: T, needed });
    if (json.subsampling !== null && row.frames !== null) checkLength(row.frames, T, json.subsampling, entry.path, where, manifest.path, row.line);
    lengths.push({ id: row.id, line: row.line, file: entry.path, frames: row.frames, outFrames: T });
    await sink.put({ id: row.id, text: row.text, split: row.split, frames: row.frames, outFrames: T, logProbs: lp.buffer as ArrayBuffer });
    counts[row.split ?? 'none']++;
    bytes += T * C * 4;
    bytesDone += entry.size;
    const now = performance.now();
    if (onProgress && (now - lastReport > 100 || i === rows.length - 1)) {
      lastReport = now;
      onProgress({ samplesDone: i + 1, samplesTotal: rows.length, bytesDone, bytesTotal, seconds: (now - t0) / 1000 });
    }
  }

  // Subsampling: declared, or inferred from the samples whose input frames are known.
  let subsampling = json.subsampling;
  let subsamplingSource: OutputSetMeta['subsamplingSource'] = subsampling !== null ? 'outputs.json' : null;
  const known = lengths.filter((l) => l.frames !== null);
  if (subsampling === null && known.length) {
    subsampling = Math.max(1, Math.round(median(known.map((l) => l.frames! / l.outFrames))));
    subsamplingSource = 'inferred';
    for (const l of known) checkLength(l.frames!, l.outFrames, subsampling, l.file, `sample '${l.id}'`, manifest.path, l.line, true);
  }
  const kinds = (Object.keys(detected) as OutputKind[]).filter((k) => detected[k] > 0);
  const kind: OutputSetMeta['kind'] = {
    declared: json.kind,
    detected,
    lseMin: Number.isFinite(lseMin) ? lseMin : 0,
    lseMax: Number.isFinite(lseMax) ? lseMax : 0,
  };
  const normalised = kinds
    .map((k) =>
      k === 'log_probs'
        ? `${detected[k]} samples of log-probabilities kept as they are`
        : k === 'logits'
          ? `${detected[k]} samples of logits normalised with log_softmax`
          : `${detected[k]} samples of probabilities turned into log-probabilities`,
    )
    .join('; ');
  const outs = lengths.map((l) => l.outFrames);
  const outFrames = { min: Math.min(...outs), mean: outs.reduce((a, b) => a + b, 0) / outs.length, max: Math.max(...outs) };
  const meta: Omit<OutputSetMeta, 'id' | 'createdAt'> = {
    name,
    source: 'import',
    numSamples: rows.length,
    counts,
    classes,
    blank,
    kind,
    subsampling,
    subsamplingSource,
    frameShiftMs: json.frameShiftMs,
    model: json.model,
    outFrames,
    bytes,
    datasetId: attach?.id ?? null,
    datasetName: attach?.name ?? null,
    nonFinite: nonFinite.map(({ file: _f, ...rest }) => rest),
  };
  return {
    meta,
    report: {
      name,
      numSamples: rows.length,
      counts,
      numClasses: C,
      blank,
      kind,
      normalised,
      subsampling,
      subsamplingSource,
      frameShiftMs: json.frameShiftMs,
      model: json.model,
      outFrames,
      bytes,
      nonFinite,
      oov: [...oov].map(([token, o]) => ({ token, ...o })).sort((a, b) => b.count - a.count),
      infeasible,
      unusedFiles: entries.filter((e) => e.path.toLowerCase().endsWith('.npy') && !used.has(e.path)).map((e) => e.path),
      attachedTo: attach ? { id: attach.id, name: attach.name } : null,
    },
  };
}

function checkLength(frames: number, T: number, subsampling: number, file: string, where: string, manifest: string, line: number, inferred = false): void {
  const [lo, hi] = outFramesRange(frames, subsampling);
  const at = `${manifest} line ${line} gives ${frames} input frames: at ×${subsampling} subsampling${inferred ? ' (inferred from the other samples)' : ''}`;
  if (T > hi)
    throw new DataError(file, `${T} output frames, but ${at} at most ${hi} (padding saved with the outputs? save out[b, :length_b] for each sample)`, where);
  if (T < lo)
    throw new DataError(
      file,
      `${T} output frames, but ${at} about ${Math.round(frames / subsampling)} (is the subsampling right? set 'subsampling' in outputs.json)`,
      where,
    );
}

/** The whole import in memory (tests, small inputs). */
export async function prepareOutputsImport(files: InputFile[], name: string, opts: OutputsImportOptions = {}) {
  const samples: PreparedOutputSample[] = [];
  const { meta, report } = await streamOutputsImport(files, name, { put: (s) => void samples.push(s) }, opts);
  return { meta, samples, report };
}
