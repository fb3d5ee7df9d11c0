// Upgrade path: users keep their IndexedDB across versions. Records are written here exactly as
// each older version wrote them (layouts from the commits named), into a database of that
// version, then the current store opens it (running its upgrade) and every record kind must
// read back: datasets, samples (float32 and float16), checkpoints (overfit, last, best) whose
// metadata decodes through today's schema, run records through the run-record schema, and a run
// resumes from its old checkpoint. Writes and deletes work on the upgraded database too.
// Version 3's stores (model-output sets and their samples) are created by the upgrade with their
// key paths and indexes, empty, without touching a record of the older stores, and an output set
// is staged and committed into them as on a fresh database.

import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { openDB } from 'idb';
import * as store from '../../data/store';
import * as outputStore from '../../data/store_outputs';
import { generateDemo } from '../../data/demo';
import { encodeFloat16 } from '../../data/float16';
import type { OutputSampleRecord, OutputSetMeta } from '../../data/types';
import { createModel } from '../model/registry';
import { Adam } from '../optim/adam';
import { TRAIN_DEFAULTS } from '../train/config';
import { resumeStateFrom, Trainer } from '../train/trainer';
import { encodeCheckpoint } from './checkpoint';
import { decodeCheckpoint } from './checkpoint';
import { parseRunRecord } from './schema';

const demo = generateDemo({ seed: 5, numSamples: 12 });
const F = demo.meta.featureDim;
const V = demo.meta.vocab.length + 1;

/** Checkpoint bytes with today's safetensors layout (unchanged since the first version) and the given metadata object. */
async function bytesWith(meta: Record<string, unknown>, optimizerSlots = true): Promise<ArrayBuffer> {
  const model = createModel({ preset: 'tcn', featureDim: F, numClasses: V, channels: 8, layers: 1, kernel: 3, dropout: 0 }, 1);
  const adam = new Adam(model.params);
  const vars = new Map([...model.params, ...(optimizerSlots ? adam.slots : [])]);
  const b = await encodeCheckpoint(vars, meta as never);
  model.dispose();
  adam.dispose();
  return b.buffer as ArrayBuffer;
}

// Version 1 (175e116, 2c71d62): datasets without `storage`, float32 samples without `encoding`,
// overfit checkpoints without runId or summary; the overfit config had no preset/hidden/heads.
const v1Dataset = (({ storage: _s, ...m }) => ({ ...m, id: 'ds-v1', name: 'old demo', createdAt: 1 }))({ ...demo.meta, bytes: 0 } as typeof demo.meta & {
  storage?: string;
});
const v1OverfitMeta = {
  format: 'ctc-lab/1',
  createdAt: '2026-11-24T06:53:42.000Z',
  model: { preset: 'tcn', featureDim: F, numClasses: V, channels: 8, layers: 1, kernel: 3, dropout: 0 },
  subsampling: 2,
  vocab: demo.meta.vocab,
  blank: 0,
  normalisation: demo.meta.norm,
  training: {
    config: {
      mode: 'overfit',
      numSamples: 5,
      maxEpochs: 2000,
      lr: 3e-3,
      seed: 1,
      channels: 8,
      layers: 1,
      optimizer: 'adam',
      beta1: 0.9,
      beta2: 0.999,
      eps: 1e-8,
      weightDecay: 0,
    },
    state: { epoch: 3, step: 3, seed: 1 },
  },
  history: [1, 2, 3].map((epoch) => ({ epoch, loss: 4 - epoch, wer: 1, seconds: epoch / 10 })),
  dataset: { id: 'ds-v1', name: 'old demo' },
};

// Version 2 (182ed91, 4ccebcf): runs; trainer checkpoints with state.earlyStopping {counter, best}
// and the full state in earlyStoppingFull; TrainConfig without hidden/heads; NaN kept in records.
const v2Config = (({ hidden: _h, heads: _e, ...c }) => ({ ...c, channels: 8, layers: 1, epochs: 4, maxTrainSamples: 8 }))(TRAIN_DEFAULTS);
const v2Rows = [1, 2].map((epoch) => ({
  epoch,
  trainLoss: epoch === 1 ? NaN : 2.5,
  valLoss: 2.4,
  valWer: 0.9,
  valCer: 0.8,
  S: 3,
  D: 2,
  I: 1,
  N: 10,
  blankRate: 0.7,
  lr: 1e-4,
  gradNorm: 1.5,
  skippedBatches: epoch === 1 ? 4 : 0,
  paddingEfficiency: 0.9,
  seconds: 1,
}));
const v2TrainMeta = {
  ...v1OverfitMeta,
  createdAt: '2026-11-24T07:56:52.000Z',
  training: {
    config: { mode: 'train', ...v2Config },
    state: { epoch: 2, step: 4, seed: 1, earlyStopping: { counter: 1, best: 0.9 }, earlyStoppingFull: { best: 0.9, bestEpoch: 1, counter: 1 } },
  },
  history: v2Rows.map((r) => JSON.parse(JSON.stringify(r))), // NaN → null, as JSON.stringify wrote it
  dataset: { id: 'ds-v2', name: 'float16 demo' },
};
const v2Run = {
  id: 'run-v2',
  datasetId: 'ds-v2',
  datasetName: 'float16 demo',
  createdAt: 2,
  updatedAt: 3,
  config: { ...v2Config },
  status: 'stopped',
  reason: 'stopped by the user after epoch 2',
  history: v2Rows,
  bestCheckpointId: 'run-v2-best',
  lastCheckpointId: 'run-v2-last',
};

// The older stores, and every record in them as version 2 held it just before the upgrade.
const OLD_STORES = ['datasets', 'samples', 'checkpoints', 'runs'] as const;
const asVersion2Held: Record<(typeof OLD_STORES)[number], unknown[]> = { datasets: [], samples: [], checkpoints: [], runs: [] };

/** Every record of the older stores, read through the current store's (upgraded) connection. */
async function oldRecordsNow(): Promise<typeof asVersion2Held> {
  const d = await store.db();
  return { datasets: await d.getAll('datasets'), samples: await d.getAll('samples'), checkpoints: await d.getAll('checkpoints'), runs: await d.getAll('runs') };
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  // The database as version 1 created it.
  const d1 = await openDB(store.DB_NAME, 1, {
    upgrade(d) {
      d.createObjectStore('datasets', { keyPath: 'id' });
      d.createObjectStore('samples', { keyPath: ['datasetId', 'index'] }).createIndex('byDataset', 'datasetId');
      d.createObjectStore('checkpoints', { keyPath: 'id' }).createIndex('byDataset', 'datasetId');
    },
  });
  await d1.put('datasets', v1Dataset);
  for (const [index, s] of demo.samples.entries()) await d1.put('samples', { ...s, datasetId: 'ds-v1', index });
  await d1.put('checkpoints', {
    id: 'ck-v1',
    datasetId: 'ds-v1',
    kind: 'overfit',
    createdAt: 1,
    fileName: 'ctc-lab-overfit-old_demo-epoch3.safetensors',
    bytes: await bytesWith(v1OverfitMeta),
  });
  d1.close();
  // Version 2 added the runs store; later version-2 builds stored float16 datasets and overfit summaries.
  const d2 = await openDB(store.DB_NAME, 2, {
    upgrade(d) {
      d.createObjectStore('runs', { keyPath: 'id' }).createIndex('byDataset', 'datasetId');
    },
  });
  await d2.put('datasets', { ...demo.meta, id: 'ds-v2', name: 'float16 demo', createdAt: 2, storage: 'float16', bytes: 0 });
  for (const [index, s] of demo.samples.entries()) {
    await d2.put('samples', {
      ...s,
      datasetId: 'ds-v2',
      index,
      features: encodeFloat16(new Float32Array(s.features)).buffer as ArrayBuffer,
      encoding: 'float16',
    });
  }
  const trainBytes = await bytesWith(v2TrainMeta);
  await d2.put('checkpoints', {
    id: 'run-v2-last',
    datasetId: 'ds-v2',
    runId: 'run-v2',
    kind: 'last',
    createdAt: 3,
    fileName: 'ctc-lab-float16_demo-run-v2-last-epoch2.safetensors',
    bytes: trainBytes,
  });
  await d2.put('checkpoints', {
    id: 'run-v2-best',
    datasetId: 'ds-v2',
    runId: 'run-v2',
    kind: 'best',
    createdAt: 3,
    fileName: 'ctc-lab-float16_demo-run-v2-best-epoch1.safetensors',
    bytes: trainBytes.slice(0),
  });
  const overfit2 = {
    ...v1OverfitMeta,
    training: { ...v1OverfitMeta.training, config: { ...v1OverfitMeta.training.config, preset: 'tcn', hidden: 128, heads: 4 } },
    dataset: { id: 'ds-v2', name: 'float16 demo' },
  };
  await d2.put('checkpoints', {
    id: 'ck-v2',
    datasetId: 'ds-v2',
    kind: 'overfit',
    createdAt: 4,
    fileName: 'ctc-lab-overfit-float16_demo-epoch3.safetensors',
    bytes: await bytesWith(overfit2),
    overfit: { passed: false, epochs: 3, seconds: 0.3, finalLoss: 1, finalWer: 1 },
  });
  await d2.put('runs', v2Run);
  for (const name of OLD_STORES) asVersion2Held[name] = await d2.getAll(name);
  d2.close();
}, 60_000);

describe('a database written by older versions opens and every record kind still loads', () => {
  it('the upgrades to versions 3 and 4 add the model-output, LM and sweep stores, empty, with their key paths and indexes, and change no older record', async () => {
    const d = await store.db(); // opening runs the upgrades from version 2
    expect(d.version).toBe(4);
    expect([...d.objectStoreNames].sort()).toEqual(['checkpoints', 'datasets', 'lms', 'outputSamples', 'outputSets', 'runs', 'samples', 'sweeps']);
    const tx = d.transaction(['outputSets', 'outputSamples', 'samples', 'checkpoints', 'runs', 'lms', 'sweeps']);
    for (const name of ['lms', 'sweeps'] as const) {
      const st = tx.objectStore(name);
      expect(st.keyPath).toBe('id');
      expect([...st.indexNames]).toEqual(['byDataset']);
      expect(st.index('byDataset').keyPath).toBe('datasetId');
      expect(await st.count()).toBe(0);
    }
    const sets = tx.objectStore('outputSets'),
      outs = tx.objectStore('outputSamples');
    expect(sets.keyPath).toBe('id');
    expect([...sets.indexNames]).toEqual(['byDataset']);
    expect(sets.index('byDataset').keyPath).toBe('datasetId');
    expect(outs.keyPath).toEqual(['setId', 'index']);
    expect([...outs.indexNames]).toEqual(['bySet']);
    expect(outs.index('bySet').keyPath).toBe('setId');
    expect(await sets.count()).toBe(0);
    expect(await outs.count()).toBe(0);
    // The older stores keep their indexes.
    for (const name of ['samples', 'checkpoints', 'runs'] as const) expect([...tx.objectStore(name).indexNames]).toEqual(['byDataset']);
    await tx.done;
    const now = await oldRecordsNow();
    expect(now.samples).toHaveLength(2 * demo.samples.length);
    expect(now).toEqual(asVersion2Held);
  });

  it('an output set is staged (invisible) and committed into the upgraded stores, attached to an old dataset, and reads back; older records unchanged', async () => {
    const V = demo.meta.vocab.length + 1;
    const infos = (await store.sampleInfos('ds-v2')).slice(0, 3);
    // Half the mass on one class per frame (a different one per sample and frame), the rest uniform.
    const rows: Omit<OutputSampleRecord, 'setId' | 'index'>[] = infos.map((s) => {
      const T = Math.ceil(s.frames / 2);
      const lp = new Float32Array(T * V).fill(Math.log(0.5 / (V - 1)));
      for (let t = 0; t < T; t++) lp[t * V + ((t + s.index) % V)] = Math.log(0.5);
      return { id: s.id, text: s.text, split: s.split, frames: s.frames, outFrames: T, logProbs: lp.buffer };
    });
    const counts = { train: 0, val: 0, test: 0, none: 0 };
    for (const r of rows) counts[r.split ?? 'none']++;
    const T = rows.map((r) => r.outFrames);
    const id = store.newId('out');
    await outputStore.stageOutputSamples(id, 0, rows);
    expect(await outputStore.listOutputSets()).toEqual([]); // staged samples belong to no set yet
    const meta: OutputSetMeta = {
      id,
      name: 'after the upgrade',
      source: 'import',
      createdAt: 0,
      numSamples: rows.length,
      counts,
      classes: ['<blank>', ...demo.meta.vocab],
      blank: 0,
      kind: { declared: 'log_probs', detected: { log_probs: rows.length, logits: 0, probs: 0 }, lseMin: 0, lseMax: 0 },
      subsampling: 2,
      subsamplingSource: 'outputs.json',
      frameShiftMs: null,
      model: 'test',
      outFrames: { min: Math.min(...T), mean: T.reduce((a, b) => a + b, 0) / T.length, max: Math.max(...T) },
      bytes: rows.reduce((a, r) => a + r.logProbs.byteLength, 0),
      datasetId: 'ds-v2',
      datasetName: 'float16 demo',
      nonFinite: [],
    };
    // A set whose samples are not all staged is refused, and nothing becomes visible.
    await expect(outputStore.commitOutputSet({ ...meta, numSamples: 4 })).rejects.toThrow(
      `staged output set ${id} has 3 samples, expected 4; nothing was stored`,
    );
    expect(await outputStore.listOutputSets()).toEqual([]);
    const stored = await outputStore.commitOutputSet(meta);
    expect(await outputStore.listOutputSets()).toEqual([stored]);
    expect(await outputStore.getOutputSet(id)).toMatchObject({ name: 'after the upgrade', datasetId: 'ds-v2', numSamples: 3 });
    const d = await store.db();
    expect(await d.getAllKeysFromIndex('outputSets', 'byDataset', 'ds-v2')).toEqual([id]);
    expect(await d.countFromIndex('outputSamples', 'bySet', id)).toBe(3);
    expect((await outputStore.outputSampleInfos(id)).map((s) => [s.index, s.id, s.outFrames])).toEqual(rows.map((r, k) => [k, r.id, r.outFrames]));
    const back = await outputStore.getOutputSamples(id, [2, 0]);
    expect(back.map((s) => s.id)).toEqual([rows[2].id, rows[0].id]);
    expect(new Float32Array(back[0].logProbs)).toEqual(new Float32Array(rows[2].logProbs));
    expect(await oldRecordsNow()).toEqual(asVersion2Held);
  });

  it('datasets and samples (float32 without encoding, float16), through every reader', async () => {
    const list = await store.listDatasets();
    expect(list.map((d) => d.id)).toEqual(['ds-v1', 'ds-v2']);
    for (const id of ['ds-v1', 'ds-v2']) {
      const meta = await store.getDataset(id);
      expect(meta.featureDim).toBe(F);
      const all = await store.loadSamples(id);
      expect(all).toHaveLength(demo.samples.length);
      expect(all.every((s) => s.encoding === undefined && new Float32Array(s.features).length === s.frames * F)).toBe(true);
      const [one] = await store.getSamples(id, [3]);
      const want = new Float32Array(demo.samples[3].features);
      new Float32Array(one.features).forEach((x, k) => expect(Math.abs(x - want[k])).toBeLessThanOrEqual(Math.abs(want[k]) * 2 ** -10 + 1e-7));
      expect((await store.sampleInfos(id)).map((s) => s.id)).toEqual(demo.samples.map((s) => s.id));
      const src = await store.datasetSource(id);
      expect((await src.load([0, 11])).map((s) => s.id)).toEqual([demo.samples[0].id, demo.samples[11].id]);
    }
  });

  it('checkpoints of every kind list, read and decode through today’s schema (old fields mapped, new ones defaulted)', async () => {
    expect((await store.listCheckpoints('ds-v1')).map((c) => [c.id, c.kind])).toEqual([['ck-v1', 'overfit']]);
    expect((await store.listCheckpoints('ds-v2')).map((c) => c.kind).sort()).toEqual(['best', 'last', 'overfit']);
    const v1 = decodeCheckpoint((await store.getCheckpoint('ck-v1')).bytes, 'v1');
    expect(v1.meta.training.config).toMatchObject({ mode: 'overfit', preset: 'tcn', channels: 8, hidden: 128, heads: 4 });
    expect(v1.meta.history.map((h) => h.loss)).toEqual([3, 2, 1]);
    const last = decodeCheckpoint((await store.getCheckpoint('run-v2-last')).bytes, 'last');
    expect(last.meta.training.state.earlyStopping).toEqual({ best: 0.9, bestEpoch: 1, counter: 1 });
    expect(last.meta.training.config).toMatchObject({ mode: 'train', hidden: TRAIN_DEFAULTS.hidden, heads: TRAIN_DEFAULTS.heads, channels: 8 });
    expect(last.meta.history[0].trainLoss).toBeNull();
    expect(decodeCheckpoint((await store.getCheckpoint('run-v2-best')).bytes, 'best').meta.training.state.epoch).toBe(2);
    expect((await store.getCheckpoint('ck-v2')).overfit?.epochs).toBe(3);
  });

  it('run records read through the run-record schema (NaN read as null, missing config fields defaulted)', async () => {
    const [raw] = await store.listRuns('ds-v2');
    expect(raw.history[0].trainLoss).toBeNaN(); // IndexedDB kept it
    const run = parseRunRecord(raw);
    expect(run.history[0].trainLoss).toBeNull();
    expect(run.config).toMatchObject({ hidden: TRAIN_DEFAULTS.hidden, heads: TRAIN_DEFAULTS.heads, epochs: 4 });
    expect(await store.getRun('run-v2')).toMatchObject({ lastCheckpointId: 'run-v2-last' });
  });

  it('the old run resumes from its old checkpoint and trains on', async () => {
    const run = parseRunRecord(await store.getRun('run-v2'));
    const { meta: ck, tensors } = decodeCheckpoint((await store.getCheckpoint(run.lastCheckpointId!)).bytes, 'last');
    const t = new Trainer(
      await store.getDataset('ds-v2'),
      await store.datasetSource('ds-v2'),
      { ...(run.config as unknown as typeof TRAIN_DEFAULTS), epochs: 3 },
      { state: resumeStateFrom(ck), tensors },
    );
    expect(t.state).toMatchObject({ epoch: 2, step: 4 });
    await t.run();
    expect(t.state.epoch).toBe(3);
    expect(t.state.history).toHaveLength(3);
    t.dispose();
  }, 60_000);

  it('writes and deletes work on the upgraded database', async () => {
    const run = parseRunRecord(await store.getRun('run-v2'));
    await store.saveRunProgress({ ...run, status: 'finished' }, []);
    expect((await store.getRun('run-v2')).status).toBe('finished');
    await store.deleteDataset('ds-v1');
    expect(await store.loadSamples('ds-v1')).toEqual([]);
    expect(await store.listCheckpoints('ds-v1')).toEqual([]);
    expect((await store.listDatasets()).map((d) => d.id)).toEqual(['ds-v2']);
  });
});
