// Import benchmark phases (page side, kernels.html), driven by bench/run.mjs, which samples peak
// memory from outside (CDP Runtime.getHeapUsage) around the import phases only:
//  1. plainRead: the files read plainly (File.arrayBuffer), the speed limit;
//  2. importOnce: the same streaming path the worker uses (read, parse, validate, statistics,
//     staged IndexedDB writes, commit), as float32 or float16;
//  3. loaderStats: padding efficiency with and without length bucketing, batch assembly time.

import { makeBatch, tokenIndex } from '../src/data/batch';
import { streamImport, type InputFile } from '../src/data/import';
import { bucketedBatches, paddingEfficiency } from '../src/data/loader';
import { stagingSink } from '../src/data/staging';
import * as store from '../src/data/store';
import { Rng } from '../src/lib/rng';

const MiB = 2 ** 20;
const inputs = (files: File[]): InputFile[] => files.map((f) => ({ path: f.webkitRelativePath || f.name, blob: f }));

export async function plainRead(files: File[]): Promise<{ files: number; megabytes: number; MBs: number }> {
  const mb = files.reduce((a, f) => a + f.size, 0) / MiB;
  const t0 = performance.now();
  for (const f of files) await f.arrayBuffer();
  return { files: files.length, megabytes: mb, MBs: mb / ((performance.now() - t0) / 1000) };
}

/** One import as the worker runs it: staged as `staged`, committed as `storage`. */
export async function importOnce(files: File[], staged: store.Encoding, storage: store.Encoding) {
  const mb = files.reduce((a, f) => a + f.size, 0) / MiB;
  const id = store.newId('ds');
  const sink = stagingSink(id, { encoding: staged });
  const t0 = performance.now();
  const { meta } = await streamImport(inputs(files), 'bench', sink, { maxAbs: staged === 'float16' ? 65504 : Infinity });
  await sink.flush();
  const t1 = performance.now();
  const rec = await store.commitStaged({ ...meta, id, createdAt: Date.now(), bytes: sink.bytes }, { staged, storage });
  const t2 = performance.now();
  return { id, MBs: mb / ((t1 - t0) / 1000), commitSeconds: (t2 - t1) / 1000, totalMBs: mb / ((t2 - t0) / 1000), storedMB: rec.bytes / MiB };
}

export async function loaderStats(datasetId: string, batchSize = 8) {
  const meta = await store.getDataset(datasetId);
  const samples = await store.loadSamples(datasetId);
  const frames = samples.filter((s) => s.split === 'train').map((s) => s.frames);
  const bucketed = paddingEfficiency(frames, bucketedBatches(frames, batchSize, 1));
  const order = new Rng(1).shuffle(Array.from(frames, (_, i) => i));
  const random = Array.from({ length: Math.ceil(order.length / batchSize) }, (_, b) => order.slice(b * batchSize, (b + 1) * batchSize));
  const idx = tokenIndex(meta.vocab);
  const t0 = performance.now();
  for (let i = 0; i < 20; i++) makeBatch(samples.slice(i * batchSize, (i + 1) * batchSize), meta, idx);
  return { batchSize, bucketed, unbucketed: paddingEfficiency(frames, random), batchAssemblyMs: (performance.now() - t0) / 20 };
}

export const benchImport = {
  plainRead,
  importOnce,
  loaderStats,
  deleteDataset: (id: string) => store.deleteDataset(id),
};
