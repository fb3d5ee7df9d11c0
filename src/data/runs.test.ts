// Runs in IndexedDB (fake-indexeddb): progress saved atomically, never for a dataset that is gone,
// rolled back whole when the quota runs out; a single run deleted with its checkpoints.

import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import * as store from './store';
import { generateDemo } from './demo';

const bytes = (n: number, fill: number) => new Uint8Array(n).fill(fill).buffer as ArrayBuffer;

async function withRun(name = 'demo') {
  const ds = await store.saveDataset(generateDemo({ seed: 3, numSamples: 12 }));
  const run: store.RunRecord = {
    id: store.newId('run'),
    datasetId: ds.id,
    datasetName: name,
    createdAt: 1,
    updatedAt: 1,
    config: {},
    status: 'running',
    reason: '',
    history: [{ epoch: 1, trainLoss: 2 }],
    bestCheckpointId: null,
    lastCheckpointId: null,
  };
  const ck = (kind: 'last' | 'best', fill: number): store.CheckpointRecord => ({
    id: `${run.id}-${kind}`,
    datasetId: ds.id,
    runId: run.id,
    kind,
    createdAt: 1,
    fileName: `${kind}.safetensors`,
    bytes: bytes(16, fill),
  });
  await store.saveRunProgress({ ...run, lastCheckpointId: `${run.id}-last`, bestCheckpointId: `${run.id}-best` }, [ck('last', 1), ck('best', 1)]);
  return { ds, run: await store.getRun(run.id), ck };
}

describe('run progress', () => {
  it('is refused once the dataset is deleted (another tab), and nothing of the run is written again', async () => {
    const { ds, run, ck } = await withRun('gone demo');
    await store.deleteDataset(ds.id);
    await expect(store.saveRunProgress({ ...run, history: [...run.history, { epoch: 2, trainLoss: 1 }] }, [ck('last', 2)])).rejects.toThrow(
      'dataset "gone demo" was deleted (in another tab?); this run\'s progress could not be saved and training stopped',
    );
    await expect(store.getRun(run.id)).rejects.toThrow('is not stored');
    await expect(store.getCheckpoint(`${run.id}-last`)).rejects.toThrow('is not stored');
  });

  it('quota exceeded while saving a checkpoint: a clear message, the previous checkpoint and record intact', async () => {
    const { run, ck } = await withRun();
    // The browser refuses the new checkpoint's bytes as over quota (as a put that throws).
    const proto = IDBObjectStore.prototype;
    const put = proto.put;
    proto.put = function (this: IDBObjectStore, value: unknown, key?: IDBValidKey) {
      if ((value as { bytes?: ArrayBuffer }).bytes?.byteLength === 32) throw new DOMException('quota', 'QuotaExceededError');
      return put.call(this, value, key);
    } as typeof proto.put;
    try {
      const next = { ...run, history: [...run.history, { epoch: 2, trainLoss: 1 }], updatedAt: 2 };
      await expect(store.saveRunProgress(next, [ck('best', 3), { ...ck('last', 3), bytes: bytes(32, 3) }])).rejects.toThrow(
        `the browser's storage quota ran out while saving a checkpoint of run ${run.id}; the previous checkpoint is intact`,
      );
    } finally {
      proto.put = put;
    }
    expect(await store.getRun(run.id)).toEqual(run);
    expect(new Uint8Array((await store.getCheckpoint(`${run.id}-last`)).bytes)).toEqual(new Uint8Array(16).fill(1));
    expect(new Uint8Array((await store.getCheckpoint(`${run.id}-best`)).bytes)).toEqual(new Uint8Array(16).fill(1)); // the put before the refused one was rolled back too
  });

  it('a single run is deleted with its checkpoints; other runs and the dataset stay', async () => {
    const a = await withRun();
    const b = await withRun();
    await store.deleteRun(a.run.id);
    await expect(store.getRun(a.run.id)).rejects.toThrow('is not stored');
    expect((await store.listCheckpoints(a.ds.id)).map((c) => c.id)).toEqual([]);
    expect((await store.getRun(b.run.id)).id).toBe(b.run.id);
    expect((await store.listCheckpoints(b.ds.id)).map((c) => c.kind).sort()).toEqual(['best', 'last']);
    expect((await store.getDataset(a.ds.id)).id).toBe(a.ds.id);
  });
});
