// Collecting dropped folders / picked files into { path, blob } lists for the importer.

import type { InputFile } from '../worker/api';

type Entry = FileSystemEntry;

async function readAllEntries(dir: FileSystemDirectoryEntry): Promise<Entry[]> {
  const reader = dir.createReader();
  const out: Entry[] = [];
  // readEntries returns at most ~100 entries per call; call until it returns none.
  for (;;) {
    const batch = await new Promise<Entry[]>((res, rej) => reader.readEntries(res, rej));
    if (batch.length === 0) return out;
    out.push(...batch);
  }
}

async function walk(entry: Entry, out: InputFile[]): Promise<void> {
  if (entry.isFile) {
    const file = await new Promise<File>((res, rej) => (entry as FileSystemFileEntry).file(res, rej));
    out.push({ path: entry.fullPath.replace(/^\//, ''), blob: file });
  } else if (entry.isDirectory) {
    for (const child of await readAllEntries(entry as FileSystemDirectoryEntry)) await walk(child, out);
  }
}

/** Files from a drop: folders are walked recursively, paths kept relative to what was dropped. */
export async function filesFromDataTransfer(dt: DataTransfer): Promise<InputFile[]> {
  const entries = Array.from(dt.items)
    .filter((i) => i.kind === 'file')
    .map((i) => i.webkitGetAsEntry());
  const out: InputFile[] = [];
  if (entries.length && entries.every((e) => e !== null)) {
    for (const e of entries) await walk(e!, out);
    return out;
  }
  return Array.from(dt.files).map((f) => ({ path: f.name, blob: f }));
}

/** Files from an <input type=file> (with or without webkitdirectory). */
export function filesFromInput(list: FileList): InputFile[] {
  return Array.from(list).map((f) => ({ path: f.webkitRelativePath || f.name, blob: f }));
}

/** A name for the imported dataset: the dropped folder's or archive's name. */
export function datasetName(files: InputFile[]): string {
  const first = files[0]?.path ?? '';
  if (first.includes('/')) return first.slice(0, first.indexOf('/'));
  const zip = files.find((f) => f.path.toLowerCase().endsWith('.zip'));
  if (zip) return zip.path.replace(/\.zip$/i, '');
  return 'Imported dataset';
}

export function saveBytes(bytes: ArrayBuffer, fileName: string): void {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
