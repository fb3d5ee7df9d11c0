// The sweep job in the worker (fake-indexeddb, cpu backend, no Web Locks): trials are real training
// runs (worker/training.ts `trials`), judged after each epoch; a stop mid-sweep leaves the trial
// running and Resume continues its run from its checkpoint; the record lists every trial's run.
import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../data/demo';
import * as store from '../data/store';
import { parseSweepSpec } from '../engine/tune/sweep_spec';
import type { RunRecord } from '../data/types';
import type { TrialRunner } from './api';
import { stop } from './jobs';
import { sweeps } from './sweep';
import { trials } from './training';

beforeAll(async () => {
  vi.stubGlobal('navigator', {});
  await tf.setBackend('cpu');
});
afterAll(() => {
  vi.unstubAllGlobals();
});

const spec = parseSweepSpec({
  format: 'ctc-lab-sweep/1',
  base: {
    preset: 'tcn',
    channels: 8,
    layers: 1,
    batchSize: 8,
    accumulationSteps: 1,
    warmupEpochs: 0,
    patience: 0,
    maxTrainSamples: 8,
    checkpointMinutes: 0,
    lr: 0.003,
  },
  variations: [
    { name: 'lr ×⅓', changes: [{ setting: 'lr', scale: 1 / 3 }] },
    { name: 'channels 0.5', changes: [{ setting: 'channels', value: 4 }] },
  ],
  rungs: { minEpochs: 1, eta: 3, maxEpochs: 2 },
});

describe('the sweep job in the worker', () => {
  it('runs every trial as a run, stops and resumes mid-trial, and finishes with a verdict', async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 3, numSamples: 16 }));
    // The first trial is stopped by the user after its first epoch (the judge runs then).
    let stopOnce = true;
    const runner: TrialRunner = {
      start: (d, cfg, id, judge, on) =>
        trials.start(
          d,
          cfg,
          id,
          async (row) => {
            const r = await judge(row);
            if (stopOnce) {
              stopOnce = false;
              stop();
            }
            return r;
          },
          on,
        ),
      resume: trials.resume,
    };
    const api = sweeps(runner);
    const created = await api.createSweep(ds.id, 'fixes', spec, null);
    const updates: string[] = [];
    const stopped = await api.runSweep(created.id, (s) => void updates.push(s.status));
    expect(stopped.status).toBe('stopped');
    expect(stopped.trials[0].state).toBe('running');
    expect(stopped.trials[0].curve.map((c) => c.epoch)).toEqual([1]);
    expect((await store.getRun(stopped.trials[0].runId!)).status).toBe('stopped');

    const done = await api.runSweep(created.id, () => {});
    expect(done.status).toBe('finished');
    expect(done.trials[0].state).toBe('complete');
    expect(done.trials[0].curve.map((c) => c.epoch)).toEqual([1, 2]); // resumed from its epoch-1 checkpoint, not restarted
    const run0 = await store.getRun(done.trials[0].runId!);
    expect(run0.history).toHaveLength(2);
    expect(run0.status).toBe('finished');
    for (const t of done.trials) {
      expect(['complete', 'pruned']).toContain(t.state);
      const run = await store.getRun(t.runId!);
      expect(run.history.length).toBe(t.state === 'pruned' ? 1 : 2);
      if (t.state === 'pruned') expect(run.reason).toMatch(/^pruned by the sweep: stopped at rung 1 \(epoch 1\)/);
    }
    expect(done.ledger.map((l) => l.trial)).toEqual([0, 1, 2]);
    expect(done.reason).toMatch(/val WER/);
    expect((await api.listSweeps(ds.id)).map((s) => s.id)).toEqual([created.id]);
  }, 60_000);

  it("stores the twin's trials.jsonl (with its spec) as a sweep to view; a bad line is refused naming it, nothing stored", async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 4, numSamples: 12 }));
    const dir = join(__dirname, '..', 'engine', 'tune', 'fixtures', 'twin_sweep');
    const file = (name: string) => ({ name, text: readFileSync(join(dir, name), 'utf8') });
    const api = sweeps(trials);
    const s = await api.importSweepResults(ds.id, 'twin', [file('trials.jsonl'), file('spec.json')]);
    expect([s.source, s.status, s.trials.length, s.spec?.metric]).toEqual(['import', 'finished', 3, 'val_loss']);
    expect(s.reason).toMatch(/^the base is best: \d\.\d{3} val loss/);
    await expect(api.importSweepResults(ds.id, 'bad', [{ name: 'trials.jsonl', text: '{"number": 0}' }])).rejects.toThrow(
      'trials.jsonl line 1: name: expected a non-empty string, got undefined',
    );
    await expect(api.importSweepResults(ds.id, 'bad', [file('trials.jsonl'), { name: 'spec.json', text: '{"format": "x"}' }])).rejects.toThrow(
      /^spec\.json: sweep spec: format: expected "ctc-lab-sweep\/1"/,
    );
    expect((await api.listSweeps(ds.id)).map((x) => x.name)).toEqual(['twin']);
  });

  it('a failing trial is failed and the sweep goes on; a lost GPU stops the sweep, and Resume sweep runs that trial again', async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 5, numSamples: 12 }));
    const wer: Record<number, number> = { 3e-3: 0.5, 1e-3: 0.4, 4e-3: 0.3 }; // each trial's val WER by its lr (scripted; no training)
    const plan: string[] = ['ok', 'fails', 'gpu-lost', 'ok'];
    const runner: TrialRunner = {
      start: async (_d, cfg, id, judge) => {
        const what = plan.shift()!;
        for (let epoch = 1; epoch <= 2; epoch++) {
          if (what !== 'ok') break;
          if (await judge({ epoch, valWer: wer[cfg.lr] ?? 0.9, valLoss: 1 })) break;
        }
        const reason =
          what === 'fails' ? 'CTC loss is NaN' : what === 'gpu-lost' ? 'The GPU was reset and no WebGPU adapter came back (…)' : 'finished 2 epochs';
        return { run: { id, status: what === 'ok' ? 'finished' : 'failed', reason } as RunRecord, alerts: [] };
      },
      resume: () => Promise.reject(new Error('no run to resume')),
    };
    const api = sweeps(runner);
    const three = parseSweepSpec({ ...spec, variations: [spec.variations[0], { name: 'lr 0.004', changes: [{ setting: 'lr', value: 4e-3 }] }] });
    const s = await api.createSweep(ds.id, 'faults', three, null);
    const stopped = await api.runSweep(s.id, () => {});
    expect(stopped.trials.map((t) => t.state)).toEqual(['complete', 'failed', 'running']);
    expect([stopped.status, stopped.trials[1].reason]).toEqual(['stopped', 'CTC loss is NaN']);
    expect(stopped.reason).toMatch(/^trial 2 \(lr 0\.004\): The GPU was reset/);
    const done = await api.runSweep(s.id, () => {}); // its run was never stored: started again under the same id
    expect(done.trials.map((t) => t.state)).toEqual(['complete', 'failed', 'complete']);
    expect(done.trials[2].runId).toBe(stopped.trials[2].runId);
    expect(done.reason).toBe("lr 0.004: 30.0% val WER against the base's 50.0%");
  });
});
