// IndexedDB storage (idb). One DBSchema is the source of truth; callers use intent functions.
// Writes that must be atomic (a dataset and all its samples) happen in one transaction.

import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import type { DatasetMeta, SampleRecord } from './types';
import type { PreparedDataset } from './prepare';

export interface CheckpointRecord {
  id: string;
  datasetId: string;
  kind: 'overfit' | 'best' | 'last';
  createdAt: number;
  fileName: string;
  bytes: ArrayBuffer; // the .safetensors file
  overfit?: { passed: boolean; epochs: number; seconds: number; finalLoss: number; finalWer: number }; // kind 'overfit'
}

interface LabDB extends DBSchema {
  datasets: { key: string; value: DatasetMeta };
  samples: { key: [string, number]; value: SampleRecord; indexes: { byDataset: string } };
  checkpoints: { key: string; value: CheckpointRecord; indexes: { byDataset: string } };
}

export const DB_NAME = 'ctc-lab';
const DB_VERSION = 1;

let dbPromise: Promise<IDBPDatabase<LabDB>> | null = null;

export function db(): Promise<IDBPDatabase<LabDB>> {
  dbPromise ??= openDB<LabDB>(DB_NAME, DB_VERSION, {
    upgrade(d, oldVersion) {
      if (oldVersion < 1) {
        d.createObjectStore('datasets', { keyPath: 'id' });
        d.createObjectStore('samples', { keyPath: ['datasetId', 'index'] }).createIndex('byDataset', 'datasetId');
        d.createObjectStore('checkpoints', { keyPath: 'id' }).createIndex('byDataset', 'datasetId');
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
  await Promise.all([
    tx.objectStore('datasets').add(meta),
    ...p.samples.map((s, index) => samples.add({ ...s, datasetId: meta.id, index })),
    tx.done,
  ]);
  return meta;
}

export async function listDatasets(): Promise<DatasetMeta[]> {
  const all = await (await db()).getAll('datasets');
  return all.sort((a, b) => a.createdAt - b.createdAt);
}

export async function getDataset(id: string): Promise<DatasetMeta> {
  const m = await (await db()).get('datasets', id);
  if (!m) throw new Error(`dataset ${id} is not stored`);
  return m;
}

export async function loadSamples(datasetId: string): Promise<SampleRecord[]> {
  const all = await (await db()).getAllFromIndex('samples', 'byDataset', datasetId);
  return all.sort((a, b) => a.index - b.index);
}

export async function deleteDataset(id: string): Promise<void> {
  const d = await db();
  const tx = d.transaction(['datasets', 'samples', 'checkpoints'], 'readwrite');
  const keys = await tx.objectStore('samples').index('byDataset').getAllKeys(id);
  const ckpts = await tx.objectStore('checkpoints').index('byDataset').getAllKeys(id);
  await Promise.all([
    tx.objectStore('datasets').delete(id),
    ...keys.map((k) => tx.objectStore('samples').delete(k)),
    ...ckpts.map((k) => tx.objectStore('checkpoints').delete(k)),
    tx.done,
  ]);
}

export async function saveCheckpoint(rec: Omit<CheckpointRecord, 'id' | 'createdAt'>): Promise<CheckpointRecord> {
  const full: CheckpointRecord = { ...rec, id: newId('ck'), createdAt: Date.now() };
  await (await db()).put('checkpoints', full);
  return full;
}

export async function listCheckpoints(datasetId: string): Promise<Omit<CheckpointRecord, 'bytes'>[]> {
  const all = await (await db()).getAllFromIndex('checkpoints', 'byDataset', datasetId);
  return all.sort((a, b) => a.createdAt - b.createdAt).map(({ bytes: _bytes, ...rest }) => rest);
}

export async function getCheckpoint(id: string): Promise<CheckpointRecord> {
  const c = await (await db()).get('checkpoints', id);
  if (!c) throw new Error(`checkpoint ${id} is not stored`);
  return c;
}
