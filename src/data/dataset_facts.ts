// Dataset facts for the dataset-quality check and the import report: NaN/Inf, zero-variance dims,
// normalisation as the trainer applies it, CTC feasibility at a time subsampling, out-of-vocabulary
// tokens. Plain TypeScript (no TF.js): runs in the importer too.

import { tokenIndex } from './batch';
import type { DatasetMeta, SampleRecord } from './types';
import type { SampleSource } from './source';
import { inverseScales, zeroVarianceDims } from './norm';
import { ctcMinFrames } from '../lib/ctc_frames';

/** What the dataset-quality check and the import report are computed from. */
export interface DatasetFacts {
  samples: number;
  featureDim: number;
  nonFinite: { id: string; values: number }[];
  zeroVarianceDims: number[];
  normalised: { meanAbsMean: number; meanStd: number }; // of normalised training features
  subsampling: number;
  infeasible: { id: string; frames: number; outFrames: number; needed: number }[];
  oov: { token: string; count: number; firstId: string }[]; // val/test tokens missing from the vocabulary
}

/** CTC feasibility and out-of-vocabulary tokens: needs transcripts and frame counts, not features. */
export function labelFacts(
  vocab: string[],
  samples: Pick<SampleRecord, 'id' | 'text' | 'split' | 'frames'>[],
  subsampling: number,
): Pick<DatasetFacts, 'infeasible' | 'oov'> {
  const index = tokenIndex(vocab);
  const infeasible: DatasetFacts['infeasible'] = [];
  const oov = new Map<string, { count: number; firstId: string }>();
  for (const s of samples) {
    const toks = s.text.split(' ');
    // An unknown token still needs a frame: count it with a class of its own.
    const ids = toks.map((t, i) => index.get(t) ?? -1 - i);
    if (s.split !== 'train') {
      for (const t of toks) {
        if (index.has(t)) continue;
        const o = oov.get(t) ?? { count: 0, firstId: s.id };
        o.count++;
        oov.set(t, o);
      }
    }
    const outFrames = Math.ceil(s.frames / subsampling);
    const needed = ctcMinFrames(ids);
    if (outFrames < needed) infeasible.push({ id: s.id, frames: s.frames, outFrames, needed });
  }
  return { infeasible, oov: [...oov].map(([token, o]) => ({ token, ...o })).sort((a, b) => b.count - a.count) };
}

type FeatureSample = Pick<SampleRecord, 'id' | 'text' | 'split' | 'frames' | 'features'>;

/** NaN/Inf per sample and the normalisation as the trainer applies it, fed one sample at a time. */
class FeatureFacts {
  readonly nonFinite: DatasetFacts['nonFinite'] = [];
  private readonly sum: Float64Array;
  private readonly sq: Float64Array;
  private n = 0; // frames in the normalisation measurement
  private trainSeen = 0;
  private readonly inv: number[];

  constructor(private readonly meta: Pick<DatasetMeta, 'featureDim' | 'norm'>) {
    this.sum = new Float64Array(meta.featureDim);
    this.sq = new Float64Array(meta.featureDim);
    this.inv = inverseScales(meta.norm.std);
  }

  add(s: FeatureSample): void {
    const F = this.meta.featureDim;
    const x = new Float32Array(s.features);
    let bad = 0;
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) bad++;
    if (bad) this.nonFinite.push({ id: s.id, values: bad });
    // Normalisation measured on (up to) the first 200 training samples.
    if (s.split !== 'train' || this.trainSeen++ >= 200) return;
    const { mean } = this.meta.norm,
      inv = this.inv;
    for (let t = 0; t < s.frames; t++, this.n++) {
      for (let d = 0; d < F; d++) {
        const z = (x[t * F + d] - mean[d]) * inv[d];
        this.sum[d] += z;
        this.sq[d] += z * z;
      }
    }
  }

  normalised(): DatasetFacts['normalised'] {
    const F = this.meta.featureDim,
      n = Math.max(this.n, 1);
    let absMean = 0,
      meanStd = 0;
    for (let d = 0; d < F; d++) {
      const m = this.sum[d] / n;
      absMean += Math.abs(m) / F;
      meanStd += Math.sqrt(Math.max(this.sq[d] / n - m * m, 0)) / F;
    }
    return { meanAbsMean: absMean, meanStd };
  }
}

function assemble(
  meta: Pick<DatasetMeta, 'featureDim' | 'vocab' | 'norm'>,
  infos: Pick<SampleRecord, 'id' | 'text' | 'split' | 'frames'>[],
  ff: FeatureFacts,
  subsampling: number,
): DatasetFacts {
  return {
    samples: infos.length,
    featureDim: meta.featureDim,
    nonFinite: ff.nonFinite,
    zeroVarianceDims: zeroVarianceDims(meta.norm.std),
    normalised: ff.normalised(),
    subsampling,
    ...labelFacts(meta.vocab, infos, subsampling),
  };
}

export function datasetFacts(meta: Pick<DatasetMeta, 'featureDim' | 'vocab' | 'norm'>, samples: FeatureSample[], subsampling: number): DatasetFacts {
  const ff = new FeatureFacts(meta);
  for (const s of samples) ff.add(s);
  return assemble(meta, samples, ff, subsampling);
}

/** The same facts over a stored dataset, read `chunk` samples at a time (bounded memory). */
export async function streamDatasetFacts(
  meta: Pick<DatasetMeta, 'featureDim' | 'vocab' | 'norm'>,
  source: SampleSource,
  subsampling: number,
  chunk = 64,
): Promise<DatasetFacts> {
  const ff = new FeatureFacts(meta);
  for (let i = 0; i < source.infos.length; i += chunk) {
    for (const s of await source.load(source.infos.slice(i, i + chunk).map((x) => x.index))) ff.add(s);
  }
  return assemble(meta, source.infos, ff, subsampling);
}
