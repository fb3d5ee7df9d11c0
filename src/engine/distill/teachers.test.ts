// The teachers a dataset offers, over IndexedDB (fake-indexeddb, cpu backend): its checkpoints and
// attached output sets are listed with what they are or why they cannot teach; an output set whose
// classes and samples are in another order than the dataset's teaches exactly as the model whose
// log-probs it holds. Checkpoints are listed from their headers alone: no tensor is read (the
// safetensors module's readTensor is watched), with the verdicts a full decode gives.
import 'fake-indexeddb/auto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../../data/demo';
import { makeBatch } from '../../data/batch';
import { storedReads } from '../../data/reads';
import * as store from '../../data/store';
import * as outputStore from '../../data/store_outputs';
import type { DatasetMeta, OutputSetMeta } from '../../data/types';
import { checkpointForDataset } from '../checkpoint/fit';
import { readSafetensors, readTensor, writeSafetensors } from '../checkpoint/safetensors';
import { createModel, modelConfig } from '../model/registry';
import { batchTensors, disposeBatchTensors } from '../train/batch_tensors';
import { TRAIN_DEFAULTS, type TrainConfig } from '../train/config';
import { Trainer, type StepMetrics } from '../train/trainer';
import { DISTILL_DEFAULTS } from './settings';
import { studentTrainer } from './student';
import { modelTeacher } from './teacher';
import { teacherChoices, teacherFor } from './teachers';

// readTensor (the one place a tensor's bytes are read) as a spy that still reads.
vi.mock('../checkpoint/safetensors', async (importOriginal) => {
  const m = await importOriginal<typeof import('../checkpoint/safetensors')>();
  return { ...m, readTensor: vi.fn(m.readTensor) };
});

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const cfg: TrainConfig = {
  ...TRAIN_DEFAULTS,
  channels: 16,
  layers: 2,
  dropout: 0.1,
  batchSize: 8,
  accumulationSteps: 1,
  epochs: 1,
  lr: 2e-3,
  warmupEpochs: 0,
  patience: 0,
  maxTrainSamples: 24,
};

/** Stores an output set holding `model`'s log-probs of every sample of `ds`: classes reversed with the blank last, samples in reverse order. */
async function outputSetOf(ds: DatasetMeta, model: ReturnType<typeof createModel>, edit: (m: OutputSetMeta) => void = () => {}): Promise<OutputSetMeta> {
  const samples = await store.loadSamples(ds.id);
  const V = ds.vocab.length + 1;
  const classes = [...[...ds.vocab].reverse(), '<blank>']; // set class of lab class c: c = 0 → V - 1, c = i + 1 → V - 2 - i
  const setClass = (c: number) => (c === 0 ? V - 1 : V - 2 - (c - 1));
  const id = store.newId('out');
  const rows = [];
  for (const s of samples) {
    const t = batchTensors(model, makeBatch([s], ds));
    const lpT = tf.tidy(() => tf.logSoftmax(model.apply(t, false)));
    const lp = (await lpT.data()) as Float32Array;
    tf.dispose(lpT);
    disposeBatchTensors(t);
    const T = lp.length / V;
    const out = new Float32Array(T * V);
    for (let f = 0; f < T; f++) for (let c = 0; c < V; c++) out[f * V + setClass(c)] = lp[f * V + c];
    rows.push({ id: s.id, text: s.text, split: s.split, frames: s.frames, outFrames: T, logProbs: out.buffer });
  }
  rows.reverse();
  await outputStore.stageOutputSamples(id, 0, rows);
  const meta: OutputSetMeta = {
    id,
    name: 'torch teacher',
    source: 'import',
    createdAt: 0,
    numSamples: rows.length,
    counts: { train: 0, val: 0, test: 0, none: 0 },
    classes,
    blank: V - 1,
    kind: { declared: 'log_probs', detected: { log_probs: rows.length, logits: 0, probs: 0 }, lseMin: 0, lseMax: 0 },
    subsampling: 2,
    subsamplingSource: 'outputs.json',
    frameShiftMs: null,
    model: 'test',
    outFrames: { min: 0, mean: 0, max: 0 },
    bytes: 0,
    datasetId: ds.id,
    datasetName: ds.name,
    nonFinite: [],
  };
  edit(meta);
  return outputStore.commitOutputSet(meta);
}

describe('teachers of a dataset', () => {
  let ds: DatasetMeta;
  let teacherModel: ReturnType<typeof createModel>;
  beforeAll(async () => {
    ds = await store.saveDataset(generateDemo());
    teacherModel = createModel(modelConfig({ ...cfg, channels: 12 }, ds.featureDim, ds.vocab.length + 1), 4);
  });

  it('an output set in another class and sample order teaches exactly as the model it came from', async () => {
    const set = await outputSetOf(ds, teacherModel);
    const fromModel: StepMetrics[] = [],
      fromSet: StepMetrics[] = [];
    const a = new Trainer(ds, await store.datasetSource(ds.id), cfg, undefined, {
      teacher: modelTeacher(teacherModel, { kind: 'checkpoint', id: 'm', name: 'm' }, false),
      settings: DISTILL_DEFAULTS,
    });
    await a.run({ onStep: (s) => void fromModel.push(s) });
    const evA = await a.evaluate();
    a.dispose();
    const b = await studentTrainer(
      ds,
      await store.datasetSource(ds.id),
      cfg,
      undefined,
      {
        teacher: { kind: 'outputs', id: set.id },
        settings: DISTILL_DEFAULTS,
      },
      storedReads,
    );
    expect(b.distillRecord()!.teacher).toEqual({ kind: 'outputs', id: set.id, name: 'torch teacher', subsampling: 2 });
    await b.run({ onStep: (s) => void fromSet.push(s) });
    const evB = await b.evaluate();
    b.dispose();
    expect(fromSet.length).toBe(fromModel.length);
    fromSet.forEach((s, i) => {
      expect(s.loss).toBeCloseTo(fromModel[i].loss, 4);
      expect(s.kd!).toBeCloseTo(fromModel[i].kd!, 4);
    });
    expect(evB!.teacherHyps).toEqual(evA!.teacherHyps);
  }, 120_000);

  it('lists the checkpoints and attached output sets, with why one cannot teach', async () => {
    const t = new Trainer(ds, await store.datasetSource(ds.id), { ...cfg, maxTrainSamples: 8 });
    await t.run();
    const ck = await store.saveCheckpoint({
      datasetId: ds.id,
      kind: 'last',
      runId: 'run-x',
      fileName: 'run-x-last.safetensors',
      bytes: (await t.checkpoint(ds.name)).slice().buffer as ArrayBuffer,
    });
    const params = t.model.paramCount();
    t.dispose();
    const missing = await outputSetOf(ds, teacherModel, (m) => (m.classes = m.classes.map((c) => (c === ds.vocab[0] ? 'SOMETHING-ELSE' : c))));
    const other = await store.saveDataset(generateDemo({ seed: 7, numSamples: 30 }));
    await outputSetOf(other, createModel(modelConfig(cfg, other.featureDim, other.vocab.length + 1), 1));
    const list = await teacherChoices(ds, storedReads);
    expect(list.find((x) => x.id === ck.id)).toMatchObject({
      kind: 'checkpoint',
      label: 'last of run-x · run-x-last.safetensors',
      preset: 'tcn',
      subsampling: 2,
      params,
      problem: null,
    });
    expect(list.find((x) => x.id === missing.id)).toMatchObject({
      kind: 'outputs',
      subsampling: 2,
      problem: `no class for 1 of the dataset's tokens (${ds.vocab[0]})`,
    });
    expect(list.filter((x) => x.kind === 'outputs').every((x) => x.label.startsWith('model outputs · torch teacher'))).toBe(true);
    expect(list.filter((x) => x.kind === 'outputs')).toHaveLength(2); // not the set of the other dataset
    await expect(teacherFor(ds, { kind: 'outputs', id: missing.id }, storedReads)).rejects.toThrow(
      `output set 'torch teacher' has no class for 1 of the dataset's tokens: ${ds.vocab[0]}`,
    );
  }, 120_000);

  it('lists checkpoints from their headers: garbage tensor bytes change nothing and no tensor is read; an unusable one with the reason a full decode gives', async () => {
    const t = new Trainer(ds, await store.datasetSource(ds.id), { ...cfg, maxTrainSamples: 8 });
    await t.run();
    const good = (await t.checkpoint(ds.name)).slice();
    const params = t.model.paramCount();
    t.dispose();
    // Every tensor byte replaced by 0xff (NaN as F32); the header (metadata, names, dtypes, shapes, offsets) untouched.
    const headerEnd = 8 + Number(new DataView(good.buffer).getBigUint64(0, true));
    const garbage = good.slice();
    garbage.fill(0xff, headerEnd);
    expect(garbage.length).toBeGreaterThan(headerEnd + 1000);
    /** The same file with its metadata edited. */
    const withMeta = (edit: (m: Record<string, unknown> & { model: Record<string, unknown>; vocab: string[] }) => void) => {
      const { tensors, metadata } = readSafetensors(good);
      const m = JSON.parse(metadata.ctc_lab);
      edit(m);
      return writeSafetensors(tensors, { ...metadata, ctc_lab: JSON.stringify(m) });
    };
    const files: [string, Uint8Array][] = [
      ['intact.safetensors', good],
      ['garbage-tensors.safetensors', garbage],
      ['other-vocab.safetensors', withMeta((m) => (m.vocab = [...m.vocab].reverse()))], // the fit rule refuses
      ['other-width.safetensors', withMeta((m) => (m.model.channels = 7))], // the tensors' shapes do not match the config
      ['not-a-checkpoint.safetensors', new Uint8Array(64).fill(9)],
    ];
    const ids = new Map<string, string>();
    for (const [fileName, bytes] of files) {
      const rec = await store.saveCheckpoint({ datasetId: ds.id, kind: 'best', runId: 'run-g', fileName, bytes: bytes.slice().buffer as ArrayBuffer });
      ids.set(fileName, rec.id);
    }
    vi.mocked(readTensor).mockClear();
    const list = await teacherChoices(ds, storedReads);
    expect(readTensor).not.toHaveBeenCalled();
    const intact = list.find((x) => x.id === ids.get('intact.safetensors'));
    expect(intact).toMatchObject({ kind: 'checkpoint', label: 'best of run-g · intact.safetensors', preset: 'tcn', subsampling: 2, params, problem: null });
    expect(list.find((x) => x.id === ids.get('garbage-tensors.safetensors'))).toEqual({
      ...intact,
      id: ids.get('garbage-tensors.safetensors'),
      label: 'best of run-g · garbage-tensors.safetensors',
    });
    // Each unusable one with exactly the refusal of the full decode and the one fit rule.
    for (const [fileName, bytes] of files.slice(2)) {
      let reason = '';
      try {
        checkpointForDataset(bytes, fileName, ds);
      } catch (e) {
        reason = (e as Error).message;
      }
      expect(reason.startsWith(`${fileName}: `)).toBe(true);
      expect(list.find((x) => x.id === ids.get(fileName))).toMatchObject({
        kind: 'checkpoint',
        preset: null,
        subsampling: null,
        params: null,
        problem: reason,
      });
    }
    // The spy sees a full decode (so its silence above means no tensor was read).
    checkpointForDataset(garbage, 'garbage-tensors.safetensors', ds);
    expect(vi.mocked(readTensor).mock.calls.length).toBeGreaterThan(0);
  }, 120_000);

  it('refuses an output set of another dataset, one with classes the vocabulary lacks, and one holding NaN/Inf', async () => {
    const other = await store.saveDataset(generateDemo({ seed: 8, numSamples: 30 }));
    const foreign = await outputSetOf(other, createModel(modelConfig(cfg, other.featureDim, other.vocab.length + 1), 1));
    await expect(teacherFor(ds, { kind: 'outputs', id: foreign.id }, storedReads)).rejects.toThrow(
      `output set 'torch teacher' is not attached to dataset '${ds.name}'`,
    );
    const extra = await outputSetOf(ds, teacherModel, (m) => (m.classes = [...m.classes, 'GOODBYE']));
    await expect(teacherFor(ds, { kind: 'outputs', id: extra.id }, storedReads)).rejects.toThrow(
      "output set 'torch teacher' has 1 classes that are not in the dataset's vocabulary (GOODBYE)",
    );
    const bad = await outputSetOf(ds, teacherModel, (m) => (m.nonFinite = [{ id: 'x1', values: 3, first: 'frame 2, class 4' }]));
    await expect(teacherFor(ds, { kind: 'outputs', id: bad.id }, storedReads)).rejects.toThrow(
      "output set 'torch teacher': 1 samples hold NaN/Inf outputs (first: x1, frame 2, class 4)",
    );
    // and through studentTrainer, the refusal names the teacher
    await expect(
      studentTrainer(
        ds,
        await store.datasetSource(ds.id),
        cfg,
        undefined,
        { teacher: { kind: 'outputs', id: bad.id }, settings: DISTILL_DEFAULTS },
        storedReads,
      ),
    ).rejects.toThrow(`the teacher (model outputs ${bad.id}) cannot be used: output set 'torch teacher'`);
  }, 120_000);
});
