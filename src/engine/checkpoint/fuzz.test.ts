// Property-based fuzzing of the checkpoint path a user's upload takes: the safetensors reader, the
// header's JSON and the ctc_lab metadata's schema, the tensors against the model. Thousands of
// mutated valid checkpoints per run; each decodes to a valid checkpoint or throws an Error naming
// the file. The seed is printed; FUZZ_SEED=<n> replays a run.

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { byteMutations, expectNamedError, fuzzSeed, jsonMutations, mutateBytes, mutateJson } from '../../lib/fuzz';
import { createModel, modelConfig } from '../model/registry';
import { Adam } from '../optim/adam';
import { Sgd } from '../optim/sgd';
import { TRAIN_DEFAULTS, type TrainConfig } from '../train/config';
import { checkpointMeta, decodeCheckpoint, encodeCheckpoint, type DecodedCheckpoint } from './checkpoint';
import { readSafetensors, writeSafetensors } from './safetensors';

const FILE = 'fuzzed run.safetensors';
const bases: Uint8Array[] = [];

beforeAll(async () => {
  await tf.setBackend('cpu');
  const vocab = ['a', 'b', 'c', 'd'];
  const F = 3;
  const configs: TrainConfig[] = [
    { ...TRAIN_DEFAULTS, preset: 'tcn', channels: 4, layers: 2, optimizer: 'adam' },
    { ...TRAIN_DEFAULTS, preset: 'tconv-bilstm', channels: 4, layers: 1, hidden: 3, optimizer: 'sgd' },
    { ...TRAIN_DEFAULTS, preset: 'transformer', channels: 4, layers: 1, heads: 2, optimizer: 'adamw' },
  ];
  for (const cfg of configs) {
    const model = createModel(modelConfig(cfg, F, vocab.length + 1), 1);
    const opt = cfg.optimizer === 'sgd' ? new Sgd(model.params, { lr: 0.1, momentum: 0.9, weightDecay: 0 }) : new Adam(model.params);
    const meta = checkpointMeta({
      model: { ...model.config },
      subsampling: model.subsampling,
      vocab,
      normalisation: { mean: [0.5, -1, 2], std: [1, 0.5, 3] },
      training: {
        config: { mode: 'train', ...cfg },
        state: {
          epoch: 2,
          step: 10,
          seed: 1,
          earlyStopping: { best: 0.5, bestEpoch: 1, counter: 1 },
          position: { epoch: 3, batch: 2, shuffleSeed: 100006, lossSum: 3.5, lossCount: 2, normSum: 1.5, skipped: 0, seconds: 0.25 },
        },
      },
      history: [
        { epoch: 1, trainLoss: 3.1, valLoss: 2.9, valWer: 1, lr: 1e-4, seconds: 1 },
        { epoch: 2, trainLoss: 2.1, valLoss: null, valWer: null, lr: 2e-4, seconds: 1 },
      ],
      dataset: { id: 'ds-1', name: 'demo' },
    });
    bases.push(await encodeCheckpoint(new Map([...model.params, ...opt.slots]), meta));
    model.dispose();
    opt.dispose();
  }
});

/** A decoded checkpoint is usable as it is: every value the page or the trainer reads has its type. */
function expectValid(d: DecodedCheckpoint) {
  for (const row of d.meta.history) for (const v of Object.values(row)) expect(v === null || Number.isFinite(v)).toBe(true);
  for (const t of Object.values(d.tensors)) {
    expect(t.data).toBeInstanceOf(Float32Array);
    expect(t.data.length).toBe(t.shape.reduce((a, b) => a * b, 1));
  }
  expect(d.meta.vocab.length + 1).toBe(d.meta.model.numClasses);
  expect(typeof JSON.stringify(d.meta)).toBe('string');
}

function decodesOrNames(bytes: Uint8Array) {
  let d: DecodedCheckpoint;
  try {
    d = decodeCheckpoint(bytes, FILE);
  } catch (e) {
    expectNamedError(e, FILE);
    return;
  }
  expectValid(d);
}

const headerLength = (b: Uint8Array) => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(0, true));

describe('fuzz: checkpoint upload (safetensors + metadata schema + tensors)', () => {
  it('the unmutated bases decode', () => {
    for (const b of bases) expectValid(decodeCheckpoint(b, FILE));
  });

  it('bit flips, truncations, length fields, inserted and deleted bytes', () => {
    const seed = fuzzSeed('checkpoint bytes');
    fc.assert(
      fc.property(fc.nat({ max: bases.length - 1 }), byteMutations([0, 4, 7, 8]), (k, ms) => decodesOrNames(mutateBytes(bases[k], ms))),
      { seed, numRuns: 2000 },
    );
  });

  it('JSON type swaps in the safetensors header (tensor entries, __metadata__)', () => {
    const seed = fuzzSeed('checkpoint header JSON');
    fc.assert(
      fc.property(fc.nat({ max: bases.length - 1 }), jsonMutations(), (k, ms) => {
        const b = bases[k];
        const n = headerLength(b);
        const header = new TextEncoder().encode(mutateJson(new TextDecoder().decode(b.subarray(8, 8 + n)), ms));
        const out = new Uint8Array(8 + header.length + b.length - 8 - n);
        new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
        out.set(header, 8);
        out.set(b.subarray(8 + n), 8 + header.length);
        decodesOrNames(out);
      }),
      { seed, numRuns: 1500 },
    );
  });

  it('JSON type swaps, deleted and added keys in __metadata__.ctc_lab (the schema)', () => {
    const seed = fuzzSeed('checkpoint metadata schema');
    const parsed = bases.map((b) => readSafetensors(b));
    fc.assert(
      fc.property(fc.nat({ max: bases.length - 1 }), jsonMutations(), (k, ms) => {
        const { tensors, metadata } = parsed[k];
        decodesOrNames(writeSafetensors(tensors, { ...metadata, ctc_lab: mutateJson(metadata.ctc_lab, ms) }));
      }),
      { seed, numRuns: 2500 },
    );
  });
});
