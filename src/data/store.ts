// IndexedDB storage (idb). One DBSchema is the source of truth; callers use intent functions.
// Writes that must be atomic (a dataset and all its samples) happen in one transaction.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { CheckpointRecord, DatasetMeta, Encoding, LmRecord, OutputSampleRecord, OutputSetMeta, RunRecord, SampleRecord, SweepRecord } from './types';
import type { PreparedDataset, PreparedSample } from './prepare';
import { decodeFloat16, encodeFloat16 } from './float16';
import { sampleInfo, type SampleInfo, type SampleSource } from './source';
import { setStore } from './set_store';

export type { CheckpointRecord, Encoding, RunRecord } from './types';

export interface LabDB extends DBSchema {
  datasets: { key: string; value: DatasetMeta };
  samples: { key: [string, number]; value: SampleRecord; indexes: { byDataset: string } };
  checkpoints: { key: string; value: CheckpointRecord; indexes: { byDataset: string } };
  runs: { key: string; value: RunRecord; indexes: { byDataset: string } };
  // Model outputs (version 3): a set's record, and its samples staged and committed like a dataset's.
  outputSets: { key: string; value: OutputSetMeta; indexes: { byDataset: string } };
  outputSamples: { key: [string, number]; value: OutputSampleRecord; indexes: { bySet: string } };
  // Version 4: n-gram language models and fix sweeps, each beside its dataset.
  lms: { key: string; value: LmRecord; indexes: { byDataset: string } };
  sweeps: { key: string; value: SweepRecord; indexes: { byDataset: string } };
}

export const DB_NAME = 'ctc-lab';
const DB_VERSION = 4;

let dbPromise: Promise<IDBPDatabase<LabDB>> | null = null;

export function db(): Promise<IDBPDatabase<LabDB>> {
  dbPromise ??= openDB<LabDB>(DB_NAME, DB_VERSION, {
    upgrade(d, oldVersion) {
      if (oldVersion < 1) {
        d.createObjectStore('datasets', { keyPath: 'id' });
        d.createObjectStore('samples', { keyPath: ['datasetId', 'index'] }).createIndex('byDataset', 'datasetId');
        d.createObjectStore('checkpoints', { keyPath: 'id' }).createIndex('byDataset', 'datasetId');
      }
      if (oldVersion < 2) {
        d.createObjectStore('runs', { keyPath: 'id' }).createIndex('byDataset', 'datasetId');
      }
      if (oldVersion < 3) {
        d.createObjectStore('outputSets', { keyPath: 'id' }).createIndex('byDataset', 'datasetId');
        d.createObjectStore('outputSamples', { keyPath: ['setId', 'index'] }).createIndex('bySet', 'setId');
      }
      if (oldVersion < 4) {
        d.createObjectStore('lms', { keyPath: 'id' }).createIndex('byDataset', 'datasetId');
        d.createObjectStore('sweeps', { keyPath: 'id' }).createIndex('byDataset', 'datasetId');
      }
    },
  });
  return dbPromise;
}

export function newId(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.floor(Math.random() * 1e9).toString(36)}`;
}

/** Stores a dataset and all its samples in one transaction: all of it or none of it. */
export async function saveDataset(p: PreparedDataset): Promise<DatasetMeta> {
  const meta: DatasetMeta = { ...p.meta, id: newId('ds'), createdAt: Date.now() };
  const d = await db();
  const tx = d.transaction(['datasets', 'samples'], 'readwrite');
  const samples = tx.objectStore('samples');
  await Promise.all([tx.objectStore('datasets').add(meta), ...p.samples.map((s, index) => samples.add({ ...s, datasetId: meta.id, index })), tx.done]);
  return meta;
}

// Datasets as stored sets (set_store.ts). A staged import's samples are written under the future
// dataset's id, invisible until commitStaged writes the record; discarded when cancelled, aborted
// or failed.

const datasets = setStore(
  db,
  { records: 'datasets', samples: 'samples', bySet: 'byDataset', staged: 'staged import', noun: 'dataset', aNoun: 'a dataset' },
  (s: PreparedSample, datasetId, index) => ({ ...s, datasetId, index }),
);
const sampleRange = datasets.range;

// stageSamples writes a batch of a staged import's samples (indices first, first + 1, …) in one
// transaction; discardStaged deletes a staged (or any) dataset's samples; removeOrphanSamples
// those of no dataset (an import interrupted by a reload or crash).
export const { stage: stageSamples, discard: discardStaged, removeOrphans: removeOrphanSamples, get: getDataset, rename: renameDataset } = datasets;

/**
 * Makes a staged import a dataset. Samples were staged as `opts.staged`; when the user chose the
 * other storage on the report they are rewritten first, `batch` at a time (still invisible until
 * the record is written). float16 → float32 only widens values already rounded to float16.
 */
export async function commitStaged(meta: DatasetMeta, opts: { staged: Encoding; storage: Encoding; batch?: number }): Promise<DatasetMeta> {
  const d = await db();
  const batch = opts.batch ?? 64;
  let bytes = meta.bytes;
  if (opts.staged !== opts.storage) {
    const want16 = opts.storage === 'float16';
    bytes = 0;
    for (let i = 0; i < meta.numSamples; i += batch) {
      const tx = d.transaction('samples', 'readwrite');
      const recs = await tx.store.getAll(IDBKeyRange.bound([meta.id, i], [meta.id, i + batch - 1]));
      const puts = recs.map((r) => {
        const { encoding, ...rest } = r;
        if ((encoding === 'float16') === want16) {
          bytes += r.features.byteLength;
          return null;
        }
        const features = want16 ? encodeFloat16(new Float32Array(r.features)).buffer : decodeFloat16(new Uint16Array(r.features)).buffer;
        bytes += features.byteLength;
        return tx.store.put(want16 ? { ...rest, features: features as ArrayBuffer, encoding: 'float16' } : { ...rest, features: features as ArrayBuffer });
      });
      await Promise.all([...puts, tx.done]);
    }
  }
  return datasets.commit({ ...meta, createdAt: Date.now(), storage: opts.storage, bytes });
}

/** Features as float32 whatever the stored encoding. */
function decoded(s: SampleRecord): SampleRecord {
  if (s.encoding !== 'float16') return s;
  const { encoding: _e, ...rest } = s;
  return { ...rest, features: decodeFloat16(new Uint16Array(s.features)).buffer as ArrayBuffer };
}

export async function listDatasets(): Promise<DatasetMeta[]> {
  const all = await (await db()).getAll('datasets');
  return all.sort((a, b) => a.createdAt - b.createdAt);
}

export async function getSample(datasetId: string, index: number): Promise<SampleRecord> {
  return decoded((await datasets.samples(datasetId, [index]))[0]);
}

export async function loadSamples(datasetId: string): Promise<SampleRecord[]> {
  const all = await (await db()).getAllFromIndex('samples', 'byDataset', datasetId);
  return all.sort((a, b) => a.index - b.index).map(decoded);
}

/** Every sample's description (no features), read one record at a time: bounded memory. */
export const sampleInfos = (datasetId: string): Promise<SampleInfo[]> => datasets.infos(datasetId, sampleInfo);

/** Samples by index, in one read transaction, features decoded to float32. */
export async function getSamples(datasetId: string, indices: number[]): Promise<SampleRecord[]> {
  return (await datasets.samples(datasetId, indices)).map(decoded);
}

/** The trainer's view of a stored dataset: descriptions now, features batch by batch. */
export async function datasetSource(datasetId: string): Promise<SampleSource> {
  return { infos: await sampleInfos(datasetId), load: (indices) => getSamples(datasetId, indices) };
}

export async function deleteDataset(id: string): Promise<void> {
  const d = await db();
  const tx = d.transaction(['datasets', 'samples', 'checkpoints', 'runs', 'outputSets', 'lms', 'sweeps'], 'readwrite');
  const ckpts = await tx.objectStore('checkpoints').index('byDataset').getAllKeys(id);
  const runs = await tx.objectStore('runs').index('byDataset').getAllKeys(id);
  const lms = await tx.objectStore('lms').index('byDataset').getAllKeys(id);
  const sweeps = await tx.objectStore('sweeps').index('byDataset').getAllKeys(id);
  // Output sets attached to it keep their references and outputs: they become standalone.
  const attached = await tx.objectStore('outputSets').index('byDataset').getAll(id);
  await Promise.all([
    ...attached.map((o) => tx.objectStore('outputSets').put({ ...o, datasetId: null })),
    tx.objectStore('datasets').delete(id),
    tx.objectStore('samples').delete(sampleRange(id)),
    ...ckpts.map((k) => tx.objectStore('checkpoints').delete(k)),
    ...runs.map((k) => tx.objectStore('runs').delete(k)),
    ...lms.map((k) => tx.objectStore('lms').delete(k)),
    ...sweeps.map((k) => tx.objectStore('sweeps').delete(k)),
    tx.done,
  ]);
}

export async function saveCheckpoint(rec: Omit<CheckpointRecord, 'id' | 'createdAt'> & { id?: string }): Promise<CheckpointRecord> {
  const full: CheckpointRecord = { ...rec, id: rec.id ?? newId('ck'), createdAt: Date.now() };
  await (await db()).put('checkpoints', full);
  return full;
}

/** The run's dataset was deleted (by another tab) while the run was training or being saved. */
export class DatasetGoneError extends Error {
  constructor(
    readonly datasetId: string,
    readonly datasetName: string,
  ) {
    super(`dataset "${datasetName}" was deleted (in another tab?); this run's progress could not be saved and training stopped`);
    this.name = 'DatasetGoneError';
  }
}

/** The browser refused a checkpoint for lack of space; the transaction was rolled back. */
export class CheckpointQuotaError extends Error {
  constructor(run: RunRecord) {
    super(
      `the browser's storage quota ran out while saving a checkpoint of run ${run.id}; the previous checkpoint is intact (free space: delete old runs or datasets, or store features as float16)`,
    );
    this.name = 'CheckpointQuotaError';
  }
}

/**
 * Saves a run's checkpoint(s) and its record in one transaction: after a crash, the run record
 * never points at a checkpoint that is not there. Refuses (DatasetGoneError) when the dataset is no
 * longer stored, so a run never outlives its data; a quota error rolls everything back
 * (CheckpointQuotaError) and the previous checkpoint stays.
 */
export async function saveRunProgress(run: RunRecord, checkpoints: CheckpointRecord[], remove: string[] = []): Promise<void> {
  const d = await db();
  const tx = d.transaction(['datasets', 'runs', 'checkpoints'], 'readwrite');
  const writes: Promise<unknown>[] = [];
  const track = (p: Promise<unknown>) => writes.push(p.catch((e) => e)); // each settles; the first failure is rethrown below
  try {
    if (!(await tx.objectStore('datasets').getKey(run.datasetId))) throw new DatasetGoneError(run.datasetId, run.datasetName);
    for (const c of checkpoints) track(tx.objectStore('checkpoints').put(c));
    for (const k of remove) track(tx.objectStore('checkpoints').delete(k));
    track(tx.objectStore('runs').put(run));
    for (const r of await Promise.all(writes)) if (r instanceof Error || r instanceof DOMException) throw r;
    await tx.done;
  } catch (e) {
    try {
      tx.abort(); // a put that threw does not abort by itself: nothing of this save may stay
    } catch {
      // already aborted or finished
    }
    await tx.done.catch(() => {});
    if ((e as { name?: string }).name === 'QuotaExceededError') throw new CheckpointQuotaError(run);
    throw e;
  }
}

/** Deletes one run: its record and the checkpoints it wrote (last, best, averaged, kept sets), in one transaction. */
export async function deleteRun(id: string): Promise<void> {
  const d = await db();
  const tx = d.transaction(['runs', 'checkpoints'], 'readwrite');
  const run = await tx.objectStore('runs').get(id);
  const cks = new Set(
    [`${id}-last`, `${id}-best`, `${id}-averaged`, run?.lastCheckpointId, run?.bestCheckpointId, run?.averagedCheckpointId].filter((k): k is string => !!k),
  );
  const kept = IDBKeyRange.bound(`${id}-kept-`, `${id}-kept-\uffff`); // averageBest's kept weight sets (engine/run/run.ts keptCheckpointId)
  await Promise.all([
    ...[...cks].map((k) => tx.objectStore('checkpoints').delete(k)),
    tx.objectStore('checkpoints').delete(kept),
    tx.objectStore('runs').delete(id),
    tx.done,
  ]);
}

export async function listRuns(datasetId: string): Promise<RunRecord[]> {
  const all = await (await db()).getAllFromIndex('runs', 'byDataset', datasetId);
  return all.sort((a, b) => a.createdAt - b.createdAt);
}

export async function getRun(id: string): Promise<RunRecord> {
  const r = await (await db()).get('runs', id);
  if (!r) throw new Error(`run ${id} is not stored`);
  return r;
}

export async function putRun(run: RunRecord): Promise<void> {
  await (await db()).put('runs', run);
}

export async function listCheckpoints(datasetId: string): Promise<Omit<CheckpointRecord, 'bytes'>[]> {
  const all = await (await db()).getAllFromIndex('checkpoints', 'byDataset', datasetId);
  // A run's kept weight sets (averageBest) are its own working state, not checkpoints to list.
  return all
    .filter((c) => c.kind !== 'kept')
    .sort((a, b) => a.createdAt - b.createdAt)
    .map(({ bytes: _bytes, ...rest }) => rest);
}

export async function getCheckpoint(id: string): Promise<CheckpointRecord> {
  const c = await (await db()).get('checkpoints', id);
  if (!c) throw new Error(`checkpoint ${id} is not stored`);
  return c;
}

// Fix sweeps (engine/tune/sweep_run.ts): one record per sweep, written after every trial-epoch decision.

export async function saveSweep(s: SweepRecord): Promise<void> {
  await (await db()).put('sweeps', s);
}

export async function getSweep(id: string): Promise<SweepRecord> {
  const s = await (await db()).get('sweeps', id);
  if (!s) throw new Error(`sweep ${id} not found`);
  return s;
}

export async function listSweeps(datasetId: string): Promise<SweepRecord[]> {
  const all = await (await db()).getAllFromIndex('sweeps', 'byDataset', datasetId);
  return all.sort((a, b) => b.createdAt - a.createdAt);
}

export async function deleteSweep(id: string): Promise<void> {
  await (await db()).delete('sweeps', id);
}
