// Turns parsed samples into what the store keeps: splits, vocabulary, normalisation statistics.
// Shared by the importer and the demo generator.

import { Rng } from '../lib/rng';
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

/**
 * Per-dimension mean/std over the training frames, merged one sample at a time (Chan et al.'s
 * parallel form of Welford's update, float64): the importer never holds more than one sample.
 */
export class FeatureStats {
  readonly mean: Float64Array;
  private readonly m2: Float64Array;
  private readonly sm: Float64Array;
  private readonly sq: Float64Array;
  n = 0; // frames

  constructor(readonly featureDim: number) {
    this.mean = new Float64Array(featureDim);
    this.m2 = new Float64Array(featureDim);
    this.sm = new Float64Array(featureDim);
    this.sq = new Float64Array(featureDim);
  }

  /** Adds one sample's frames, x: [frames, featureDim]. */
  add(x: ArrayLike<number>, frames: number): void {
    const F = this.featureDim,
      { sm, sq } = this;
    if (frames === 0) return;
    sm.fill(0);
    sq.fill(0);
    for (let t = 0; t < frames; t++) for (let d = 0; d < F; d++) sm[d] += x[t * F + d];
    for (let d = 0; d < F; d++) sm[d] /= frames;
    for (let t = 0; t < frames; t++) {
      for (let d = 0; d < F; d++) {
        const e = x[t * F + d] - sm[d];
        sq[d] += e * e;
      }
    }
    const n = this.n + frames;
    for (let d = 0; d < F; d++) {
      const delta = sm[d] - this.mean[d];
      this.mean[d] += (delta * frames) / n;
      this.m2[d] += sq[d] + (delta * delta * this.n * frames) / n;
    }
    this.n = n;
  }

  /** Population std per dimension (what the trainer divides by). */
  std(): number[] {
    return Array.from(this.m2, (v) => Math.sqrt(v / Math.max(this.n, 1)));
  }
}

/** What the importer keeps per sample after its features are written: small, no features. */
export type PreparedInfo = Pick<PreparedSample, 'id' | 'text' | 'split' | 'frames'>;

/** Dataset metadata from per-sample infos and the streamed training-split statistics. */
export function finishMeta(
  name: string,
  source: DatasetMeta['source'],
  infos: PreparedInfo[],
  stats: FeatureStats,
  vocabFromFile: string[] | null,
  vocabFile = 'vocab.txt',
  bytes = 0,
): PreparedDataset['meta'] {
  const train = infos.filter((s) => s.split === 'train');
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
  const counts: Record<Split, number> = { train: 0, val: 0, test: 0 };
  let minF = Infinity,
    maxF = 0,
    sumF = 0;
  for (const s of infos) {
    counts[s.split]++;
    minF = Math.min(minF, s.frames);
    maxF = Math.max(maxF, s.frames);
    sumF += s.frames;
  }
  return {
    name,
    source,
    numSamples: infos.length,
    counts,
    featureDim: stats.featureDim,
    frames: { min: minF, mean: sumF / infos.length, max: maxF },
    vocab,
    norm: { mean: Array.from(stats.mean), std: stats.std() },
    bytes,
    storage: 'float32',
  };
}

/** An in-memory dataset (the demo generator): statistics, counts, the vocabulary of its training transcripts. */
export function finishDataset(name: string, source: DatasetMeta['source'], samples: PreparedSample[], featureDim: number): PreparedDataset {
  const stats = new FeatureStats(featureDim);
  let bytes = 0;
  for (const s of samples) {
    if (s.split === 'train') stats.add(new Float32Array(s.features), s.frames);
    bytes += s.features.byteLength;
  }
  return { meta: finishMeta(name, source, samples, stats, null, undefined, bytes), samples };
}
