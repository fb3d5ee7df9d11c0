// Where the trainer gets samples from: their small descriptions up front, features per batch.
// The worker reads features from IndexedDB batch by batch (memory holds a batch or two, not the
// dataset); tests and benchmarks use an in-memory array.

import type { SampleRecord } from './types';

/** A sample without its features. */
export type SampleInfo = Pick<SampleRecord, 'index' | 'id' | 'text' | 'split' | 'frames'>;

export interface SampleSource {
  readonly infos: SampleInfo[];
  /** Samples by dataset index, in the order given, features as float32. */
  load(indices: number[]): Promise<SampleRecord[]>;
}

export function memorySource(samples: SampleRecord[]): SampleSource {
  const byIndex = new Map(samples.map((s) => [s.index, s]));
  return {
    infos: samples.map(({ index, id, text, split, frames }) => ({ index, id, text, split, frames })),
    load: async (indices) =>
      indices.map((i) => {
        const s = byIndex.get(i);
        if (!s) throw new Error(`no sample #${i}`);
        return s;
      }),
  };
}

/** A source as given, or an array of samples wrapped as one (tests, benchmarks). */
export function asSource(samples: SampleRecord[] | SampleSource): SampleSource {
  return Array.isArray(samples) ? memorySource(samples) : samples;
}
