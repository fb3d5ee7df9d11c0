// Dataset facts for the dataset-quality check and the import report: NaN/Inf, zero-variance dims,
// normalisation as the trainer applies it, CTC feasibility at a time subsampling, out-of-vocabulary
// tokens. Plain TypeScript (no TF.js): runs in the importer too.

import { tokenIndex } from '../../data/batch';
import type { DatasetMeta, SampleRecord } from '../../data/types';
import { ctcMinFrames } from '../ctc/ctc_reference';
import type { DatasetFacts } from './checks';

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

export function datasetFacts(
  meta: Pick<DatasetMeta, 'featureDim' | 'vocab' | 'norm'>,
  samples: Pick<SampleRecord, 'id' | 'text' | 'split' | 'frames' | 'features'>[],
  subsampling: number,
): DatasetFacts {
  const F = meta.featureDim;
  const nonFinite: DatasetFacts['nonFinite'] = [];
  for (const s of samples) {
    const x = new Float32Array(s.features);
    let bad = 0;
    for (let i = 0; i < x.length; i++) if (!Number.isFinite(x[i])) bad++;
    if (bad) nonFinite.push({ id: s.id, values: bad });
  }
  const { infeasible, oov } = labelFacts(meta.vocab, samples, subsampling);
  // Normalisation as the trainer applies it, measured on (up to 200) training samples.
  const { mean, std } = meta.norm;
  const sum = new Float64Array(F), sq = new Float64Array(F);
  let n = 0;
  for (const s of samples.filter((x) => x.split === 'train').slice(0, 200)) {
    const x = new Float32Array(s.features);
    for (let t = 0; t < s.frames; t++, n++) {
      for (let d = 0; d < F; d++) {
        const z = (x[t * F + d] - mean[d]) / (std[d] > 1e-8 ? std[d] : 1);
        sum[d] += z;
        sq[d] += z * z;
      }
    }
  }
  let absMean = 0, meanStd = 0;
  for (let d = 0; d < F; d++) {
    const m = sum[d] / Math.max(n, 1);
    absMean += Math.abs(m) / F;
    meanStd += Math.sqrt(Math.max(sq[d] / Math.max(n, 1) - m * m, 0)) / F;
  }
  return {
    samples: samples.length,
    featureDim: F,
    nonFinite,
    zeroVarianceDims: std.map((s, d) => (s <= 1e-8 ? d : -1)).filter((d) => d >= 0),
    normalised: { meanAbsMean: absMean, meanStd },
    subsampling,
    infeasible,
    oov,
  };
}

