// The twin's sweep output read back into the lab (Import sweep results): `trials.jsonl` as
// python/ctc_lab/sweep.py writes it, one ended trial per line —
//   {"number": 0, "name": "base", "changes": {}, "worker": "host:pid", "state": "complete" | "pruned" | "failed",
//    "value": 0.21 | null, "reason": "…", "epochs": [{"epoch": 1, "valWer": 0.9, "valLoss": 3.1, …}, …]}
// — with or without the spec it ran (then the metric and rungs come from it). A bad line is refused
// naming the file, the line and the field.

import type { HistoryRow, SweepTrialRecord } from '../../data/types';
import { SWEEP_SETTINGS, type SweepSpec } from './sweep_spec';
import { metricOf } from './sweep_run';

const STATES = { complete: 'complete', pruned: 'pruned', failed: 'failed' } as const;

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const show = (x: unknown) => JSON.stringify(x) ?? String(x);

/** The trials of a twin's trials.jsonl, in trial-number order; `metric`: the spec's (val_wer without one). */
export function parseTrialsJsonl(text: string, fileName: string, metric: SweepSpec['metric']): SweepTrialRecord[] {
  const byNumber = new Map<number, SweepTrialRecord>();
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const at = `${fileName} line ${i + 1}`;
    const bad = (field: string, what: string): never => {
      throw new Error(`${at}: ${field}: ${what}`);
    };
    let x: unknown;
    try {
      x = JSON.parse(line);
    } catch (e) {
      return bad('(line)', `not JSON (${e instanceof Error ? e.message : String(e)})`);
    }
    if (!isObj(x)) return bad('(line)', `expected an object, got ${show(x)}`);
    const n = x.number;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) bad('number', `expected a trial number (integer ≥ 0), got ${show(n)}`);
    if (byNumber.has(n as number)) bad('number', `trial ${show(n)} is listed twice`);
    if (typeof x.name !== 'string' || !x.name) bad('name', `expected a non-empty string, got ${show(x.name)}`);
    if (!isObj(x.changes)) return bad('changes', `expected an object of settings, got ${show(x.changes)}`);
    const changes: Record<string, number | string> = {};
    for (const [k, v] of Object.entries(x.changes)) {
      if (!Object.hasOwn(SWEEP_SETTINGS, k)) bad(`changes.${k}`, 'not a sweep setting');
      if (typeof v !== 'number' && typeof v !== 'string') bad(`changes.${k}`, `expected a number or a string, got ${show(v)}`);
      changes[k] = v as number | string;
    }
    const state = typeof x.state === 'string' && Object.hasOwn(STATES, x.state) ? STATES[x.state as keyof typeof STATES] : null;
    if (!state) return bad('state', `expected "complete", "pruned" or "failed", got ${show(x.state)}`);
    if (x.value !== null && x.value !== undefined && (typeof x.value !== 'number' || !Number.isFinite(x.value)))
      bad('value', `expected a number or null, got ${show(x.value)}`);
    if (state === 'complete' && typeof x.value !== 'number') bad('value', 'a complete trial needs its value');
    if (x.reason !== undefined && typeof x.reason !== 'string') bad('reason', `expected a string, got ${show(x.reason)}`);
    const epochs = x.epochs ?? [];
    if (!Array.isArray(epochs)) return bad('epochs', `expected a list of per-epoch metrics, got ${show(epochs)}`);
    const curve = epochs.map((r: unknown, j): SweepTrialRecord['curve'][number] => {
      const f = `epochs[${j}]`;
      if (!isObj(r)) return bad(f, `expected an object, got ${show(r)}`);
      if (typeof r.epoch !== 'number' || !Number.isInteger(r.epoch) || r.epoch < 1) bad(`${f}.epoch`, `expected an integer ≥ 1, got ${show(r.epoch)}`);
      if (j > 0 && (r.epoch as number) <= (epochs[j - 1] as { epoch: number }).epoch)
        bad(`${f}.epoch`, `epochs out of order (${show(r.epoch)} after ${(epochs[j - 1] as { epoch: number }).epoch})`);
      for (const k of ['valWer', 'valLoss'])
        if (r[k] !== undefined && r[k] !== null && (typeof r[k] !== 'number' || !Number.isFinite(r[k])))
          bad(`${f}.${k}`, `expected a number or null, got ${show(r[k])}`);
      const row: HistoryRow = {
        epoch: r.epoch as number,
        valWer: (r.valWer as number | null | undefined) ?? null,
        valLoss: (r.valLoss as number | null | undefined) ?? null,
      };
      const v = metricOf(row, metric);
      return { epoch: row.epoch, value: v !== null && Number.isFinite(v) ? v : null, valWer: row.valWer };
    });
    byNumber.set(n as number, {
      name: x.name as string,
      changes,
      config: {},
      runId: null,
      state,
      reason: typeof x.reason === 'string' ? x.reason : '',
      curve,
    });
  });
  if (!byNumber.size) throw new Error(`${fileName}: no trials (an empty trials.jsonl)`);
  return [...byNumber.entries()].sort((a, b) => a[0] - b[0]).map(([, t]) => t);
}
