// Turns parsed samples into what the store keeps: splits, vocabulary, normalisation statistics.
// Shared by the importer and the demo generator.

import { Rng } from '../engine/rng';
import { DataError } from './errors';
import type { DatasetMeta, SampleRecord, Split } from './types';

export type PreparedSample = Omit<SampleRecord, 'datasetId' | 'index'>;
export interface PreparedDataset {
  meta: Omit<DatasetMeta, 'id' | 'createdAt'>;
  samples: PreparedSample[];
}

/** Seeded 90/10 train/val split for samples whose manifest row gave none. */
export function assignSplits(splits: (Split | undefined)[], seed: number): Split[] {
  const rng = new Rng(seed);
  const missing = splits.map((s, i) => (s ? -1 : i)).filter((i) => i >= 0);
  rng.shuffle(missing);
  const nVal = missing.length >= 2 ? Math.max(1, Math.round(missing.length * 0.1)) : 0;
  const out = splits.slice() as Split[];
  missing.forEach((i, k) => (out[i] = k < nVal ? 'val' : 'train'));
  return out;
}

export function finishDataset(
  name: string,
  source: DatasetMeta['source'],
  samples: PreparedSample[],
  featureDim: number,
  vocabFromFile: string[] | null,
  vocabFile = 'vocab.txt',
): PreparedDataset {
  const train = samples.filter((s) => s.split === 'train');
  if (train.length === 0) throw new DataError(name, 'no training samples (every sample is in val or test)');

  let vocab: string[];
  if (vocabFromFile) {
    vocab = vocabFromFile;
    const known = new Set(vocab);
    for (const s of train) {
      const bad = s.text.split(' ').find((t) => !known.has(t));
      if (bad !== undefined) throw new DataError(vocabFile, `token '${bad}' of training sample '${s.id}' is not in the vocabulary`);
    }
  } else {
    vocab = [...new Set(train.flatMap((s) => s.text.split(' ')))].sort();
  }

  // Per-dimension mean/std over every training frame, float64 (Welford).
  const mean = new Float64Array(featureDim);
  const m2 = new Float64Array(featureDim);
  let n = 0;
  for (const s of train) {
    const x = new Float32Array(s.features);
    for (let t = 0; t < s.frames; t++) {
      n++;
      for (let d = 0; d < featureDim; d++) {
        const v = x[t * featureDim + d];
        const delta = v - mean[d];
        mean[d] += delta / n;
        m2[d] += delta * (v - mean[d]);
      }
    }
  }
  const std = Array.from(m2, (v) => Math.sqrt(v / Math.max(n, 1)));

  const counts: Record<Split, number> = { train: 0, val: 0, test: 0 };
  let minF = Infinity, maxF = 0, sumF = 0, bytes = 0;
  for (const s of samples) {
    counts[s.split]++;
    minF = Math.min(minF, s.frames);
    maxF = Math.max(maxF, s.frames);
    sumF += s.frames;
    bytes += s.features.byteLength;
  }
  return {
    meta: {
      name,
      source,
      numSamples: samples.length,
      counts,
      featureDim,
      frames: { min: minF, mean: sumF / samples.length, max: maxF },
      vocab,
      norm: { mean: Array.from(mean), std },
      bytes,
    },
    samples,
  };
}
