// Diagnostics on imported model outputs: every check that needs only the [T', C] log-probabilities
// and the references, over an output set read a chunk at a time (bounded memory), in plain
// TypeScript (no TF.js: the worker runs it without a model). Same report type as diagnose().

import type { OutputSetMeta, Split } from '../../data/types';
import type { OutputSource } from '../../data/source';
import { ctcMinFrames } from '../../lib/ctc_frames';
import { ctcLogLikelihood, ctcUniformLogLikelihood } from '../ctc/ctc_logprob';
import { adaptiveDecode } from '../decode/adaptive';
import { beamSearchDecode } from '../decode/beam';
import { greedyIds } from '../decode/greedy';

export { greedyIds }; // compare.ts and the outputs report decode one sample's log-probabilities greedily
import { editCounts, wer } from '../metrics/wer';
import { countSubstitutions, substitutionList } from '../metrics/tokens';
import { checkDecoding, frameFacts, judgeBlankRate, judgeEntropy, type FrameFacts } from './checks';
import {
  checkErrorSplit,
  checkFeasibility,
  checkOutputKind,
  checkOutputLoss,
  checkSampleLoss,
  checkTokens,
  checkWerByLength,
  LENGTH_EDGES,
  type LengthBucket,
  type SampleLoss,
} from './output_checks';
import { verdictOf, type DiagnosticsReport } from './report';
import { DecodingTally } from './decoding';

export interface OutputsDiagnoseOptions {
  split: Split | 'all'; // which samples of the set
  maxDecodeSamples: number; // adaptive and beam decoding on the first N (greedy on all), usual 256
  beamWidth: number; // 8
  chunk: number; // samples read at a time, 64
}

export const OUTPUTS_DIAGNOSE_DEFAULTS: OutputsDiagnoseOptions = { split: 'all', maxDecodeSamples: 256, beamWidth: 8, chunk: 64 };

/** Class ids of a reference, or null when a token names no class. */
export function referenceIds(text: string, classOf: Map<string, number>): number[] | null {
  const ids: number[] = [];
  for (const t of text.split(' ')) {
    const c = classOf.get(t);
    if (c === undefined) return null;
    ids.push(c);
  }
  return ids;
}

export function classIndex(meta: Pick<OutputSetMeta, 'classes' | 'blank'>): Map<string, number> {
  return new Map(meta.classes.map((t, c) => [t, c] as const).filter(([, c]) => c !== meta.blank));
}

export interface OutputsSampleRow {
  id: string;
  ref: string;
  greedy: string;
  adaptive: string | null; // null beyond maxDecodeSamples
  beam: string | null;
  S: number;
  D: number;
  I: number;
  N: number;
  wer: number;
  lossPerToken: number | null; // null: infeasible, out of vocabulary or non-finite
}

export async function diagnoseOutputs(meta: OutputSetMeta, source: OutputSource, options: Partial<OutputsDiagnoseOptions> = {}): Promise<DiagnosticsReport> {
  const opts = { ...OUTPUTS_DIAGNOSE_DEFAULTS, ...options };
  const C = meta.classes.length,
    blank = meta.blank;
  const names = (ids: number[]) => ids.map((c) => meta.classes[c]).join(' ');
  const classOf = classIndex(meta);
  const badIds = new Set(meta.nonFinite.map((x) => x.id));
  const infos = source.infos.filter((s) => opts.split === 'all' || s.split === opts.split);
  if (infos.length === 0) throw new Error(`output set '${meta.name}' has no ${opts.split} samples`);
  const chosen = new Set(infos.map((s) => s.id));

  const frames: FrameFacts = { V: C, frames: 0, entropySum: 0, blanks: 0, emitted: 0 };
  const infeasible: { id: string; outFrames: number; needed: number; frames: number | null }[] = [];
  const oov = new Map<string, { count: number; firstId: string }>();
  const emitted = new Map<string, number>(),
    inRefs = new Map<string, number>();
  const subs = new Map<string, number>();
  const losses: SampleLoss[] = [];
  const rows: OutputsSampleRow[] = [];
  const refs: string[] = [],
    greedyH: string[] = [];
  const decoding = new DecodingTally(); // adaptive and beam decoding on the first opts.maxDecodeSamples samples
  let modelLoss = 0,
    uniformLoss = 0,
    scored = 0,
    refTokens = 0,
    hypTokens = 0,
    emittedTotal = 0;
  const buckets: LengthBucket[] = [...LENGTH_EDGES, Infinity].map((hi, k) => {
    const lo = k === 0 ? 1 : LENGTH_EDGES[k - 1];
    return { label: hi === Infinity ? `${lo}+ tokens` : `${lo}–${hi - 1} tokens`, samples: 0, N: 0, wer: 0, infeasible: 0 };
  });
  const bucketErrors = buckets.map(() => 0);

  for (let i = 0; i < infos.length; i += opts.chunk) {
    const chunk = await source.load(infos.slice(i, i + opts.chunk).map((s) => s.index));
    for (const s of chunk) {
      if (badIds.has(s.id)) continue; // named by check 1; NaN rows would poison every sum below
      const T = s.outFrames;
      const lp = new Float32Array(s.logProbs);
      frameFacts({ lp, frames: T, V: C }, blank, frames);
      const refToks = s.text.split(' ');
      for (const t of refToks) inRefs.set(t, (inRefs.get(t) ?? 0) + 1);
      refTokens += refToks.length;
      const g = greedyIds(lp, T, C, blank);
      const hypToks = g.map((c) => meta.classes[c]);
      for (const t of hypToks) emitted.set(t, (emitted.get(t) ?? 0) + 1);
      emittedTotal += g.length;
      hypTokens += g.length;
      const hyp = hypToks.join(' ');
      const e = editCounts(refToks, hypToks);
      countSubstitutions(refToks, hypToks, subs);
      refs.push(s.text);
      greedyH.push(hyp);
      // Loss, feasibility, vocabulary.
      const ids = referenceIds(s.text, classOf);
      let perToken: number | null = null;
      if (!ids) {
        for (const t of refToks) {
          if (classOf.has(t)) continue;
          const o = oov.get(t) ?? { count: 0, firstId: s.id };
          o.count++;
          oov.set(t, o);
        }
      } else if (T < ctcMinFrames(ids)) {
        infeasible.push({ id: s.id, outFrames: T, needed: ctcMinFrames(ids), frames: s.frames });
      } else {
        const nll = -ctcLogLikelihood(lp, T, C, ids, blank);
        modelLoss += nll;
        uniformLoss += -ctcUniformLogLikelihood(T, C, ids, blank);
        scored++;
        perToken = nll / ids.length;
        losses.push({ id: s.id, perToken });
      }
      const k = LENGTH_EDGES.findIndex((hi) => refToks.length < hi);
      const b = k < 0 ? buckets.length - 1 : k;
      buckets[b].samples++;
      buckets[b].N += e.N;
      bucketErrors[b] += e.S + e.D + e.I;
      if (ids && T < ctcMinFrames(ids)) buckets[b].infeasible++;
      // Adaptive and beam decoding on the first samples.
      let adaptive: string | null = null,
        beam: string | null = null;
      if (decoding.refs.length < opts.maxDecodeSamples) {
        const a = adaptiveDecode(lp, T, C, { blank });
        adaptive = names(a.ids);
        beam = names(beamSearchDecode(lp, T, C, opts.beamWidth, blank));
        decoding.add(s.text, hypToks, a, adaptive, beam);
      }
      rows.push({ id: s.id, ref: s.text, greedy: hyp, adaptive, beam, ...e, wer: (e.S + e.D + e.I) / Math.max(e.N, 1), lossPerToken: perToken });
    }
  }
  buckets.forEach((b, k) => (b.wer = b.N ? bucketErrors[k] / b.N : 0));
  const total = wer(refs, greedyH);
  const checks = [
    checkOutputKind({ ...meta.kind, nonFinite: meta.nonFinite.filter((x) => chosen.has(x.id)), frames: frames.frames }),
    judgeEntropy(frames, { trained: true }),
    judgeBlankRate(frames, refTokens),
    checkFeasibility({
      samples: rows.length,
      subsampling: meta.subsampling,
      infeasible,
      oov: [...oov].map(([token, o]) => ({ token, ...o })).sort((a, b) => b.count - a.count),
    }),
    {
      ...checkDecoding(decoding.facts(opts.split === 'all' ? 'output-set' : opts.split, opts.beamWidth)),
      n: 5,
      details: rows.slice(0, opts.maxDecodeSamples),
    },
    checkOutputLoss({
      modelLoss: scored ? modelLoss / scored : NaN,
      uniformLoss: scored ? uniformLoss / scored : NaN,
      samples: scored,
      excluded: rows.length - scored,
    }),
    checkTokens({ emitted, inRefs, substitutions: substitutionList(subs), emittedTotal }),
    checkErrorSplit({ ...total, hypTokens, wer: total.rate, infeasible: infeasible.length, blankRate: frames.frames ? frames.blanks / frames.frames : 0 }),
    checkSampleLoss(losses),
    checkWerByLength(buckets),
  ];
  return {
    format: 'ctc-lab-diagnostics/1',
    createdAt: new Date().toISOString(),
    dataset: {
      id: meta.datasetId ?? meta.id,
      name: meta.datasetName ?? meta.name,
      trainSamples: meta.counts.train,
      valSamples: meta.counts.val,
      vocabSize: C - 1,
      featureDim: 0,
    },
    model: {
      source: `model outputs: ${meta.name}`,
      preset: meta.model || 'external model',
      parameters: 0,
      subsampling: meta.subsampling ?? 0,
      trainedSteps: 0,
    },
    backend: 'outputs only (no model run)',
    outputs: {
      id: meta.id,
      name: meta.name,
      model: meta.model,
      samples: rows.length,
      split: opts.split,
      classes: C,
      blank,
      subsampling: meta.subsampling,
      frameShiftMs: meta.frameShiftMs,
      datasetName: meta.datasetName,
    },
    checks,
    verdict: verdictOf(checks),
  };
}
