// The Training page state's part of issue 20, driven by a scripted worker API (the protocol's
// events as the worker sends them): the forecast view and the patience-paused message follow the
// epoch events (an epoch without validation keeps the last forecast; a new job clears both), and
// the Target WER field outside [0, 100] (or emptied) keeps a run from starting, with the reason.

import { describe, expect, it } from 'vitest';
import { TRAIN_DEFAULTS, type DatasetMeta, type EpochRecord, type ForecastView, type RunInfo, type TrainEvent } from '../worker/api';
import type { LabContext } from './context';
import { TrainingState } from './training.svelte';

const run: RunInfo = {
  id: 'run-1',
  datasetId: 'ds',
  datasetName: 'demo',
  createdAt: 0,
  updatedAt: 0,
  config: { ...TRAIN_DEFAULTS },
  status: 'running',
  reason: '',
  history: [],
  bestCheckpointId: null,
  lastCheckpointId: null,
};
const metrics = (epoch: number, valWer: number | null): EpochRecord => ({
  epoch,
  trainLoss: 1,
  valLoss: valWer === null ? null : 1,
  valWer,
  valCer: null,
  S: null,
  D: null,
  I: null,
  N: null,
  blankRate: null,
  lr: 1e-3,
  gradNorm: 1,
  skippedBatches: 0,
  paddingEfficiency: 1,
  seconds: 1,
});
const view = (line: string): ForecastView => ({ kind: 'forecast', lines: [line], level: 0.8, projection: [[5, 0.3]], band: [[5, 0.2, 0.4]] });
const paused = 'in the blank plateau since epoch 3, val loss −1.2%/epoch: patience paused';

/** A page state whose worker plays `events` for a training job, then ends it (finished). */
function withWorker(events: TrainEvent[][]): { t: TrainingState; seen: () => { forecast: ForecastView | null; paused: string | null }[] } {
  const seen: { forecast: ForecastView | null; paused: string | null }[] = [];
  let job = 0;
  const api = {
    startTraining: async (_ds: string, _cfg: unknown, cb: (e: TrainEvent) => void) => {
      for (const e of events[job++]) {
        cb(e);
        seen.push({ forecast: t.forecast, paused: t.patiencePaused });
      }
      return { run: { ...run, status: 'finished' as const, reason: 'finished' }, alerts: [] };
    },
  };
  const ctx = { api, ready: true, dataset: { id: 'ds' } as DatasetMeta, busy: false, refreshStored: async () => {} } as unknown as LabContext;
  const t: TrainingState = new TrainingState(ctx);
  return { t, seen: () => seen };
}

const epochEvent = (epoch: number, valWer: number | null, forecast: ForecastView | null, patiencePaused: string | null = null): TrainEvent => ({
  type: 'epoch',
  metrics: metrics(epoch, valWer),
  improved: false,
  earlyStopping: { best: 1, bestEpoch: 1, counter: 0 },
  patiencePaused,
  forecast,
});

describe('TrainingState: forecast and patience paused from the epoch events', () => {
  it('follows the epochs; an unvalidated epoch keeps the last forecast; a new job starts clear', async () => {
    const a = view('forecast withheld: 2 evaluated epoch(s) since the blank plateau ended; a forecast needs 5');
    const b = view('projected val WER at epoch 30: 14% (12–16%, 80% interval)');
    const { t, seen } = withWorker([
      [epochEvent(1, 1, a, paused), epochEvent(2, null, null, paused), epochEvent(3, 0.5, b, null)],
      [epochEvent(4, null, null)],
    ]);
    await t.start();
    expect(seen()).toEqual([
      { forecast: a, paused },
      { forecast: a, paused },
      { forecast: b, paused: null },
    ]);
    await t.start();
    expect(seen()[3]).toEqual({ forecast: null, paused: null });
  });

  it('the Target WER field: 0 and (0, 100] start a run; outside, or emptied, it is refused with the reason', () => {
    const { t } = withWorker([]);
    for (const ok of [0, 0.5, 25, 100]) {
      t.config.targetWer = ok;
      expect([t.targetWerProblem, t.canRun]).toEqual([null, true]);
    }
    for (const [bad, shown] of [
      [150, '150'],
      [-1, '-1'],
      [NaN, 'an empty field'],
      [null, 'an empty field'],
    ] as const) {
      t.config.targetWer = bad as number;
      expect(t.targetWerProblem).toBe(`Target WER: expected 0 (none) or a val WER in percent, above 0 and at most 100; got ${shown}.`);
      expect(t.canRun).toBe(false);
    }
  });
});
