// A run with EMA and averageBest in the worker (fake-indexeddb, cpu backend): it ends with its
// "averaged" checkpoint stored and recorded on the run, listed as a teacher, decodable with the
// epochs it averages; deleting the run deletes it.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../data/demo';
import * as store from '../data/store';
import { decodeCheckpoint } from '../engine/checkpoint/checkpoint';
import type { TrainConfig } from '../engine/train/config';
import { distill } from './distill';
import { training } from './training';

beforeAll(async () => {
  vi.stubGlobal('navigator', {});
  await tf.setBackend('cpu');
});
afterAll(() => {
  vi.unstubAllGlobals();
});

const cfg: Partial<TrainConfig> = {
  preset: 'tcn',
  channels: 8,
  layers: 1,
  epochs: 3,
  batchSize: 8,
  accumulationSteps: 1,
  warmupEpochs: 0,
  patience: 0,
  maxTrainSamples: 16,
  checkpointMinutes: 0,
  emaDecay: 0.5,
  averageBest: 2,
};

describe('the averaged checkpoint in the worker', () => {
  it('is written when the run ends, recorded on the run, offered as a teacher, and deleted with the run', async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 4, numSamples: 30 }));
    const { run } = await training.startTraining(ds.id, cfg, () => {});
    expect(run.status).toBe('finished');
    expect(run.averagedCheckpointId).toBe(`${run.id}-averaged`);
    expect(run.averaged!.epochs).toHaveLength(2);
    expect(run.reason).toMatch(/^finished 3 epochs; averaged the 2 best epochs \(\d, \d\)/);
    const { runs } = await training.listRuns(ds.id);
    expect(runs[0].averaged).toEqual(run.averaged);
    const rec = await store.getCheckpoint(run.averagedCheckpointId!);
    expect(rec.kind).toBe('averaged');
    expect(rec.fileName).toMatch(new RegExp(`-${run.id}-averaged-epoch3\\.safetensors$`));
    const ck = decodeCheckpoint(rec.bytes, rec.fileName);
    expect(ck.meta.averaged).toEqual(run.averaged);
    const teachers = await distill.listTeachers(ds.id);
    expect(teachers.find((t) => t.id === run.averagedCheckpointId)).toMatchObject({ kind: 'checkpoint', problem: null, preset: 'tcn' });
    await store.deleteRun(run.id);
    expect((await store.listCheckpoints(ds.id)).map((c) => c.id)).toEqual([]);
  }, 60_000);
});
