// IndexedDB storage of n-gram language models (store `lms`, DB version 4; the schema is store.ts's):
// one record per model, beside its dataset (deleted with it by store.deleteDataset). The model is
// kept as its ARPA text: exact (numbers written as the shortest text that reads back to the same
// double) and what Download ARPA gives; the lists carry everything but that text.

import { db, newId } from './store';
import type { LmRecord } from './types';

/** What a list shows of a stored LM (no ARPA text). */
export type LmInfo = Omit<LmRecord, 'arpa'>;

const info = ({ arpa: _arpa, ...rest }: LmRecord): LmInfo => rest;

export async function saveLm(rec: Omit<LmRecord, 'id' | 'createdAt'>): Promise<LmInfo> {
  const full: LmRecord = { ...rec, id: newId('lm'), createdAt: Date.now() };
  await (await db()).add('lms', full);
  return info(full);
}

/** The dataset's LMs, oldest first. */
export async function listLms(datasetId: string): Promise<LmInfo[]> {
  const all = await (await db()).getAllFromIndex('lms', 'byDataset', datasetId);
  return all.sort((a, b) => a.createdAt - b.createdAt).map(info);
}

export async function getLm(id: string): Promise<LmRecord> {
  const rec = await (await db()).get('lms', id);
  if (!rec) throw new Error(`language model ${id} is not stored (deleted in another tab?)`);
  return rec;
}

export async function deleteLm(id: string): Promise<void> {
  await (await db()).delete('lms', id);
}
