// manifest.jsonl / manifest.tsv parsing (docs/ARCHITECTURE.md "Dataset format").

import { preview } from '../lib/preview';
import { DataError } from './errors';
import type { ManifestRow, Split } from './types';

const SPLITS = new Set(['train', 'val', 'test']);

function checkRow(raw: Record<string, unknown>, file: string, line: number): ManifestRow {
  const where = `line ${line}`;
  const { id, text, split, features } = raw;
  if (typeof id !== 'string' || id.trim() === '') throw new DataError(file, "missing or empty 'id' (a non-empty string)", where);
  if (typeof text !== 'string') throw new DataError(file, `sample '${id}': missing 'text' (a string of space-separated tokens)`, where);
  if (text.trim() === '') throw new DataError(file, `sample '${id}': empty transcript`, where);
  if (split !== undefined && split !== '' && (typeof split !== 'string' || !SPLITS.has(split))) {
    throw new DataError(file, `sample '${id}': split must be train, val or test, got ${preview(split)}`, where);
  }
  if (features !== undefined && typeof features !== 'string') {
    throw new DataError(file, `sample '${id}': 'features' must be a relative path string`, where);
  }
  return {
    id,
    text: text.trim().split(/\s+/).join(' '),
    split: split ? (split as Split) : undefined,
    features: features || undefined,
    line,
  };
}

/** A manifest row as the row readers need it: its id (unique in the file) and its 1-based line. */
type Row = { id: string; line: number };

function checkUnique<R extends Row>(rows: R[], file: string): R[] {
  const seen = new Map<string, number>();
  for (const r of rows) {
    const prev = seen.get(r.id);
    if (prev !== undefined) throw new DataError(file, `duplicate id '${r.id}' (first on line ${prev})`, `line ${r.line}`);
    seen.set(r.id, r.line);
  }
  if (rows.length === 0) throw new DataError(file, 'has no samples');
  return rows;
}

/**
 * The rows of a JSONL manifest (one JSON object a line, blank lines skipped), each checked by
 * `checkRow` with its 1-based line; ids unique, at least one row. Datasets' and model outputs'
 * manifests share this reader and differ in their rows' fields.
 */
export function jsonlRows<R extends Row>(text: string, file: string, checkRow: (raw: Record<string, unknown>, line: number) => R): R[] {
  const rows: R[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      throw new DataError(file, `not valid JSON (${(e as Error).message})`, `line ${line}`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new DataError(file, 'each line must be a JSON object', `line ${line}`);
    rows.push(checkRow(obj as Record<string, unknown>, line));
  });
  return checkUnique(rows, file);
}

/** The rows of a TSV manifest (a header row with at least 'id' and 'text'), as `jsonlRows`. */
export function tsvRows<R extends Row>(text: string, file: string, checkRow: (raw: Record<string, unknown>, line: number) => R): R[] {
  const lines = text.split(/\r?\n/);
  const header = (lines[0] ?? '').split('\t').map((h) => h.trim());
  for (const col of ['id', 'text']) {
    if (!header.includes(col)) throw new DataError(file, `header row lacks the '${col}' column (found: ${header.join(', ') || 'nothing'})`, 'line 1');
  }
  const rows: R[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (lines[i].trim() === '') continue;
    const cells = lines[i].split('\t');
    if (cells.length !== header.length) {
      throw new DataError(file, `has ${cells.length} columns, the header has ${header.length}`, `line ${i + 1}`);
    }
    const obj: Record<string, unknown> = {};
    header.forEach((h, j) => (obj[h] = cells[j]));
    rows.push(checkRow(obj, i + 1));
  }
  return checkUnique(rows, file);
}

export function parseManifestJsonl(text: string, file: string): ManifestRow[] {
  return jsonlRows(text, file, (raw, line) => checkRow(raw, file, line));
}

export function parseManifestTsv(text: string, file: string): ManifestRow[] {
  return tsvRows(text, file, (raw, line) => checkRow(raw, file, line));
}

export function parseVocab(text: string, file: string): string[] {
  const tokens: string[] = [];
  const seen = new Set<string>();
  text.split(/\r?\n/).forEach((raw, i) => {
    const t = raw.trim();
    if (t === '') return;
    if (/\s/.test(t)) throw new DataError(file, `token '${t}' contains whitespace`, `line ${i + 1}`);
    if (seen.has(t)) throw new DataError(file, `duplicate token '${t}'`, `line ${i + 1}`);
    seen.add(t);
    tokens.push(t);
  });
  if (tokens.length === 0) throw new DataError(file, 'is empty');
  return tokens;
}
