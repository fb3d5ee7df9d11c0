// IndexedDB storage of model-output sets (the database and its schema are store.ts's): staged and
// committed like a dataset import, listed, read per sample, renamed, deleted.

import { db } from './store';
import type { OutputSampleRecord, OutputSetMeta } from './types';
import type { OutputSampleInfo, OutputSource } from './outputs_source';

// Model-output sets: staged and committed like an import (samples first under the future id,
// invisible until the set's record is written in one transaction; orphans removed at start).

const outputRange = (setId: string) => IDBKeyRange.bound([setId, 0], [setId, Infinity]);

/** Writes a batch of output samples (indices first, first + 1, …) of a staged output set. */
export async function stageOutputSamples(setId: string, first: number, samples: Omit<OutputSampleRecord, 'setId' | 'index'>[]): Promise<void> {
  const d = await db();
  const tx = d.transaction('outputSamples', 'readwrite');
  await Promise.all([...samples.map((s, k) => tx.store.put({ ...s, setId, index: first + k })), tx.done]);
}

export async function discardStagedOutputs(setId: string): Promise<void> {
  const d = await db();
  const tx = d.transaction('outputSamples', 'readwrite');
  await Promise.all([tx.store.delete(outputRange(setId)), tx.done]);
}

/** Makes staged output samples a set by writing its record; refuses when samples are missing. */
export async function commitOutputSet(meta: OutputSetMeta): Promise<OutputSetMeta> {
  const d = await db();
  const count = await d.countFromIndex('outputSamples', 'bySet', meta.id);
  if (count !== meta.numSamples) throw new Error(`staged output set ${meta.id} has ${count} samples, expected ${meta.numSamples}; nothing was stored`);
  const record = { ...meta, createdAt: Date.now() };
  await d.add('outputSets', record);
  return record;
}

/** Deletes output samples that belong to no set (an import or export cut off by a reload). */
export async function removeOrphanOutputSamples(busy: (setId: string) => boolean = () => false): Promise<string[]> {
  const d = await db();
  const known = new Set(await d.getAllKeys('outputSets'));
  const orphans: string[] = [];
  let cursor = await d.transaction('outputSamples').store.index('bySet').openKeyCursor(null, 'nextunique');
  while (cursor) {
    if (!known.has(cursor.key) && !busy(cursor.key)) orphans.push(cursor.key);
    cursor = await cursor.continue();
  }
  for (const id of orphans) await discardStagedOutputs(id);
  return orphans;
}

export async function listOutputSets(): Promise<OutputSetMeta[]> {
  const all = await (await db()).getAll('outputSets');
  return all.sort((a, b) => a.createdAt - b.createdAt);
}

export async function getOutputSet(id: string): Promise<OutputSetMeta> {
  const m = await (await db()).get('outputSets', id);
  if (!m) throw new Error(`output set ${id} is not stored`);
  return m;
}

export async function renameOutputSet(id: string, name: string): Promise<OutputSetMeta> {
  const clean = name.trim();
  if (!clean) throw new Error('an output set name cannot be empty');
  const d = await db();
  const tx = d.transaction('outputSets', 'readwrite');
  const meta = await tx.store.get(id);
  if (!meta) throw new Error(`output set ${id} is not stored`);
  const next = { ...meta, name: clean };
  await Promise.all([tx.store.put(next), tx.done]);
  return next;
}

/** Every sample's description (no outputs), one record at a time. */
export async function outputSampleInfos(setId: string): Promise<OutputSampleInfo[]> {
  const out: OutputSampleInfo[] = [];
  let cursor = await (await db()).transaction('outputSamples').store.openCursor(outputRange(setId));
  while (cursor) {
    const { logProbs: _l, setId: _s, ...info } = cursor.value;
    out.push(info);
    cursor = await cursor.continue();
  }
  return out;
}

/** Output samples by index, in one read transaction, in the order asked. */
export async function getOutputSamples(setId: string, indices: number[]): Promise<OutputSampleRecord[]> {
  const tx = (await db()).transaction('outputSamples');
  const recs = await Promise.all(indices.map((i) => tx.store.get([setId, i])));
  return recs.map((s, k) => {
    if (!s) throw new Error(`output set ${setId} has no sample #${indices[k]}`);
    return s;
  });
}

/** An output set as a source for diagnostics and alignments. */
export async function outputSource(setId: string): Promise<OutputSource> {
  return { infos: await outputSampleInfos(setId), load: (indices) => getOutputSamples(setId, indices) };
}

export async function deleteOutputSet(id: string): Promise<void> {
  const d = await db();
  const tx = d.transaction(['outputSets', 'outputSamples'], 'readwrite');
  await Promise.all([tx.objectStore('outputSets').delete(id), tx.objectStore('outputSamples').delete(outputRange(id)), tx.done]);
}
