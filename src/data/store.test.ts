import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import * as store from './store';
import { generateDemo } from './demo';
import { streamImport, type InputFile } from './import';
import { writeNpy } from './npy';
import { stagingSink } from './staging';

const enc = new TextEncoder();
const blob = (x: Uint8Array | string) => new Blob([(typeof x === 'string' ? enc.encode(x) : x) as BlobPart]);

function dataset(n: number, F = 4, bad?: number): InputFile[] {
  const rows = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ id: `u${i}`, text: i % 2 ? 'A B' : 'B', split: i < n - 2 ? 'train' : 'val', features: `u${i}.npy` }),
  );
  return [
    { path: 'd/manifest.jsonl', blob: blob(rows.join('\n')) },
    ...Array.from({ length: n }, (_, i) => ({
      path: `d/u${i}.npy`,
      blob: blob(
        i === bad
          ? 'not an npy'
          : writeNpy(
              Float32Array.from({ length: (5 + i) * F }, (_, k) => Math.sin(k + i) * 300),
              [5 + i, F],
            ),
      ),
    })),
  ];
}

/** Streams an import into the staging area the way the worker does, in small batches. */
async function stage(files: InputFile[], encoding: store.Encoding = 'float32', signal?: AbortSignal) {
  const id = store.newId('ds');
  const sink = stagingSink(id, { batchBytes: 300, encoding });
  try {
    const { meta } = await streamImport(files, 'd', sink, { signal, maxAbs: encoding === 'float16' ? 65504 : Infinity });
    await sink.flush();
    expect(sink.staged).toBe(meta.numSamples);
    return { id, meta: { ...meta, id, createdAt: 0, bytes: sink.bytes } };
  } catch (e) {
    await store.discardStaged(id);
    throw e;
  }
}

async function snapshot() {
  const d = await store.db();
  return { datasets: (await d.getAll('datasets')).map((m) => m.id).sort(), samples: await d.count('samples') };
}

describe('staged import in IndexedDB (fake-indexeddb)', () => {
  it('staged samples are invisible until committed; then the dataset reads back exactly', async () => {
    const before = await snapshot();
    const { id, meta } = await stage(dataset(7));
    expect((await store.listDatasets()).some((d) => d.id === id)).toBe(false);
    const stored = await store.commitStaged(meta, { staged: 'float32', storage: 'float32' });
    expect(stored.storage).toBe('float32');
    const samples = await store.loadSamples(id);
    expect(samples.map((s) => s.id)).toEqual(['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6']);
    expect(new Float32Array(samples[3].features)[5]).toBeCloseTo(Math.sin(5 + 3) * 300, 4);
    expect((await snapshot()).samples).toBe(before.samples + 7);
  });

  it('float16 chosen on the report (staged as float32): the commit rewrites; half the bytes; readers get float32 within half precision', async () => {
    const { id, meta } = await stage(dataset(5));
    const stored = await store.commitStaged(meta, { staged: 'float32', storage: 'float16', batch: 2 });
    expect(stored.storage).toBe('float16');
    expect(stored.bytes).toBe(meta.bytes / 2);
    const raw = await (await store.db()).get('samples', [id, 2]);
    expect(raw?.encoding).toBe('float16');
    const s = await store.getSample(id, 2);
    const x = new Float32Array(s.features);
    expect(x.length).toBe(7 * 4);
    x.forEach((v, k) => expect(Math.abs(v - Math.sin(k + 2) * 300)).toBeLessThanOrEqual(300 * 2 ** -11));
  });

  it('float16 chosen before the import: staged as float16, no rewrite; switching back to float32 widens the rounded values', async () => {
    const a = await stage(dataset(5), 'float16');
    expect(a.meta.bytes).toBe((5 + 6 + 7 + 8 + 9) * 4 * 2);
    const stored = await store.commitStaged(a.meta, { staged: 'float16', storage: 'float16' });
    expect(stored).toMatchObject({ storage: 'float16', bytes: a.meta.bytes });
    const x = new Float32Array((await store.getSample(a.id, 1)).features);
    x.forEach((v, k) => expect(Math.abs(v - Math.sin(k + 1) * 300)).toBeLessThanOrEqual(300 * 2 ** -11));

    const b = await stage(dataset(5), 'float16');
    const wide = await store.commitStaged(b.meta, { staged: 'float16', storage: 'float32', batch: 2 });
    expect(wide).toMatchObject({ storage: 'float32', bytes: 2 * b.meta.bytes });
    expect((await (await store.db()).get('samples', [b.id, 1]))?.encoding).toBeUndefined();
    expect(new Float32Array((await store.getSample(b.id, 1)).features)).toEqual(x);
  });

  it('float16 chosen before the import refuses a value beyond its range, naming the sample, and leaves no trace', async () => {
    const before = await snapshot();
    const files = dataset(4);
    files[3] = {
      path: 'd/u2.npy',
      blob: blob(
        writeNpy(
          Float32Array.from({ length: 7 * 4 }, (_, k) => (k === 9 ? 70000 : 1)),
          [7, 4],
        ),
      ),
    };
    await expect(stage(files, 'float16')).rejects.toThrow(
      "d/u2.npy, sample 'u2': has a value of magnitude 70000.0, beyond float16's range (±65504) chosen for storage; import it with float32 storage",
    );
    expect(await snapshot()).toEqual(before);
  });

  it('a failing import (bad file in the middle) leaves no trace and changes no other dataset', async () => {
    const other = await store.saveDataset(generateDemo({ seed: 1, numSamples: 12 }));
    const before = await snapshot();
    await expect(stage(dataset(9, 4, 6))).rejects.toThrow('d/u6.npy: not a .npy file');
    expect(await snapshot()).toEqual(before);
    expect((await store.loadSamples(other.id)).length).toBe(other.numSamples);
  });

  it('an aborted import leaves no trace', async () => {
    const before = await snapshot();
    const ac = new AbortController();
    const files = dataset(12);
    // Abort once the first batch is staged.
    const orig = store.stageSamples;
    let calls = 0;
    const p = (async () => {
      const id = store.newId('ds');
      let staged = 0;
      try {
        await streamImport(
          files,
          'd',
          {
            put: async (s) => {
              await orig(id, staged++, [s]);
              if (++calls === 4) ac.abort();
            },
          },
          { signal: ac.signal },
        );
      } catch (e) {
        expect(await store.loadSamples(id)).toHaveLength(4); // it really was midway
        await store.discardStaged(id);
        throw e;
      }
    })();
    await expect(p).rejects.toThrow('the import was aborted');
    expect(await snapshot()).toEqual(before);
  });

  it('samples left by an interrupted import are removed; staged imports another tab holds are kept', async () => {
    const keep = await store.saveDataset(generateDemo({ seed: 2, numSamples: 12 }));
    const before = await snapshot();
    const a = await stage(dataset(3)); // "reload" before commit: never committed, never discarded
    const b = await stage(dataset(4)); // another tab is still staging this one
    const removed = await store.removeOrphanSamples((id) => id === b.id);
    expect(removed).toEqual([a.id]);
    expect((await snapshot()).samples).toBe(before.samples + 4);
    expect((await store.loadSamples(keep.id)).length).toBe(keep.numSamples);
    await store.discardStaged(b.id);
    expect(await snapshot()).toEqual(before);
  });

  it('commit refuses a staging area with missing samples, and nothing becomes visible', async () => {
    const { id, meta } = await stage(dataset(4));
    await expect(store.commitStaged({ ...meta, numSamples: 5 }, { staged: 'float32', storage: 'float32' })).rejects.toThrow(
      `staged import ${id} has 4 samples, expected 5`,
    );
    expect((await store.listDatasets()).some((d) => d.id === id)).toBe(false);
    await store.discardStaged(id);
  });

  it('deleting a dataset removes its samples, checkpoints and runs only', async () => {
    const a = await store.saveDataset(generateDemo({ seed: 3, numSamples: 12 }));
    const b = await store.saveDataset(generateDemo({ seed: 4, numSamples: 12 }));
    await store.saveCheckpoint({ datasetId: a.id, kind: 'overfit', fileName: 'x.safetensors', bytes: new ArrayBuffer(8) });
    await store.deleteDataset(a.id);
    expect(await store.loadSamples(a.id)).toEqual([]);
    expect(await store.listCheckpoints(a.id)).toEqual([]);
    expect((await store.loadSamples(b.id)).length).toBe(b.numSamples);
  });
});

describe('dataset source for the trainer', () => {
  it('descriptions without features, samples loaded by index in the order asked, float16 decoded', async () => {
    const { id, meta } = await stage(dataset(6));
    await store.commitStaged(meta, { staged: 'float32', storage: 'float16' });
    const src = await store.datasetSource(id);
    expect(src.infos.map((s) => [s.index, s.id, s.frames])).toEqual([0, 1, 2, 3, 4, 5].map((i) => [i, `u${i}`, 5 + i]));
    expect(src.infos.every((s) => !('features' in s))).toBe(true);
    const got = await src.load([4, 1]);
    expect(got.map((s) => s.id)).toEqual(['u4', 'u1']);
    expect(new Float32Array(got[0].features)).toHaveLength(9 * 4);
    expect(got[0].encoding).toBeUndefined();
    await expect(src.load([6])).rejects.toThrow(`dataset ${id} has no sample #6`);
  });
});

describe('quota exceeded while staging', () => {
  it('the import fails with a message that says how far it got, and staged samples are deleted', async () => {
    const before = await snapshot();
    const id = store.newId('ds');
    let writes = 0;
    // The real store, until the third batch, which the "browser" refuses as over quota.
    const sink = stagingSink(id, {
      batchBytes: 300,
      writeBatch: async (ds, first, batch) => {
        if (++writes === 3) throw new DOMException('quota', 'QuotaExceededError');
        await store.stageSamples(ds, first, batch);
      },
    });
    const run = (async () => {
      try {
        await streamImport(dataset(12), 'd', sink);
        await sink.flush();
      } catch (e) {
        await store.discardStaged(id);
        throw e;
      }
    })();
    await expect(run).rejects.toThrow(
      /^the browser's storage quota ran out after 0 MB of this import; nothing was stored \(free space, or store the features as float16\)$/,
    );
    expect(writes).toBe(3);
    expect(await snapshot()).toEqual(before);
  });
});
