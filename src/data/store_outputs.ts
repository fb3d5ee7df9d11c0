// IndexedDB storage of model-output sets (the database and its schema are store.ts's): staged and
// committed like a dataset import, listed, read per sample, renamed, deleted.

import { db } from './store';
import { setStore } from './set_store';
import type { OutputSampleRecord, OutputSetMeta } from './types';
import { outputSampleInfo, type OutputSampleInfo, type OutputSource } from './source';

// Stored sets like datasets (set_store.ts), staged like a dataset import: samples first under the
// future set's id, invisible until the set's record is written; orphans removed at start.

const sets = setStore(
  db,
  { records: 'outputSets', samples: 'outputSamples', bySet: 'bySet', staged: 'staged output set', noun: 'output set', aNoun: 'an output set' },
  (s: Omit<OutputSampleRecord, 'setId' | 'index'>, setId, index) => ({ ...s, setId, index }),
);

// Staging (an import's samples in batches, discarded when it is cancelled, orphans removed at
// start), reading (output samples by index, in one read transaction, in the order asked) and renaming.
export const {
  stage: stageOutputSamples,
  discard: discardStagedOutputs,
  removeOrphans: removeOrphanOutputSamples,
  get: getOutputSet,
  rename: renameOutputSet,
  samples: getOutputSamples,
} = sets;

/** Makes staged output samples a set by writing its record; refuses when samples are missing. */
export const commitOutputSet = (meta: OutputSetMeta): Promise<OutputSetMeta> => sets.commit({ ...meta, createdAt: Date.now() });

export async function listOutputSets(): Promise<OutputSetMeta[]> {
  const all = await (await db()).getAll('outputSets');
  return all.sort((a, b) => a.createdAt - b.createdAt);
}

/** Every sample's description (no outputs), one record at a time. */
export const outputSampleInfos = (setId: string): Promise<OutputSampleInfo[]> => sets.infos(setId, outputSampleInfo);

/** An output set as a source for diagnostics and alignments. */
export async function outputSource(setId: string): Promise<OutputSource> {
  return { infos: await outputSampleInfos(setId), load: (indices) => getOutputSamples(setId, indices) };
}

export async function deleteOutputSet(id: string): Promise<void> {
  const d = await db();
  const tx = d.transaction(['outputSets', 'outputSamples'], 'readwrite');
  await Promise.all([tx.objectStore('outputSets').delete(id), tx.objectStore('outputSamples').delete(sets.range(id)), tx.done]);
}
