// A stored set of samples, the same for datasets and model-output sets: a record, and samples keyed
// [set id, index] in their own store. An import streams its samples under its future set's id, in
// many small transactions, before the set's record exists: nothing lists them. Committing writes
// the record in one transaction, once every sample is there; cancelling, aborting or failing
// deletes them; removeOrphans clears what a reload or crash in the middle left behind. So a set is
// visible whole or not at all. Stored sets are read (record, descriptions, samples by index) and
// renamed here too. store.ts (datasets) and store_outputs.ts (model-output sets) each describe
// their stores to it.

import type { IDBPDatabase, IndexNames, StoreValue } from 'idb';
import type { LabDB } from './store';

type RecordStore = 'datasets' | 'outputSets';
type SampleStore = 'samples' | 'outputSamples';

/** Where one kind of set lives: its records, its samples (keyed [set id, index]) and their index by set. */
export interface SetKind<R extends RecordStore, S extends SampleStore> {
  records: R;
  samples: S;
  bySet: IndexNames<LabDB, S>;
  /** Names a staged set in the commit's refusal: "staged import", "staged output set". */
  staged: string;
  /** Names a set in refusals: "dataset", "output set" (and with its article: "a dataset", "an output set"). */
  noun: string;
  aNoun: string;
}

export interface SetStore<R extends RecordStore, S extends SampleStore, Prepared> {
  /** A stored set's record; refuses one that is not stored. */
  get(setId: string): Promise<StoreValue<LabDB, R>>;
  /** Gives a stored set another name (trimmed, not empty). */
  rename(setId: string, name: string): Promise<StoreValue<LabDB, R>>;
  /** Every sample's description (`info` leaves out the big arrays), read one record at a time: bounded memory. */
  infos<Info>(setId: string, info: (s: StoreValue<LabDB, S>) => Info): Promise<Info[]>;
  /** Samples by index, in one read transaction, in the order asked; refuses a missing one. */
  samples(setId: string, indices: number[]): Promise<StoreValue<LabDB, S>[]>;
  /** The keys of one set's samples. */
  range(setId: string): IDBKeyRange;
  /** Writes a batch of samples (indices first, first + 1, …) of a staged set in one transaction. */
  stage(setId: string, first: number, samples: Prepared[]): Promise<void>;
  /** Deletes a staged (or any) set's samples. */
  discard(setId: string): Promise<void>;
  /** Writes a staged set's record; refuses, storing nothing, when samples are missing. */
  commit<V extends StoreValue<LabDB, R>>(record: V): Promise<V>;
  /** Deletes samples that belong to no set and are not `busy` (an import cut off by a reload or crash); returns their set ids. */
  removeOrphans(busy?: (setId: string) => boolean): Promise<string[]>;
}

/** `own`: a prepared sample as stored, its set's id and its index added. */
export function setStore<R extends RecordStore, S extends SampleStore, Prepared>(
  db: () => Promise<IDBPDatabase<LabDB>>,
  k: SetKind<R, S>,
  own: (sample: Prepared, setId: string, index: number) => StoreValue<LabDB, S>,
): SetStore<R, S, Prepared> {
  const range = (setId: string) => IDBKeyRange.bound([setId, 0], [setId, Infinity]);
  const discard = async (setId: string) => {
    const tx = (await db()).transaction(k.samples, 'readwrite');
    await Promise.all([tx.store.delete(range(setId)), tx.done]);
  };
  const get = async (setId: string) => {
    const m = await (await db()).get(k.records, setId);
    if (!m) throw new Error(`${k.noun} ${setId} is not stored`);
    return m;
  };
  return {
    range,
    discard,
    get,
    async rename(setId, name) {
      const clean = name.trim();
      if (!clean) throw new Error(`${k.aNoun} name cannot be empty`);
      const tx = (await db()).transaction(k.records, 'readwrite');
      const meta = await tx.store.get(setId);
      if (!meta) throw new Error(`${k.noun} ${setId} is not stored`);
      const next = { ...meta, name: clean };
      await Promise.all([tx.store.put(next), tx.done]);
      return next;
    },
    async infos(setId, info) {
      const out = [];
      let cursor = await (await db()).transaction(k.samples).store.openCursor(range(setId));
      while (cursor) {
        out.push(info(cursor.value));
        cursor = await cursor.continue();
      }
      return out;
    },
    async samples(setId, indices) {
      const tx = (await db()).transaction(k.samples);
      const recs = await Promise.all(indices.map((i) => tx.store.get([setId, i])));
      return recs.map((s, j) => {
        if (!s) throw new Error(`${k.noun} ${setId} has no sample #${indices[j]}`);
        return s;
      });
    },
    async stage(setId, first, samples) {
      const tx = (await db()).transaction(k.samples, 'readwrite');
      await Promise.all([...samples.map((s, i) => tx.store.put(own(s, setId, first + i))), tx.done]);
    },
    async commit(record) {
      const d = await db();
      const count = await d.countFromIndex(k.samples, k.bySet, IDBKeyRange.only(record.id));
      if (count !== record.numSamples) throw new Error(`${k.staged} ${record.id} has ${count} samples, expected ${record.numSamples}; nothing was stored`);
      await d.add(k.records, record);
      return record;
    },
    async removeOrphans(busy = () => false) {
      const d = await db();
      const known = new Set<unknown>(await d.getAllKeys(k.records));
      const orphans: string[] = [];
      let cursor = await d.transaction(k.samples).store.index(k.bySet).openKeyCursor(null, 'nextunique');
      while (cursor) {
        const setId = String(cursor.key);
        if (!known.has(setId) && !busy(setId)) orphans.push(setId);
        cursor = await cursor.continue();
      }
      for (const id of orphans) await discard(id);
      return orphans;
    },
  };
}
