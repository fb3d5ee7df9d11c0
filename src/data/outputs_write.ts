// Writes the model-outputs format (docs/ARCHITECTURE.md "Model outputs format") as one .zip,
// streaming: manifest.jsonl, vocab.txt (with its '<blank>' line), outputs.json, and one deflated
// posteriors/<id>.npy [T', C] float32 per sample, which the manifest names (the importer reads
// such members by random access; a posteriors.npz inside the zip would be read into memory whole).
// fflate's Zip emits compressed chunks as members are added, so memory holds the chunks, not a
// second copy of every array.

import { Zip, ZipDeflate, strToU8 } from 'fflate';
import { writeNpy } from './npy';
import type { Split } from './types';

export interface OutputsWriterInfo {
  classes: string[]; // class names in class order, classes[blank] = '<blank>'
  blank: number;
  subsampling: number | null;
  frameShiftMs: number | null;
  model: string; // free text for outputs.json
}

export interface OutputsWriterSample {
  id: string;
  text: string;
  split: Split | null;
  frames: number | null; // input frames
  logProbs: Float32Array; // [T', C]
}

const safeName = (id: string, index: number) => (/^[\w.-]{1,100}$/.test(id) ? id : `sample_${index}`);

export class OutputsZipWriter {
  private readonly chunks: Uint8Array[] = [];
  private readonly zip: Zip;
  private readonly rows: string[] = [];
  private readonly names = new Set<string>();
  private error: Error | null = null;

  constructor(private readonly info: OutputsWriterInfo) {
    this.zip = new Zip((err, chunk) => {
      if (err) this.error = err;
      else this.chunks.push(chunk);
    });
  }

  private member(name: string, data: Uint8Array, level: 0 | 6 = 6): void {
    const f = new ZipDeflate(name, { level });
    this.zip.add(f);
    f.push(data, true);
    if (this.error) throw this.error;
  }

  add(s: OutputsWriterSample): void {
    const C = this.info.classes.length;
    if (s.logProbs.length % C !== 0) throw new Error(`sample '${s.id}': ${s.logProbs.length} values is not a whole number of frames of ${C} classes`);
    let name = safeName(s.id, this.rows.length);
    if (this.names.has(name)) name = `sample_${this.rows.length}`;
    this.names.add(name);
    const path = `posteriors/${name}.npy`;
    this.member(path, writeNpy(s.logProbs, [s.logProbs.length / C, C]));
    this.rows.push(
      JSON.stringify({ id: s.id, text: s.text, ...(s.split ? { split: s.split } : {}), ...(s.frames !== null ? { frames: s.frames } : {}), posteriors: path }),
    );
  }

  /** Adds the text files and closes the archive. */
  finish(): Blob {
    const { classes, blank, subsampling, frameShiftMs, model } = this.info;
    const json = {
      kind: 'log_probs',
      blank,
      ...(subsampling !== null ? { subsampling } : {}),
      ...(frameShiftMs !== null ? { frame_shift_ms: frameShiftMs } : {}),
      model,
    };
    this.member('outputs.json', strToU8(JSON.stringify(json, null, 1) + '\n'));
    this.member('vocab.txt', strToU8(classes.join('\n') + '\n'));
    this.member('manifest.jsonl', strToU8(this.rows.join('\n') + '\n'));
    this.zip.end();
    if (this.error) throw this.error;
    return new Blob(this.chunks as BlobPart[], { type: 'application/zip' });
  }

  get samples(): number {
    return this.rows.length;
  }
}
