// Where diagnostics and alignments get an output set's samples from: descriptions up front, the
// [T', C] log-probabilities a chunk at a time (IndexedDB in the worker, memory in tests).

import type { OutputSampleRecord } from './types';

/** A sample of an output set without its outputs. */
export type OutputSampleInfo = Omit<OutputSampleRecord, 'logProbs' | 'setId'>;

export interface OutputSource {
  readonly infos: OutputSampleInfo[];
  /** Samples by set index, in the order given. */
  load(indices: number[]): Promise<OutputSampleRecord[]>;
}

export function memoryOutputSource(samples: OutputSampleRecord[]): OutputSource {
  const byIndex = new Map(samples.map((s) => [s.index, s]));
  return {
    infos: samples.map(({ logProbs: _l, setId: _s, ...info }) => info),
    load: async (indices) =>
      indices.map((i) => {
        const s = byIndex.get(i);
        if (!s) throw new Error(`no output sample #${i}`);
        return s;
      }),
  };
}
