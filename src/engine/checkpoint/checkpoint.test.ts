import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../../data/demo';
import type { DatasetMeta } from '../../data/types';
import { encodeFloat16 } from '../../data/float16';
import { Trainer } from '../train/trainer';
import { TRAIN_DEFAULTS, type TrainConfig } from '../train/config';
import { createModel, modelConfig } from '../model/registry';
import { Adam } from '../optim/adam';
import { checkpointMeta, decodeCheckpoint, encodeCheckpoint } from './checkpoint';
import { readSafetensors, writeSafetensors, type StTensor } from './safetensors';
import { parseRunRecord, trainConfigSchema } from './schema';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const small: TrainConfig = { ...TRAIN_DEFAULTS, channels: 8, layers: 1, batchSize: 8, accumulationSteps: 1, epochs: 1, maxTrainSamples: 8, evalEvery: 1 };

/** A real checkpoint: one epoch of the trainer on the demo dataset. */
async function trained(cfg: Partial<TrainConfig> = {}): Promise<Uint8Array> {
  const p = generateDemo({ seed: 1, numSamples: 24 });
  const meta: DatasetMeta = { ...p.meta, id: 'ds', createdAt: 0 };
  const t = new Trainer(
    meta,
    p.samples.map((s, index) => ({ ...s, datasetId: 'ds', index })),
    { ...small, ...cfg },
  );
  await t.run();
  const bytes = await t.checkpoint('demo');
  t.dispose();
  return bytes;
}

/** An overfit-test checkpoint as the worker writes it (mode 'overfit', Adam, rows {epoch, loss, wer, seconds}). */
async function overfitCheckpoint(): Promise<Uint8Array> {
  const vocab = ['a', 'b', 'c'];
  const config = modelConfig({ preset: 'transformer', channels: 8, layers: 1, hidden: 4, heads: 2, dropout: 0 }, 3, vocab.length + 1);
  const model = createModel(config, 1);
  const adam = new Adam(model.params, { lr: 3e-3 });
  const meta = checkpointMeta({
    model: { ...model.config },
    subsampling: model.subsampling,
    vocab,
    normalisation: { mean: [0, 0, 0], std: [1, 1, 1] },
    training: {
      config: {
        mode: 'overfit',
        numSamples: 5,
        maxEpochs: 2000,
        seed: 1,
        preset: 'transformer',
        channels: 8,
        layers: 1,
        hidden: 4,
        heads: 2,
        optimizer: 'adam',
        ...adam.config,
      },
      state: { epoch: 2, step: 2, seed: 1 },
    },
    history: [
      { epoch: 1, loss: 3.2, wer: 1, seconds: 0.1 },
      { epoch: 2, loss: 2.9, wer: 1, seconds: 0.2 },
    ],
    dataset: { id: 'ds', name: 'demo' },
  });
  const bytes = await encodeCheckpoint(new Map([...model.params, ...adam.slots]), meta);
  model.dispose();
  adam.dispose();
  return bytes;
}

/** Rewrites a checkpoint's metadata (as parsed JSON) and/or its tensors. */
// Tampering reaches into arbitrary nested fields of parsed JSON, whatever their declared types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function tamper(
  bytes: Uint8Array,
  edit: { meta?: (m: Json) => void; tensors?: (t: Record<string, StTensor>) => void; header?: (h: Json) => void },
): Uint8Array {
  const { tensors, metadata } = readSafetensors(bytes);
  const meta = JSON.parse(metadata.ctc_lab);
  edit.meta?.(meta);
  const ts = { ...tensors };
  edit.tensors?.(ts);
  const out = writeSafetensors(ts, { ...metadata, ctc_lab: JSON.stringify(meta) });
  if (!edit.header) return out;
  const n = Number(new DataView(out.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(out.subarray(8, 8 + n)));
  edit.header(header);
  const hb = new TextEncoder().encode(JSON.stringify(header));
  const res = new Uint8Array(8 + hb.length + out.length - 8 - n);
  new DataView(res.buffer).setBigUint64(0, BigInt(hb.length), true);
  res.set(hb, 8);
  res.set(out.subarray(8 + n), 8 + hb.length);
  return res;
}

describe('checkpoint validation', () => {
  let good: Uint8Array;
  beforeAll(async () => {
    good = await trained();
  }, 60_000);

  it('accepts what the trainer and the overfit test write, every tensor as F32', async () => {
    const a = decodeCheckpoint(good, 'run.safetensors');
    expect(a.meta.training.config).toMatchObject({ mode: 'train', channels: 8, optimizer: 'adam' });
    expect(a.meta.history).toHaveLength(1);
    expect(Object.keys(a.tensors).filter((k) => k.startsWith('model.'))).toHaveLength(6);
    expect(Object.keys(a.tensors).filter((k) => k.startsWith('optim.'))).toHaveLength(12);
    const b = decodeCheckpoint(await overfitCheckpoint(), 'overfit.safetensors');
    expect(b.meta.training.config).toMatchObject({ mode: 'overfit', preset: 'transformer', beta1: 0.9 });
    expect(b.meta.model).toMatchObject({ preset: 'transformer', heads: 2 });
    expect(Object.values(b.tensors).every((t) => t.data instanceof Float32Array)).toBe(true);
  });

  it('an older file without the fields added since (preset, hidden, heads, maxTrainSamples) takes today’s defaults', () => {
    const old = tamper(good, { meta: (m) => ['preset', 'hidden', 'heads', 'maxTrainSamples'].forEach((k) => delete m.training.config[k]) });
    const cfg = decodeCheckpoint(old, 'old.safetensors').meta.training.config;
    expect(cfg).toMatchObject({ mode: 'train', preset: 'tcn', hidden: TRAIN_DEFAULTS.hidden, heads: TRAIN_DEFAULTS.heads, maxTrainSamples: 0 });
  });

  it('widens F16 and rounds F64 tensors to F32', () => {
    const name = 'model.head.bias';
    const orig = readSafetensors(good).tensors[name].data as Float32Array;
    const f16 = tamper(good, {
      tensors: (t) => void (t[name] = { dtype: 'F16', shape: t[name].shape, data: encodeFloat16(Float32Array.from([0.5, -2, 0.25, ...orig.slice(3)])) }),
    });
    expect(Array.from(decodeCheckpoint(f16, 'h.safetensors').tensors[name].data.slice(0, 3))).toEqual([0.5, -2, 0.25]);
    const f64 = tamper(good, { tensors: (t) => void (t[name] = { dtype: 'F64', shape: t[name].shape, data: Float64Array.from(orig) }) });
    expect(decodeCheckpoint(f64, 'd.safetensors').tensors[name].data).toEqual(orig);
  });

  // The three files first, then one refusal per kind of field; each names file, field and what was expected.
  const refused: Array<[string, Parameters<typeof tamper>[1], string]> = [
    [
      'history[i].trainLoss as a string (broke the runs table)',
      { meta: (m) => (m.history[0].trainLoss = '0.5') },
      'x.safetensors: __metadata__.ctc_lab → history[0].trainLoss: expected a number or null, got "0.5"',
    ],
    [
      'a tensor entry null',
      { header: (h) => (h['model.head.weight'] = null) },
      'x.safetensors: tensor model.head.weight: expected {dtype, shape, data_offsets}, got null',
    ],
    [
      'a model width of 1e9',
      { meta: (m) => (m.model.channels = 1e9) },
      'x.safetensors: __metadata__.ctc_lab → model.channels: expected an integer from 1 to 4096, got 1000000000',
    ],
    ['no format', { meta: (m) => delete m.format }, "x.safetensors: checkpoint format missing, expected 'ctc-lab/1'"],
    ['another format', { meta: (m) => (m.format = 'ctc-lab/9') }, `x.safetensors: checkpoint format "ctc-lab/9", expected 'ctc-lab/1'`],
    [
      'unknown preset',
      { meta: (m) => (m.model.preset = 'rnn') },
      'x.safetensors: __metadata__.ctc_lab → model.preset: expected a model config with preset tcn, tconv-bilstm or transformer, got "rnn"',
    ],
    ['even tcn kernel', { meta: (m) => (m.model.kernel = 4) }, 'model.kernel: expected an odd kernel size from 1 to 31, got 4'],
    ['dropout 1', { meta: (m) => (m.model.dropout = 1) }, 'model.dropout: expected a number from 0 to below 1, got 1'],
    ['missing vocabulary', { meta: (m) => delete m.vocab }, 'x.safetensors: __metadata__.ctc_lab → vocab is missing'],
    ['a token with a space', { meta: (m) => (m.vocab[1] = 'a b') }, 'vocab[1]: expected a non-empty token without whitespace, got "a b"'],
    ['a duplicate token', { meta: (m) => (m.vocab[1] = m.vocab[0]) }, 'vocab[1]: expected unique tokens'],
    ['classes ≠ vocabulary + 1', { meta: (m) => m.vocab.pop() }, 'model.numClasses: expected'],
    ['normalisation of another dim', { meta: (m) => m.normalisation.std.pop() }, 'normalisation.std: expected 12 values (model.featureDim), got 11'],
    ['a negative std', { meta: (m) => (m.normalisation.std[2] = -1) }, 'normalisation.std[2]: expected a number ≥ 0, got -1'],
    ['subsampling of another preset', { meta: (m) => (m.subsampling = 4) }, 'subsampling: expected 2 for preset tcn, got 4'],
    ['optimizer unknown', { meta: (m) => (m.training.config.optimizer = 'lion') }, 'training.config.optimizer: expected one of adam, adamw, sgd, got "lion"'],
    ['lr a string', { meta: (m) => (m.training.config.lr = '1e-3') }, 'training.config.lr: expected a number from 0 to 10, got "1e-3"'],
    ['no mode', { meta: (m) => delete m.training.config.mode }, "training.config.mode is missing (expected a training config with mode 'train' or 'overfit')"],
    ['negative step', { meta: (m) => (m.training.state.step = -1) }, 'training.state.step: expected an integer from 0 to 1000000000000, got -1'],
    [
      'early-stopping best a string',
      { meta: (m) => (m.training.state.earlyStopping = { best: 'x', bestEpoch: 0, counter: 0 }) },
      'training.state.earlyStopping.best',
    ],
    ['history row not an object', { meta: (m) => (m.history[0] = 5) }, 'history[0]: expected a history row {epoch, metric: number | null, …}, got 5'],
    ['history beyond the state', { meta: (m) => (m.history[0].epoch = 7) }, 'history[0].epoch: expected at most training.state.epoch (1), got 7'],
    ['dataset name a number', { meta: (m) => (m.dataset.name = 3) }, 'dataset.name: expected a string, got 3'],
    [
      'config preset ≠ model preset',
      { meta: (m) => (m.training.config.preset = 'transformer') },
      "training.config.preset: expected 'tcn' (model.preset), got 'transformer'",
    ],
    [
      'mid-epoch position for another epoch',
      { meta: (m) => (m.training.state.position = { epoch: 5, batch: 1, shuffleSeed: 1, lossSum: 1, lossCount: 1, normSum: 1, skipped: 0, seconds: 1 }) },
      'training.state.position.epoch: expected 2',
    ],
    [
      'a tensor missing',
      { tensors: (t) => delete t['optim.v.model.head.bias'] },
      'x.safetensors: tensor optim.v.model.head.bias is missing (a tcn model with this config and the adam optimizer has it)',
    ],
    [
      'an extra tensor',
      { tensors: (t) => (t['model.extra'] = { dtype: 'F32', shape: [1], data: new Float32Array(1) }) },
      'x.safetensors: tensor model.extra is not part of a tcn model with this config and the adam optimizer',
    ],
    [
      'a tensor of another shape',
      { tensors: (t) => (t['model.head.bias'] = { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) }) },
      'x.safetensors: tensor model.head.bias has shape [2,3], the model its config builds needs [',
    ],
    [
      'an integer tensor',
      { tensors: (t) => (t['model.head.bias'] = { ...t['model.head.bias'], dtype: 'I32', data: new Int32Array(t['model.head.bias'].data.length) }) },
      'x.safetensors: tensor model.head.bias is I32, expected floating point',
    ],
    [
      'channels the tensors do not have',
      { meta: (m) => (m.model.channels = 16) },
      'x.safetensors: tensor model.subsample.weight has shape [3,12,8], the model its config builds needs [3,12,16]',
    ],
  ];
  for (const [what, edit, message] of refused) {
    it(`refuses ${what}`, () => {
      expect(() => decodeCheckpoint(tamper(good, edit), 'x.safetensors')).toThrow(message);
    });
  }

  it('the metadata not JSON, or JSON but not an object', () => {
    const { tensors } = readSafetensors(good);
    expect(() => decodeCheckpoint(writeSafetensors(tensors, { ctc_lab: '{"format":' }), 'x.safetensors')).toThrow(
      'x.safetensors: __metadata__.ctc_lab is not valid JSON',
    );
    expect(() => decodeCheckpoint(writeSafetensors(tensors, { ctc_lab: '[1]' }), 'x.safetensors')).toThrow(
      'x.safetensors: __metadata__.ctc_lab → format is missing',
    );
    expect(() => decodeCheckpoint(writeSafetensors(tensors, {}), 'x.safetensors')).toThrow('x.safetensors: no __metadata__.ctc_lab');
  });
});

describe('training config schema', () => {
  it('has exactly TrainConfig’s fields (a field added to one and not the other fails here)', () => {
    expect(Object.keys(trainConfigSchema.entries).sort()).toEqual(Object.keys(TRAIN_DEFAULTS).sort());
  });
});

describe('run record schema (records read from IndexedDB)', () => {
  const rec = {
    id: 'run-1',
    datasetId: 'ds',
    datasetName: 'demo',
    createdAt: 1,
    updatedAt: 2,
    config: { ...TRAIN_DEFAULTS, mode: 'train' },
    status: 'finished',
    reason: 'finished 2 epochs',
    history: [{ epoch: 1, trainLoss: NaN, valWer: null, lr: 1e-3 }],
    bestCheckpointId: null,
    lastCheckpointId: 'run-1-last',
  };
  it('reads a good record; NaN (IndexedDB keeps it) reads as null; extra config fields are dropped', () => {
    const r = parseRunRecord(rec);
    expect(r.history[0]).toEqual({ epoch: 1, trainLoss: null, valWer: null, lr: 1e-3 });
    expect(r.config).toEqual(TRAIN_DEFAULTS);
  });
  it('refuses a damaged one, naming the record and the field', () => {
    expect(() => parseRunRecord({ ...rec, history: [{ epoch: 1, trainLoss: '0.5' }] })).toThrow(
      'run record run-1: history[0].trainLoss: expected a number or null, got "0.5"',
    );
    expect(() => parseRunRecord({ ...rec, status: 'exploded' })).toThrow('run record run-1: status: expected one of running, paused');
    expect(() => parseRunRecord(null)).toThrow('run record ?: the value: expected a run record, got null');
  });
});
