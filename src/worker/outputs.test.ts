// Output-set changes reach the other tabs (fake-indexeddb, Node's BroadcastChannel, cpu backend):
// storing a set (attached to a dataset or standalone), renaming and deleting it, and deleting the
// dataset it is attached to each send one { kind: 'outputs' } message on the storage channel, after
// the change is readable, so another tab's re-read (its output-set list, Teacher choices and
// diagnostics sources) sees it; staging, a refused import and a cancelled one send nothing.
import 'fake-indexeddb/auto';
import '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { zipSync } from 'fflate';
import { generateDemo } from '../data/demo';
import type { InputFile } from '../data/import';
import { writeNpy } from '../data/npy';
import * as store from '../data/store';
import * as outputStore from '../data/store_outputs';
import type { DatasetMeta } from '../data/types';
import { STORAGE_CHANNEL, type StorageChange } from './api';
import { datasets } from './datasets';
import { distill } from './distill';
import { outputs } from './outputs';

const enc = new TextEncoder();
const blob = (x: Uint8Array | string) => new Blob([(typeof x === 'string' ? enc.encode(x) : x) as BlobPart]);

/** A model-output set for `ds`'s samples (its ids and references, vocabulary in class order after the blank): deterministic log-softmax rows, ×2 subsampling. */
async function outputFiles(ds: DatasetMeta): Promise<InputFile[]> {
  const infos = await store.sampleInfos(ds.id);
  const C = ds.vocab.length + 1;
  const npz: Record<string, Uint8Array> = {};
  for (const s of infos) {
    const T = Math.ceil(s.frames / 2);
    const x = new Float32Array(T * C);
    for (let t = 0; t < T; t++) {
      const row = Array.from({ length: C }, (_, c) => Math.sin(t * 3 + c * 1.3 + s.index));
      const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
      row.forEach((v, c) => (x[t * C + c] = v - lse));
    }
    npz[`${s.id}.npy`] = writeNpy(x, [T, C]);
  }
  return [
    { path: 'out/manifest.jsonl', blob: blob(infos.map((s) => JSON.stringify({ id: s.id, text: s.text, split: s.split })).join('\n') + '\n') },
    { path: 'out/vocab.txt', blob: blob(ds.vocab.join('\n') + '\n') },
    { path: 'out/posteriors.npz', blob: blob(zipSync(npz)) },
    { path: 'out/outputs.json', blob: blob(JSON.stringify({ kind: 'log_probs', subsampling: 2, model: 'unit test' })) },
  ];
}

// Another tab: its own channel object on the same name (a channel never hears its own messages).
let other: BroadcastChannel;
const heard: StorageChange[] = [];
let waiting: { n: number; resolve: () => void }[] = [];

/** Resolves once `n` messages in all have reached the other tab; fails, saying what it heard, when they do not come. */
function heardCount(n: number): Promise<void> {
  if (heard.length >= n) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the other tab heard ${heard.length} messages, expected ${n}: ${JSON.stringify(heard)}`)), 5000);
    waiting.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
  });
}

beforeAll(() => {
  vi.stubGlobal('navigator', {}); // no Web Locks, no WebGPU: the worker's lock-free paths and the cpu backend
  other = new BroadcastChannel(STORAGE_CHANNEL);
  other.onmessage = (e: MessageEvent<StorageChange>) => {
    heard.push(e.data);
    waiting.filter((w) => heard.length >= w.n).forEach((w) => w.resolve());
    waiting = waiting.filter((w) => heard.length < w.n);
  };
});

afterAll(() => {
  other.close();
  vi.unstubAllGlobals();
});

const noProgress = () => {};

describe('output-set changes are told to other tabs', () => {
  it('store (attached), rename, delete the dataset (detached), delete the set: one message each, after the change; staging, refusals and cancels: none', async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 9, numSamples: 12 }));
    const files = await outputFiles(ds);

    // Staged, then cancelled: nothing announced (the set never existed for any list).
    const cancelled = await outputs.analyseOutputs(files, 'cancelled', ds.id, noProgress);
    await outputs.cancelOutputs(cancelled.pendingId);
    // Refused (a reference that differs from the dataset's): nothing announced, nothing stored.
    const bad = [
      { path: 'out/manifest.jsonl', blob: blob((await files[0].blob.text()).replace(/"text":"[^"]*"/, '"text":"NOT IN VOCAB"')) },
      ...files.slice(1),
    ];
    await expect(outputs.analyseOutputs(bad, 'bad', ds.id, noProgress)).rejects.toThrow(/differs from dataset/);

    // Staged and stored, attached to the dataset.
    const { pendingId, report } = await outputs.analyseOutputs(files, 'teacher outputs', ds.id, noProgress);
    expect(report.attachedTo).toEqual({ id: ds.id, name: ds.name });
    const meta = await outputs.commitOutputs(pendingId);
    await heardCount(1);
    expect(heard).toEqual([{ kind: 'outputs' }]); // the only message so far: staging, the cancel and the refusal said nothing
    // What the other tab re-reads on it: the set in the list and among the dataset's teachers.
    expect((await outputs.listOutputSets()).map((o) => o.name)).toEqual(['teacher outputs']);
    const teachers = await distill.listTeachers(ds.id);
    expect(teachers.filter((t) => t.kind === 'outputs')).toEqual([
      expect.objectContaining({ id: meta.id, label: 'model outputs · teacher outputs (unit test)', subsampling: 2, problem: null }),
    ]);

    await outputs.renameOutputSet(meta.id, 'renamed');
    await heardCount(2);
    expect(heard[1]).toEqual({ kind: 'outputs' });
    expect((await outputs.listOutputSets()).map((o) => o.name)).toEqual(['renamed']);

    // Deleting the dataset detaches the set: the datasets' messages and one for the output sets.
    await datasets.deleteDataset(ds.id);
    await heardCount(5);
    expect(heard.slice(2)).toEqual([{ kind: 'dataset-deleted', datasetId: ds.id }, { kind: 'datasets' }, { kind: 'outputs' }]);
    expect((await outputStore.getOutputSet(meta.id)).datasetId).toBeNull();

    await outputs.deleteOutputSet(meta.id);
    await heardCount(6);
    expect(heard[5]).toEqual({ kind: 'outputs' });
    expect(await outputs.listOutputSets()).toEqual([]);
    expect(await outputStore.outputSampleInfos(meta.id)).toEqual([]);
    expect(heard).toHaveLength(6);
  });
});
