// The stored records the engine's rules read (datasets, checkpoints, output sets), as one object:
// the worker hands `storedReads` (IndexedDB) to the engine's assembly functions, and their tests
// hand the same or a fake. Reads only: every write stays with the worker's feature modules.

import * as store from './store';
import * as outputStore from './store_outputs';
import type { OutputSampleInfo, SampleInfo, SampleSource } from './source';
import type { CheckpointRecord, DatasetMeta, OutputSampleRecord, OutputSetMeta } from './types';

export interface StoredReads {
  dataset(id: string): Promise<DatasetMeta>;
  datasetSource(id: string): Promise<SampleSource>;
  sampleInfos(datasetId: string): Promise<SampleInfo[]>;
  listCheckpoints(datasetId: string): Promise<Omit<CheckpointRecord, 'bytes'>[]>;
  checkpoint(id: string): Promise<CheckpointRecord>;
  listOutputSets(): Promise<OutputSetMeta[]>;
  outputSet(id: string): Promise<OutputSetMeta>;
  outputSampleInfos(setId: string): Promise<OutputSampleInfo[]>;
  outputSamples(setId: string, indices: number[]): Promise<OutputSampleRecord[]>;
}

export const storedReads: StoredReads = {
  dataset: store.getDataset,
  datasetSource: store.datasetSource,
  sampleInfos: store.sampleInfos,
  listCheckpoints: store.listCheckpoints,
  checkpoint: store.getCheckpoint,
  listOutputSets: outputStore.listOutputSets,
  outputSet: outputStore.getOutputSet,
  outputSampleInfos: outputStore.outputSampleInfos,
  outputSamples: outputStore.getOutputSamples,
};
