// Padded batch assembly: normalised features [B, Tmax, F], labels [B, Lmax] as class ids
// (token i of the vocabulary → class i + 1; 0 is the blank), and lengths.

import type { DatasetMeta, SampleRecord } from './types';
import { inverseScales } from './norm';

export interface Batch {
  B: number;
  T: number; // max frames
  F: number;
  L: number; // max label length (at least 1)
  x: Float32Array; // [B, T, F], zero-padded after normalisation
  frames: Int32Array; // [B]
  labels: Int32Array; // [B, L], zero-padded
  labelLengths: Int32Array; // [B]
  ids: string[];
  texts: string[];
  realFrames: number; // sum of frames (padding efficiency = realFrames / (B * T))
}

export function tokenIndex(vocab: string[]): Map<string, number> {
  return new Map(vocab.map((t, i) => [t, i + 1]));
}

export function makeBatch(samples: SampleRecord[], meta: DatasetMeta, index = tokenIndex(meta.vocab)): Batch {
  const B = samples.length;
  const F = meta.featureDim;
  const T = Math.max(...samples.map((s) => s.frames));
  const seqs = samples.map((s) =>
    s.text.split(' ').map((tok) => {
      const c = index.get(tok);
      if (c === undefined) throw new Error(`sample '${s.id}': token '${tok}' is not in the vocabulary`);
      return c;
    }),
  );
  const L = Math.max(1, ...seqs.map((q) => q.length));
  const x = new Float32Array(B * T * F);
  const labels = new Int32Array(B * L);
  const frames = new Int32Array(B);
  const labelLengths = new Int32Array(B);
  const { mean, std } = meta.norm;
  const inv = inverseScales(std);
  let real = 0;
  samples.forEach((s, b) => {
    const feats = new Float32Array(s.features);
    for (let t = 0; t < s.frames; t++) {
      const o = (b * T + t) * F;
      for (let d = 0; d < F; d++) x[o + d] = (feats[t * F + d] - mean[d]) * inv[d];
    }
    frames[b] = s.frames;
    real += s.frames;
    labels.set(seqs[b], b * L);
    labelLengths[b] = seqs[b].length;
  });
  return { B, T, F, L, x, frames, labels, labelLengths, ids: samples.map((s) => s.id), texts: samples.map((s) => s.text), realFrames: real };
}
