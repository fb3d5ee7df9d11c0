// A run with EMA and averageBest in the worker (fake-indexeddb, cpu backend): it ends with its
// "averaged" checkpoint stored and recorded on the run, listed as a teacher, decodable with the
// epochs it averages; deleting the run deletes it. A run stopped and resumed averages the same sets
// as one that was not (the kept sets are stored with each epoch's checkpoint).
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../data/demo';
import * as store from '../data/store';
import { decodeCheckpoint } from '../engine/checkpoint/checkpoint';
import type { TrainConfig } from '../engine/train/config';
import { readSafetensors } from '../engine/checkpoint/safetensors';
import { distill } from './distill';
import { stop } from './jobs';
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

  it('a run stopped after epoch 2 and resumed averages the same epochs into the same weights as an uninterrupted one', async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 5, numSamples: 30 }));
    const long: Partial<TrainConfig> = { ...cfg, epochs: 5, averageBest: 3, emaDecay: 0 };
    const whole = (await training.startTraining(ds.id, long, () => {})).run;
    let runId = '';
    const cut = await training.startTraining(ds.id, long, (e) => {
      if (e.type === 'start') runId = e.run.id;
      if (e.type === 'epoch' && e.metrics.epoch === 2) stop();
    });
    expect(cut.run.status).toBe('stopped');
    // While the run is paused between epochs its kept sets are stored (one record per slot), and not listed.
    const stored = await store.getRun(runId);
    expect(stored.kept?.map((k) => k.epoch).sort()).toEqual([1, 2]);
    for (const k of stored.kept!) expect((await store.getCheckpoint(`${runId}-kept-${k.slot}`)).kind).toBe('kept');
    expect((await store.listCheckpoints(ds.id)).some((c) => c.kind === 'kept')).toBe(false);
    const resumed = (await training.resumeRun(runId, () => {})).run;
    expect(resumed.status).toBe('finished');
    expect(resumed.averaged!.epochs).toEqual(whole.averaged!.epochs);
    expect(resumed.averaged!.epochs).toHaveLength(3);
    const a = readSafetensors((await store.getCheckpoint(whole.averagedCheckpointId!)).bytes).tensors;
    const b = readSafetensors((await store.getCheckpoint(resumed.averagedCheckpointId!)).bytes).tensors;
    const names = Object.keys(a).filter((n) => n.startsWith('model.'));
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(Array.from(b[n].data), n).toEqual(Array.from(a[n].data));
    // The average is stored: the kept sets' records are gone, and the run no longer lists them.
    expect((await store.getRun(runId)).kept).toBeUndefined();
    for (const k of stored.kept!) await expect(store.getCheckpoint(`${runId}-kept-${k.slot}`)).rejects.toThrow(/not stored/);
  }, 120_000);
});
