// Model-outputs import: a dropped folder, picked files or a .zip holding manifest.jsonl/.tsv,
// vocab.txt, optional outputs.json and the per-sample [T', C] arrays (members <id>.npy of .npz
// archives, or the .npy files the manifest names). The model-outputs kind of the import pipeline
// (staged_import.ts): class names from vocab.txt, the rows checked against an attached dataset,
// each array checked ([T', C], C classes, T' against the input frames), its kind detected and
// converted to log-probabilities; the report says what was done.

import { DataError } from './errors';
import { collectStaged, streamStaged, type ImportKind, type InputFile, type Sink, type StreamOptions } from './staged_import';
import { parseOutputsJson, parseOutputsManifest, parseOutputsVocab, type OutputsJson, type OutputsRow } from './outputs_manifest';
import { kindTolerance, rowFacts, toLogProbs } from './outputs_kind';
import { ctcMinFrames } from '../lib/ctc_frames';
import type { OutputKind, OutputSampleRecord, OutputSetMeta } from './types';

export type PreparedOutputSample = Omit<OutputSampleRecord, 'setId' | 'index'>;

/** What the user sees before storing: the set's record as it will be stored, and what was found. Blocking problems throw instead. */
export type OutputsImportReport = Pick<
  OutputSetMeta,
  'name' | 'numSamples' | 'counts' | 'blank' | 'kind' | 'subsampling' | 'subsamplingSource' | 'frameShiftMs' | 'model' | 'outFrames' | 'bytes'
> & {
  numClasses: number;
  normalised: string; // what was done to reach log-probabilities, in words
  nonFinite: (OutputSetMeta['nonFinite'][number] & { file: string })[];
  oov: { token: string; count: number; firstId: string }[]; // reference tokens no class names
  infeasible: { id: string; outFrames: number; needed: number }[]; // fewer output frames than the reference needs
  unusedFiles: string[]; // .npy files nothing refers to
  attachedTo: { id: string; name: string } | null;
};

export interface AttachTarget {
  id: string;
  name: string;
  infos: { id: string; text: string; frames: number }[];
}

export interface OutputsImportOptions extends StreamOptions {
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

type OutputsImport = { meta: Omit<OutputSetMeta, 'id' | 'createdAt'>; report: OutputsImportReport };

/** The model-outputs kind of the pipeline. */
function outputsKind(attach: AttachTarget | undefined): ImportKind<OutputsRow, PreparedOutputSample, OutputsImport> {
  return {
    parseManifest: parseOutputsManifest,
    column: 'posteriors',
    arrayPath: (row) => row.posteriors,
    async begin({ name, manifest, sibling }, rows) {
      const jsonEntry = sibling('outputs.json');
      const json: OutputsJson = jsonEntry
        ? parseOutputsJson(new TextDecoder().decode(await jsonEntry.read()), jsonEntry.path)
        : { kind: null, blank: null, subsampling: null, frameShiftMs: null, model: '' };
      const vocabEntry = sibling('vocab.txt');
      if (!vocabEntry)
        throw new DataError(
          name,
          'no vocab.txt (one token per line in class order, a <blank> line where the blank is; without it the classes cannot be named)',
        );
      const { classes, blank, blankLine } = parseOutputsVocab(new TextDecoder().decode(await vocabEntry.read()), vocabEntry.path, json.blank, jsonEntry?.path);
      const C = classes.length;
      if (attach) checkAttached(attach, rows, manifest);

      const classOf = new Map(classes.map((t, c) => [t, c] as const).filter(([, c]) => c !== blank));
      const detected: Record<OutputKind, number> = { log_probs: 0, logits: 0, probs: 0 };
      const nonFinite: OutputsImportReport['nonFinite'] = [];
      const infeasible: OutputsImportReport['infeasible'] = [];
      const oov = new Map<string, { count: number; firstId: string }>();
      const counts: OutputSetMeta['counts'] = { train: 0, val: 0, test: 0, none: 0 };
      const lengths: { id: string; line: number; file: string; frames: number | null; outFrames: number }[] = [];
      let lseMin = Infinity,
        lseMax = -Infinity,
        bytes = 0;
      return {
        accept(arr, row, file) {
          const where = `sample '${row.id}'`;
          if (arr.shape.length !== 2) {
            const hint = arr.shape.length === 3 && arr.shape[0] === 1 ? '; the batch axis was saved: save out[0] (or out[b, :length_b] per sample)' : '';
            throw new DataError(file, `shape (${arr.shape.join(', ')}) must be [output frames, classes]${hint}`, where);
          }
          if (arr.dim !== C) {
            throw new DataError(
              file,
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
              file,
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
          if (json.subsampling !== null && row.frames !== null) checkLength(row.frames, T, json.subsampling, file, where, manifest, row.line);
          lengths.push({ id: row.id, line: row.line, file, frames: row.frames, outFrames: T });
          counts[row.split ?? 'none']++;
          bytes += T * C * 4;
          return { id: row.id, text: row.text, split: row.split, frames: row.frames, outFrames: T, logProbs: lp.buffer as ArrayBuffer };
        },

        finish(unusedFiles) {
          // Subsampling: declared, or inferred from the samples whose input frames are known.
          let subsampling = json.subsampling;
          let subsamplingSource: OutputSetMeta['subsamplingSource'] = subsampling !== null ? 'outputs.json' : null;
          const known = lengths.filter((l) => l.frames !== null);
          if (subsampling === null && known.length) {
            subsampling = Math.max(1, Math.round(median(known.map((l) => l.frames! / l.outFrames))));
            subsamplingSource = 'inferred';
            for (const l of known) checkLength(l.frames!, l.outFrames, subsampling, l.file, `sample '${l.id}'`, manifest, l.line, true);
          }
          const kind: OutputSetMeta['kind'] = {
            declared: json.kind,
            detected,
            lseMin: Number.isFinite(lseMin) ? lseMin : 0,
            lseMax: Number.isFinite(lseMax) ? lseMax : 0,
          };
          const outs = lengths.map((l) => l.outFrames);
          // What the report and the stored record share.
          const common = {
            name,
            numSamples: rows.length,
            counts,
            blank,
            kind,
            subsampling,
            subsamplingSource,
            frameShiftMs: json.frameShiftMs,
            model: json.model,
            outFrames: { min: Math.min(...outs), mean: outs.reduce((a, b) => a + b, 0) / outs.length, max: Math.max(...outs) },
            bytes,
          };
          return {
            meta: {
              ...common,
              source: 'import',
              classes,
              datasetId: attach?.id ?? null,
              datasetName: attach?.name ?? null,
              nonFinite: nonFinite.map(({ file: _f, ...rest }) => rest),
            },
            report: {
              ...common,
              numClasses: C,
              normalised: normalisedInWords(detected),
              nonFinite,
              oov: [...oov].map(([token, o]) => ({ token, ...o })).sort((a, b) => b.count - a.count),
              infeasible,
              unusedFiles,
              attachedTo: attach ? { id: attach.id, name: attach.name } : null,
            },
          };
        },
      };
    },
  };
}

/** An attached set's rows are the dataset's samples, with the same references and input frames (filled in when missing). */
function checkAttached(attach: AttachTarget, rows: OutputsRow[], manifest: string): void {
  const known = new Map(attach.infos.map((s) => [s.id, s]));
  for (const r of rows) {
    const s = known.get(r.id);
    if (!s)
      throw new DataError(manifest, `sample '${r.id}' is not in dataset '${attach.name}' (an attached output set has the dataset's ids)`, `line ${r.line}`);
    if (s.text !== r.text)
      throw new DataError(manifest, `sample '${r.id}': reference '${r.text}' differs from dataset '${attach.name}' ('${s.text}')`, `line ${r.line}`);
    if (r.frames !== null && r.frames !== s.frames)
      throw new DataError(manifest, `sample '${r.id}': frames ${r.frames}, but dataset '${attach.name}' has ${s.frames} input frames`, `line ${r.line}`);
    if (r.frames === null) r.frames = s.frames;
  }
}

/** What was done to reach log-probabilities, per detected kind. */
function normalisedInWords(detected: Record<OutputKind, number>): string {
  return (Object.keys(detected) as OutputKind[])
    .filter((k) => detected[k] > 0)
    .map((k) =>
      k === 'log_probs'
        ? `${detected[k]} samples of log-probabilities kept as they are`
        : k === 'logits'
          ? `${detected[k]} samples of logits normalised with log_softmax`
          : `${detected[k]} samples of probabilities turned into log-probabilities`,
    )
    .join('; ');
}

/** Reads and validates a model-outputs set, streaming its samples (as log-probabilities) into `sink`. */
export function streamOutputsImport(
  files: InputFile[],
  name: string,
  sink: Sink<PreparedOutputSample>,
  opts: OutputsImportOptions = {},
): Promise<OutputsImport> {
  return streamStaged(files, name, outputsKind(opts.attach), sink, opts);
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
export async function prepareOutputsImport(files: InputFile[], name: string, opts: Pick<OutputsImportOptions, 'attach'> = {}) {
  const { result, samples } = await collectStaged(files, name, outputsKind(opts.attach));
  return { ...result, samples };
}
