// The training job in the worker (fake-indexeddb, cpu backend, no Web Locks): a run is started,
// saved with its last and best checkpoints, listed, resumed from its checkpoint, imported from a
// downloaded checkpoint, and a student run records and rebuilds its teacher from storage.
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../data/demo';
import * as store from '../data/store';
import { DISTILL_DEFAULTS } from '../engine/distill/settings';
import type { TrainConfig } from '../engine/train/config';
import type { TrainEvent } from './api';
import { training } from './training';

beforeAll(async () => {
  vi.stubGlobal('navigator', {}); // Node has none; a worker without Web Locks or WebGPU: the lock-free paths and the cpu backend
  await tf.setBackend('cpu');
});
afterAll(() => {
  vi.unstubAllGlobals();
});

const tiny: Partial<TrainConfig> = {
  preset: 'tcn',
  channels: 8,
  layers: 1,
  epochs: 1,
  batchSize: 8,
  accumulationSteps: 1,
  warmupEpochs: 0,
  patience: 0,
  maxTrainSamples: 16,
  checkpointMinutes: 0,
};

describe('the training job in the worker', () => {
  it('starts, saves, lists, resumes and imports a run; a student run keeps its teacher across a resume', async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 3, numSamples: 30 }));
    const events: TrainEvent['type'][] = [];
    const first = await training.startTraining(ds.id, tiny, (e) => void events.push(e.type));
    expect(first.run.status).toBe('finished');
    expect(first.run.history).toHaveLength(1);
    expect(events).toEqual(expect.arrayContaining(['start', 'epoch', 'saved']));
    const cks = await store.listCheckpoints(ds.id);
    expect(cks.map((c) => [c.id, c.fileName]).sort()).toEqual([
      [`${first.run.id}-best`, `ctc-lab-${ds.name.replace(/[^A-Za-z0-9_-]+/g, '_')}-${first.run.id}-best-epoch1.safetensors`],
      [`${first.run.id}-last`, `ctc-lab-${ds.name.replace(/[^A-Za-z0-9_-]+/g, '_')}-${first.run.id}-last-epoch1.safetensors`],
    ]);
    const { runs, damaged } = await training.listRuns(ds.id);
    expect(damaged).toEqual([]);
    expect(runs.map((r) => [r.id, r.status, r.lastCheckpointId, r.bestCheckpointId])).toEqual([
      [first.run.id, 'finished', `${first.run.id}-last`, `${first.run.id}-best`],
    ]);

    // Resumed from its last checkpoint with nothing left to train: the same history, finished again.
    const resumed = await training.resumeRun(first.run.id, () => {});
    expect(resumed.run.history).toEqual(first.run.history);

    // Imported from the downloaded file: a stopped run at epoch 1 with the checkpoint's history.
    const last = await store.getCheckpoint(`${first.run.id}-last`);
    const imported = await training.importCheckpoint(ds.id, new File([last.bytes], 'downloaded.safetensors'));
    expect(imported.status).toBe('stopped');
    expect(imported.reason).toBe('imported from downloaded.safetensors at epoch 1');
    expect(imported.history).toEqual(first.run.history);

    // A student of the first run's best checkpoint; resuming it rebuilds the teacher its checkpoint records.
    const student = await training.startTraining(ds.id, tiny, () => {}, {
      teacher: { kind: 'checkpoint', id: `${first.run.id}-best` },
      settings: DISTILL_DEFAULTS,
    });
    expect(student.run.status).toBe('finished');
    expect(student.run.distillation).toMatchObject({ ...DISTILL_DEFAULTS, teacher: { kind: 'checkpoint', id: `${first.run.id}-best` } });
    expect(student.run.history[0]).toHaveProperty('trainKd');
    const again = await training.resumeRun(student.run.id, () => {});
    expect(again.run.status).toBe('finished');
    expect(again.run.distillation?.teacher.id).toBe(`${first.run.id}-best`);
  }, 120_000);
});
