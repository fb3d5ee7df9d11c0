// A fix sweep run in the browser, as rules over its stored record (data/types.ts SweepRecord): which
// trial runs next, what an epoch's metric decides (halving.ts: asynchronous successive halving, the
// rule of the twin's Optuna pruner), how a trial's run ending changes it, the best trial and the
// verdict. Trials run one after another; the worker (worker/sweep.ts) runs each as a normal training
// run and writes the record after every decision, so a reload resumes where the sweep was.

import type { HistoryRow, SweepRecord, SweepTrialRecord } from '../../data/types';
import { TRAIN_DEFAULTS, type TrainConfig } from '../train/config';
import { judgeEpoch, rungEpochs } from './halving';
import { parseSweepSpec, sweepTrials, type SweepSpec } from './sweep_spec';

/** A new sweep's record: every trial of the spec pending (the base first). */
export function newSweep(id: string, datasetId: string, name: string, spec: SweepSpec, baseRunId: string | null): SweepRecord {
  const now = Date.now();
  const checked = parseSweepSpec(spec);
  return {
    id,
    datasetId,
    name,
    createdAt: now,
    updatedAt: now,
    source: 'lab',
    spec: { ...checked },
    baseRunId,
    status: 'ready',
    reason: '',
    trials: sweepTrials(checked).map((t) => ({
      name: t.name,
      changes: t.changes,
      config: { ...t.config },
      runId: null,
      state: 'pending',
      reason: '',
      curve: [],
    })),
    ledger: [],
  };
}

/** The config a trial trains with: its own over the defaults (as a stored run's). */
export function trialConfig(t: Pick<SweepTrialRecord, 'config'>): TrainConfig {
  return { ...TRAIN_DEFAULTS, ...(t.config as Partial<TrainConfig>) };
}

/** The sweep's spec, validated (a stored record is checked on read). */
export function specOf(s: SweepRecord): SweepSpec {
  if (!s.spec) throw new Error(`sweep ${s.name}: imported without its spec`);
  return parseSweepSpec(s.spec);
}

export type SweepAction = { kind: 'start'; trial: number } | { kind: 'resume'; trial: number; runId: string } | { kind: 'done' };

/** What the sweep does next: resume the trial that was running (a reload, a stop), else start the first pending one, else it is done. */
export function nextAction(s: Pick<SweepRecord, 'trials'>): SweepAction {
  const running = s.trials.findIndex((t) => t.state === 'running');
  if (running >= 0) {
    const runId = s.trials[running].runId;
    return runId ? { kind: 'resume', trial: running, runId } : { kind: 'start', trial: running };
  }
  const pending = s.trials.findIndex((t) => t.state === 'pending');
  return pending >= 0 ? { kind: 'start', trial: pending } : { kind: 'done' };
}

/** The sweep's metric in a history row: null when the epoch was not evaluated; NaN when evaluated but not finite. */
export function metricOf(row: HistoryRow, metric: SweepSpec['metric']): number | null {
  const v = metric === 'val_wer' ? row.valWer : row.valLoss;
  if (v === undefined) return null;
  // JSON keeps a non-finite loss as null: an evaluated epoch (valWer measured) with no loss is NaN.
  if (v === null) return metric === 'val_loss' && typeof row.valWer === 'number' ? NaN : null;
  return v;
}

const withTrial = (s: SweepRecord, i: number, t: SweepTrialRecord): SweepRecord => ({
  ...s,
  trials: s.trials.map((x, j) => (j === i ? t : x)),
  updatedAt: Date.now(),
});

/** Trial `i` is starting as run `runId`. */
export function startTrial(s: SweepRecord, i: number, runId: string): SweepRecord {
  return { ...withTrial(s, i, { ...s.trials[i], runId, state: 'running', reason: '', curve: [] }), status: 'running' };
}

/**
 * Records trial `i`'s epoch (a history row of its run) and decides: `stop` is the reason it goes no
 * further (pruned at a rung, or a metric that is not finite), else null. An epoch already recorded
 * is ignored, so replaying a run's history after a reload changes nothing twice.
 */
export function recordEpoch(s: SweepRecord, i: number, row: HistoryRow, spec: SweepSpec): { sweep: SweepRecord; stop: string | null } {
  const t = s.trials[i];
  if (t.state !== 'running') throw new Error(`sweep ${s.name}: trial ${i} (${t.name}) is ${t.state}, not running`);
  if (t.curve.some((c) => c.epoch >= row.epoch)) return { sweep: s, stop: null };
  const value = metricOf(row, spec.metric);
  const curve = [
    ...t.curve,
    { epoch: row.epoch, value: value !== null && Number.isFinite(value) ? value : null, valWer: typeof row.valWer === 'number' ? row.valWer : null },
  ];
  if (value === null) return { sweep: withTrial(s, i, { ...t, curve }), stop: null }; // not evaluated: judged at the next evaluated epoch
  const d = judgeEpoch(s.ledger, i, row.epoch, value, spec.rungs);
  const next = {
    ...withTrial(s, i, { ...t, curve, reason: d.reason ?? t.reason, state: d.stop ? 'pruned' : 'running' }),
    ledger: [...s.ledger, ...d.recorded],
  };
  return { sweep: next, stop: d.stop ? `pruned by the sweep: ${d.reason}` : null };
}

/** How a trial's run ended (its record's status and reason). */
export interface TrialEnd {
  status: 'running' | 'paused' | 'stopped' | 'finished' | 'early-stopped' | 'failed' | 'interrupted';
  reason: string;
}

/**
 * Trial `i`'s run ended. A pruned trial stays pruned; a finished or early-stopped one is complete; a
 * failed one is failed (never best; the sweep goes on); one stopped by the user stays running and
 * the sweep stops (Resume continues the trial from its last checkpoint).
 */
export function endTrial(s: SweepRecord, i: number, end: TrialEnd): SweepRecord {
  const t = s.trials[i];
  if (t.state === 'pruned') return withTrial(s, i, t);
  if (end.status === 'failed') return withTrial(s, i, { ...t, state: 'failed', reason: end.reason });
  if (end.status === 'finished' || end.status === 'early-stopped') return withTrial(s, i, { ...t, state: 'complete', reason: end.reason });
  return { ...withTrial(s, i, t), status: 'stopped', reason: `trial ${i} (${t.name}) ${end.reason || end.status}; Resume sweep continues it` };
}

/** A trial's best metric over its epochs (Optuna's value of a complete trial in the twin), or null. */
export function trialBest(t: Pick<SweepTrialRecord, 'curve'>): number | null {
  const v = t.curve.map((c) => c.value).filter((x): x is number => x !== null && Number.isFinite(x));
  return v.length ? Math.min(...v) : null;
}

/** The best complete trial (lowest metric; a tie goes to the earlier trial), or null when none completed. */
export function bestTrial(s: Pick<SweepRecord, 'trials'>): number | null {
  let best: number | null = null;
  s.trials.forEach((t, i) => {
    const v = trialBest(t);
    if (t.state !== 'complete' || v === null) return;
    if (best === null || v < (trialBest(s.trials[best]) as number)) best = i;
  });
  return best;
}

/** The metric as people read it: val WER in percent, a loss to 3 decimals. */
export function formatMetric(v: number | null, metric: SweepSpec['metric']): string {
  if (v === null) return '–';
  return metric === 'val_wer' ? `${(v * 100).toFixed(1)}%` : v.toFixed(3);
}

/** The verdict line: "dropout 0.1 + ×4 subsampling: 14.0% against the base's 21.0%". */
export function sweepVerdict(s: Pick<SweepRecord, 'trials'>, metric: SweepSpec['metric']): string {
  const b = bestTrial(s);
  if (b === null) return 'no trial completed';
  const best = s.trials[b];
  const base = s.trials.findIndex((t) => t.name === 'base');
  const name = metric === 'val_wer' ? 'val WER' : 'val loss';
  if (b === base) return `the base is best: ${formatMetric(trialBest(best), metric)} ${name}; no change beat it`;
  const against =
    base >= 0 ? ` against the base's ${formatMetric(trialBest(s.trials[base]), metric)}${s.trials[base].state === 'pruned' ? ' (pruned)' : ''}` : '';
  return `${best.name}: ${formatMetric(trialBest(best), metric)} ${name}${against}`;
}

/** The columns of the sweep's table: each rung's epoch, then the trials' full length. */
export function tableEpochs(spec: Pick<SweepSpec, 'rungs'>): number[] {
  return [...rungEpochs(spec.rungs), spec.rungs.maxEpochs];
}

/** A trial's metric at an epoch (the last evaluated value at or before it), or null when it never got there. */
export function metricAt(t: Pick<SweepTrialRecord, 'curve'>, epoch: number): number | null {
  const row = [...t.curve].reverse().find((c) => c.epoch <= epoch && c.value !== null);
  return row && t.curve.some((c) => c.epoch >= epoch) ? row.value : null;
}
