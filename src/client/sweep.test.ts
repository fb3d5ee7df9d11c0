// The sweep's page state with a scripted worker API: Try these fixes (a report's fixes over the
// diagnosed run) fills the builder and lists what is not sweepable; the builder's spec takes the
// run's config as base; Train this one fully starts a normal run with the trial's settings.

import { describe, expect, it } from 'vitest';
import { TRAIN_DEFAULTS, type DatasetMeta, type RunInfo, type SweepInfo, type TrainConfig } from '../worker/api';
import type { LabContext } from './context';
import { SweepState } from './sweep.svelte';
import { TrainingState } from './training.svelte';

const poor: TrainConfig = { ...TRAIN_DEFAULTS, lr: 1e-5, patience: 5, epochs: 150 };
const run: RunInfo = {
  id: 'run-poor',
  datasetId: 'ds',
  datasetName: 'demo',
  createdAt: 0,
  updatedAt: 0,
  config: { ...poor },
  status: 'early-stopped',
  reason: 'early stopping',
  history: [],
  bestCheckpointId: null,
  lastCheckpointId: null,
};

function setup() {
  const started: Partial<TrainConfig>[] = [];
  const api = {
    listRuns: async () => ({ runs: [run], damaged: [] }),
    listSweeps: async () => [],
    startTraining: async (_ds: string, cfg: Partial<TrainConfig>) => {
      started.push(cfg);
      return { run: { ...run, status: 'finished' as const }, alerts: [] };
    },
  };
  const ctx = { api, ready: true, dataset: { id: 'ds' } as DatasetMeta, busy: false, refreshStored: async () => {} } as unknown as LabContext;
  const training = new TrainingState(ctx);
  return { training, sweep: new SweepState(training), started };
}

describe('SweepState: Try these fixes, the spec, Train this one fully', () => {
  it("a report's fixes over the diagnosed run: its variations checked, the run as base, the decoding fix not sweepable", async () => {
    const { training, sweep } = setup();
    training.config = { ...TRAIN_DEFAULTS, lr: 0.01 }; // the form differs from the run: the run is the base
    await training.refreshRuns();
    sweep.tryFixes(
      [
        { source: 'early-stopping', fix: 'Raise patience to 30+.' },
        { source: 'decoding', fix: 'Use greedy decoding for validation.' },
      ],
      'run-poor',
    );
    expect([sweep.open, sweep.baseRunId, sweep.picked]).toEqual([true, 'run-poor', ['patience ×2']]);
    expect(sweep.notSweepable).toEqual([{ source: 'decoding', fix: 'Use greedy decoding for validation.' }]);
    const spec = sweep.spec();
    expect([spec.base.lr, spec.base.patience, spec.variations.map((v) => v.name)]).toEqual([1e-5, 5, ['patience ×2']]);
    expect(spec.base.epochs).toBeUndefined(); // the trials' length is the rungs' maxEpochs
  });

  it('Train this one fully: the form takes the trial settings at its own epochs and a normal run starts', async () => {
    const { training, sweep, started } = setup();
    training.config = { ...TRAIN_DEFAULTS, epochs: 60 };
    const shown: SweepInfo = {
      id: 'sw',
      datasetId: 'ds',
      name: 'fixes',
      createdAt: 0,
      updatedAt: 0,
      source: 'lab',
      spec: null,
      baseRunId: null,
      status: 'finished',
      reason: '',
      trials: [{ name: 'lr ×3', changes: { lr: 3e-5 }, config: { ...poor, lr: 3e-5, epochs: 9 }, runId: 'r1', state: 'complete', reason: '', curve: [] }],
      ledger: [],
    };
    sweep.sweeps = [shown];
    sweep.shownId = 'sw';
    await sweep.trainFully(0);
    expect(started).toHaveLength(1);
    expect([started[0].lr, started[0].patience, started[0].epochs]).toEqual([3e-5, 5, 60]);
  });
});
