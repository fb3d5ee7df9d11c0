// The text files of a model-outputs set (docs/ARCHITECTURE.md "Model outputs format"):
// manifest.jsonl/.tsv rows (id, text = the reference, optional split, frames = input frames,
// posteriors = a .npy path), vocab.txt in class order (a '<blank>' line marks the blank, else the
// blank is class 0), and the optional outputs.json. Every refusal names the file and the line or key.

import { DataError } from './errors';
import { jsonlRows, parseVocab, tsvRows } from './manifest';
import type { OutputKind, Split } from './types';

export interface OutputsRow {
  id: string;
  text: string; // tokens separated by single spaces
  split: Split | null;
  frames: number | null; // input frames before subsampling
  posteriors: string | null; // relative path of a per-sample .npy
  line: number; // 1-based, for messages
}

const SPLITS = new Set(['train', 'val', 'test']);

function checkRow(raw: Record<string, unknown>, file: string, line: number): OutputsRow {
  const where = `line ${line}`;
  const { id, text, split, frames, posteriors } = raw;
  if (typeof id !== 'string' || id.trim() === '') throw new DataError(file, "missing or empty 'id' (a non-empty string)", where);
  if (typeof text !== 'string') throw new DataError(file, `sample '${id}': missing 'text' (the reference: space-separated tokens)`, where);
  if (text.trim() === '') throw new DataError(file, `sample '${id}': empty reference`, where);
  if (split !== undefined && split !== null && split !== '' && (typeof split !== 'string' || !SPLITS.has(split))) {
    throw new DataError(file, `sample '${id}': split must be train, val or test, got ${JSON.stringify(split)}`, where);
  }
  let f: number | null = null;
  if (frames !== undefined && frames !== null && frames !== '') {
    f = typeof frames === 'string' ? Number(frames) : (frames as number);
    if (typeof f !== 'number' || !Number.isInteger(f) || f < 1)
      throw new DataError(file, `sample '${id}': 'frames' (input frames) must be a positive integer, got ${JSON.stringify(frames)}`, where);
  }
  if (posteriors !== undefined && posteriors !== null && typeof posteriors !== 'string') {
    throw new DataError(file, `sample '${id}': 'posteriors' must be a relative path string`, where);
  }
  return { id, text: text.trim().split(/\s+/).join(' '), split: split ? (split as Split) : null, frames: f, posteriors: posteriors || null, line };
}

export function parseOutputsManifest(text: string, file: string): OutputsRow[] {
  const read = file.toLowerCase().endsWith('.tsv') ? tsvRows : jsonlRows;
  return read(text, file, (raw, line) => checkRow(raw, file, line));
}

export interface OutputsJson {
  kind: OutputKind | null;
  blank: number | null;
  subsampling: number | null;
  frameShiftMs: number | null;
  model: string;
}

const KNOWN_KEYS = ['kind', 'blank', 'subsampling', 'frame_shift_ms', 'model'];

export function parseOutputsJson(text: string, file: string): OutputsJson {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (e) {
    throw new DataError(file, `not valid JSON (${(e as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) throw new DataError(file, 'must be one JSON object');
  const r = o as Record<string, unknown>;
  for (const k of Object.keys(r)) if (!KNOWN_KEYS.includes(k)) throw new DataError(file, `unknown key '${k}' (known: ${KNOWN_KEYS.join(', ')})`);
  const { kind, blank, subsampling, frame_shift_ms: shift, model } = r;
  if (kind !== undefined && kind !== 'log_probs' && kind !== 'logits' && kind !== 'probs') {
    throw new DataError(file, `'kind' must be "log_probs", "logits" or "probs", got ${JSON.stringify(kind)}`);
  }
  if (blank !== undefined && (typeof blank !== 'number' || !Number.isInteger(blank) || blank < 0))
    throw new DataError(file, `'blank' must be a class index (an integer ≥ 0), got ${JSON.stringify(blank)}`);
  if (subsampling !== undefined && (typeof subsampling !== 'number' || !Number.isInteger(subsampling) || subsampling < 1)) {
    throw new DataError(file, `'subsampling' must be a positive integer (input frames per output frame), got ${JSON.stringify(subsampling)}`);
  }
  if (shift !== undefined && (typeof shift !== 'number' || !(shift > 0)))
    throw new DataError(file, `'frame_shift_ms' must be a positive number, got ${JSON.stringify(shift)}`);
  if (model !== undefined && typeof model !== 'string') throw new DataError(file, `'model' must be a string, got ${JSON.stringify(model)}`);
  return {
    kind: (kind as OutputKind | undefined) ?? null,
    blank: (blank as number | undefined) ?? null,
    subsampling: (subsampling as number | undefined) ?? null,
    frameShiftMs: (shift as number | undefined) ?? null,
    model: (model as string | undefined) ?? '',
  };
}

export const BLANK_TOKEN = '<blank>';

/**
 * Class names from vocab.txt: with a '<blank>' line the lines are the classes; without one the
 * blank is class `blank` (outputs.json, default 0) and the lines fill the other classes in order
 * (blank 0: line i is class i + 1, the lab's own convention).
 */
export function parseOutputsVocab(
  text: string,
  file: string,
  blankFromJson: number | null,
  jsonFile = 'outputs.json',
): { classes: string[]; blank: number; blankLine: boolean } {
  const tokens = parseVocab(text, file);
  const at = tokens.indexOf(BLANK_TOKEN);
  if (at >= 0) {
    if (blankFromJson !== null && blankFromJson !== at) {
      throw new DataError(jsonFile, `'blank' is ${blankFromJson}, but ${file} puts '${BLANK_TOKEN}' at class ${at} (line ${at + 1})`);
    }
    if (tokens.length < 2) throw new DataError(file, `has only the '${BLANK_TOKEN}' line; a CTC model needs at least one token`);
    return { classes: tokens, blank: at, blankLine: true };
  }
  const blank = blankFromJson ?? 0;
  if (blank > tokens.length)
    throw new DataError(jsonFile, `'blank' is ${blank}, but ${file} has ${tokens.length} tokens, so the classes are 0..${tokens.length}`);
  const classes = tokens.slice();
  classes.splice(blank, 0, BLANK_TOKEN);
  return { classes, blank, blankLine: false };
}
