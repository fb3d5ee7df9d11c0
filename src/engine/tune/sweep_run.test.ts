import { describe, expect, it } from 'vitest';
import type { SweepRecord } from '../../data/types';
import { parseSweepSpec, type SweepSpec } from './sweep_spec';
import { bestTrial, endTrial, metricAt, newSweep, nextAction, recordEpoch, startTrial, sweepVerdict, tableEpochs } from './sweep_run';

// Base + three variations, rungs at epoch 1 (η = 3) of 3: what the e2e runs, worked by hand below.
const spec: SweepSpec = parseSweepSpec({
  format: 'ctc-lab-sweep/1',
  base: { lr: 0.003 },
  variations: [
    { name: 'lr ×⅓', changes: [{ setting: 'lr', scale: 1 / 3 }] },
    { name: 'dropout 0.1', changes: [{ setting: 'dropout', value: 0.1 }] },
    { name: 'lr ×3', changes: [{ setting: 'lr', scale: 3 }] },
  ],
  rungs: { minEpochs: 1, eta: 3, maxEpochs: 3 },
});

const row = (epoch: number, valWer: number | null) => ({ epoch, valWer, valLoss: valWer === null ? null : valWer * 10 });

/** Runs trial i through `wers` (epoch 1, 2, …) as the worker does, stopping where the sweep says; returns the sweep and where it stopped. */
function runTrial(s: SweepRecord, i: number, wers: (number | null)[], end: 'finished' | 'failed' = 'finished'): { s: SweepRecord; epochs: number } {
  s = startTrial(s, i, `run-${i}`);
  let epochs = 0;
  for (const w of wers) {
    epochs++;
    const r = recordEpoch(s, i, row(epochs, w), spec);
    s = r.sweep;
    if (r.stop) return { s: endTrial(s, i, { status: 'stopped', reason: r.stop }), epochs };
  }
  return { s: endTrial(s, i, { status: end, reason: end === 'failed' ? 'CTC loss is NaN' : `finished ${epochs} epochs` }), epochs };
}

describe('the sweep scheduler (successive halving over trials run one after another)', () => {
  it('the trials, their order and the table: base first, rung at 1, full length 3', () => {
    const s = newSweep('sw', 'ds', 'fixes', spec, null);
    expect(s.trials.map((t) => t.name)).toEqual(['base', 'lr ×⅓', 'dropout 0.1', 'lr ×3']);
    expect(s.trials[1].changes).toEqual({ lr: 0.001 });
    expect(s.trials[1].config.epochs).toBe(3);
    expect(tableEpochs(spec)).toEqual([1, 3]);
    expect(nextAction(s)).toEqual({ kind: 'start', trial: 0 });
  });

  it('hand-worked: the first goes on alone; the second needs to be best of 2; the third best of 3; a tie at the cut goes on', () => {
    let s = newSweep('sw', 'ds', 'fixes', spec, null);
    // base: alone at rung 1 (fewer values than η: the best so far goes on) → 3 epochs, complete.
    ({ s } = runTrial(s, 0, [0.5, 0.45, 0.4]));
    expect(s.trials[0].state).toBe('complete');
    // lr ×⅓: 0.6 against [0.5]: ⌊2/3⌋ = 0 → the cut is the best (0.5) → pruned after epoch 1.
    let r = runTrial(s, 1, [0.6, 0.1, 0.1]);
    s = r.s;
    expect(r.epochs).toBe(1);
    expect(s.trials[1].state).toBe('pruned');
    expect(s.trials[1].reason).toBe('stopped at rung 1 (epoch 1): 0.6000 is not among the best 1 of 2');
    // dropout 0.1: 0.3 against [0.5, 0.6]: best of 3 → goes on, finishes at 0.2.
    ({ s } = runTrial(s, 2, [0.3, 0.25, 0.2]));
    expect(s.trials[2].state).toBe('complete');
    // lr ×3: 0.3 ties the cut (0.3) among [0.3, 0.5, 0.6, 0.3]: ⌊4/3⌋ = 1 → the best 1 → 0.3 ≤ 0.3 goes on.
    r = runTrial(s, 3, [0.3, 0.28, 0.25]);
    s = r.s;
    expect(r.epochs).toBe(3);
    expect(s.trials[3].state).toBe('complete');
    expect(s.ledger).toEqual([
      { trial: 0, rung: 0, value: 0.5 },
      { trial: 1, rung: 0, value: 0.6 },
      { trial: 2, rung: 0, value: 0.3 },
      { trial: 3, rung: 0, value: 0.3 },
    ]);
    expect(nextAction(s)).toEqual({ kind: 'done' });
    expect(bestTrial(s)).toBe(2);
    expect(sweepVerdict(s, 'val_wer')).toBe("dropout 0.1: 20.0% val WER against the base's 40.0%");
    expect(metricAt(s.trials[1], 1)).toBe(0.6);
    expect(metricAt(s.trials[1], 3)).toBeNull(); // pruned: never got to epoch 3
    expect(metricAt(s.trials[2], 3)).toBe(0.2);
  });

  it('fewer trials than η: a second trial worse than the first stops, one better goes on', () => {
    let s = newSweep('sw', 'ds', 'two', { ...spec, variations: spec.variations.slice(0, 1) }, null);
    ({ s } = runTrial(s, 0, [0.5, 0.4, 0.3]));
    expect(runTrial(s, 1, [0.51, 0.2, 0.1]).s.trials[1].state).toBe('pruned');
    expect(runTrial(s, 1, [0.49, 0.2, 0.1]).s.trials[1].state).toBe('complete');
  });

  it('a failing trial is recorded failed, never best, and the sweep goes on to the next', () => {
    let s = newSweep('sw', 'ds', 'fixes', spec, null);
    ({ s } = runTrial(s, 0, [0.5, 0.45, 0.4]));
    // Goes on at rung 1 with the best value so far, then its run throws at epoch 2 (lower WER than anyone's: still not best).
    ({ s } = runTrial(s, 1, [0.2, 0.01], 'failed'));
    expect(s.trials[1].state).toBe('failed');
    expect(s.trials[1].reason).toBe('CTC loss is NaN');
    expect(nextAction(s)).toEqual({ kind: 'start', trial: 2 });
    expect(bestTrial(s)).toBe(0);
    expect(sweepVerdict(s, 'val_wer')).toBe('the base is best: 40.0% val WER; no change beat it');
  });

  it('a metric that is not finite stops the trial at once and is not recorded', () => {
    let s = newSweep('sw', 'ds', 'fixes', { ...spec, metric: 'val_loss' }, null);
    s = startTrial(s, 0, 'run-0');
    const r = recordEpoch(s, 0, { epoch: 1, valWer: 1, valLoss: null }, { ...spec, metric: 'val_loss' });
    expect(r.stop).toBe('pruned by the sweep: the metric is NaN at epoch 1');
    expect(r.sweep.trials[0].state).toBe('pruned');
    expect(r.sweep.ledger).toEqual([]);
    // An epoch that was not evaluated (evalEvery > 1) is not judged: the rung waits for the next evaluated epoch.
    s = startTrial(newSweep('sw', 'ds', 'fixes', spec, null), 0, 'run-0');
    const skip = recordEpoch(s, 0, { epoch: 1, valWer: null, valLoss: null }, spec);
    expect(skip.stop).toBeNull();
    expect(skip.sweep.ledger).toEqual([]);
    expect(recordEpoch(skip.sweep, 0, row(2, 0.7), spec).sweep.ledger).toEqual([{ trial: 0, rung: 0, value: 0.7 }]);
  });

  it('a reload: the running trial resumes; replaying its history records each epoch once; a user stop stops the sweep, not the trial', () => {
    let s = newSweep('sw', 'ds', 'fixes', spec, null);
    s = startTrial(s, 0, 'run-0');
    s = recordEpoch(s, 0, row(1, 0.5), spec).sweep;
    expect(nextAction(s)).toEqual({ kind: 'resume', trial: 0, runId: 'run-0' });
    const again = recordEpoch(s, 0, row(1, 0.5), spec);
    expect(again.sweep).toBe(s);
    expect(again.sweep.ledger).toHaveLength(1);
    s = endTrial(s, 0, { status: 'stopped', reason: 'stopped by the user after epoch 1' });
    expect(s.status).toBe('stopped');
    expect(s.trials[0].state).toBe('running');
    expect(nextAction(s)).toEqual({ kind: 'resume', trial: 0, runId: 'run-0' });
    expect(() => recordEpoch(endTrial(s, 0, { status: 'failed', reason: 'x' }), 0, row(2, 0.4), spec)).toThrow(/trial 0 \(base\) is failed, not running/);
  });
});
