// Where the engine gets stored samples from: their small descriptions up front, the big arrays
// (a dataset's features, an output set's [T', C] log-probabilities) a batch at a time. The worker
// reads them from IndexedDB batch by batch (memory holds a batch or two, not the set); tests and
// benchmarks use an in-memory array.

import type { OutputSampleRecord, SampleRecord } from './types';

/** Descriptions of every sample, and the samples themselves (with their arrays) by index. */
export interface Source<Info, Sample> {
  readonly infos: Info[];
  /** Samples by index within the set, in the order given. */
  load(indices: number[]): Promise<Sample[]>;
}

/** A dataset's sample without its features. */
export type SampleInfo = Pick<SampleRecord, 'index' | 'id' | 'text' | 'split' | 'frames'>;
/** A dataset's samples; `load` hands out features as float32. */
export type SampleSource = Source<SampleInfo, SampleRecord>;

/** A sample of an output set without its outputs. */
export type OutputSampleInfo = Omit<OutputSampleRecord, 'logProbs' | 'setId'>;
/** An output set's samples, for diagnostics and alignments. */
export type OutputSource = Source<OutputSampleInfo, OutputSampleRecord>;

export const sampleInfo = ({ index, id, text, split, frames }: SampleRecord): SampleInfo => ({ index, id, text, split, frames });
export const outputSampleInfo = ({ logProbs: _l, setId: _s, ...info }: OutputSampleRecord): OutputSampleInfo => info;

/** Samples held in memory as a source; `noun` names a missing one ("no sample #3"). */
export function inMemory<Info, Sample extends { index: number }>(samples: Sample[], info: (s: Sample) => Info, noun: string): Source<Info, Sample> {
  const byIndex = new Map(samples.map((s) => [s.index, s]));
  return {
    infos: samples.map(info),
    load: async (indices) =>
      indices.map((i) => {
        const s = byIndex.get(i);
        if (!s) throw new Error(`no ${noun} #${i}`);
        return s;
      }),
  };
}

/** A dataset's samples in memory (tests, benchmarks). */
export const memorySource = (samples: SampleRecord[]): SampleSource => inMemory(samples, sampleInfo, 'sample');

/** An output set's samples in memory (tests). */
export const memoryOutputSource = (samples: OutputSampleRecord[]): OutputSource => inMemory(samples, outputSampleInfo, 'output sample');

/** A source as given, or an array of samples wrapped as one (tests, benchmarks). */
export function asSource(samples: SampleRecord[] | SampleSource): SampleSource {
  return Array.isArray(samples) ? memorySource(samples) : samples;
}
