import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { judgeEpoch, promotable, rungEpochs, type HalvingConfig, type RungValue } from './halving';

const C: HalvingConfig = { minEpochs: 1, eta: 3, maxEpochs: 27 };

/** Replays reports (trial, epoch, value) in order; a stopped trial's later reports are ignored. → per report: stopped? */
function replay(reports: [number, number, number][], c = C) {
  const ledger: RungValue[] = [];
  const stopped = new Set<number>();
  const out: { trial: number; epoch: number; stop: boolean }[] = [];
  for (const [trial, epoch, value] of reports) {
    if (stopped.has(trial)) continue;
    const d = judgeEpoch(ledger, trial, epoch, value, c);
    ledger.push(...d.recorded);
    if (d.stop) stopped.add(trial);
    out.push({ trial, epoch, stop: d.stop });
  }
  return { out, ledger, stopped };
}

describe('rungs', () => {
  it('r, ηr, η²r below the trial length', () => {
    expect(rungEpochs(C)).toEqual([1, 3, 9]);
    expect(rungEpochs({ minEpochs: 2, eta: 3, maxEpochs: 20 })).toEqual([2, 6, 18]);
    expect(rungEpochs({ minEpochs: 2, eta: 2, maxEpochs: 16 })).toEqual([2, 4, 8]);
    expect(rungEpochs({ minEpochs: 5, eta: 3, maxEpochs: 5 })).toEqual([]); // one rung at the end: nothing to halve
  });
});

describe('promotion at a rung (lower is better)', () => {
  it('the top ⌊n/η⌋ go on: 3 values → the best; 6 → the best 2; 9 → the best 3', () => {
    expect(promotable(0.1, [0.2, 0.3], 3)).toBe(true);
    expect(promotable(0.2, [0.1, 0.3], 3)).toBe(false);
    expect(promotable(0.2, [0.1, 0.3, 0.4, 0.5, 0.6], 3)).toBe(true);
    expect(promotable(0.3, [0.1, 0.2, 0.4, 0.5, 0.6], 3)).toBe(false);
    expect(promotable(0.3, [0.1, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9], 3)).toBe(true);
    expect(promotable(0.4, [0.1, 0.2, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9], 3)).toBe(false);
  });
  it('fewer trials than η: the first goes on, a later one only if it is the best so far', () => {
    expect(promotable(0.5, [], 3)).toBe(true);
    expect(promotable(0.4, [0.5], 3)).toBe(true);
    expect(promotable(0.6, [0.5], 3)).toBe(false);
  });
  it('ties at the cut go on', () => {
    expect(promotable(0.2, [0.2, 0.2], 3)).toBe(true);
    expect(promotable(0.2, [0.1, 0.2, 0.2, 0.5, 0.6], 3)).toBe(true); // cut: the 2nd best, 0.2
    expect(promotable(0.2000001, [0.1, 0.2, 0.2, 0.5, 0.6], 3)).toBe(false);
  });
  it('a non-finite value never goes on', () => {
    expect(promotable(NaN, [], 3)).toBe(false);
    expect(promotable(Infinity, [], 3)).toBe(false);
  });
});

describe('a sweep, trial after trial (hand-worked)', () => {
  it('three trials, η = 3, rungs at 1, 3, 9 epochs', () => {
    const { out, ledger } = replay([
      // trial 0 runs first: alone at every rung, it goes on to the end
      [0, 1, 0.9],
      [0, 2, 0.8],
      [0, 3, 0.7],
      [0, 9, 0.5],
      [0, 27, 0.3],
      // trial 1: worse than 0.9 at rung 1 (2 values, fewer than η: only the best goes on) → stopped at epoch 1
      [1, 1, 0.95],
      [1, 2, 0.1],
      // trial 2: better at rung 1 (0.85), then at rung 2 (3 epochs) 0.75 vs trial 0's 0.7 → stopped at epoch 3
      [2, 1, 0.85],
      [2, 3, 0.75],
      [2, 9, 0.1],
    ]);
    expect(out.filter((o) => o.stop).map((o) => [o.trial, o.epoch])).toEqual([
      [1, 1],
      [2, 3],
    ]);
    expect(out.find((o) => o.trial === 1 && o.epoch === 2)).toBeUndefined(); // its later report is never made
    expect(ledger).toEqual([
      { trial: 0, rung: 0, value: 0.9 },
      { trial: 0, rung: 1, value: 0.7 },
      { trial: 0, rung: 2, value: 0.5 },
      { trial: 1, rung: 0, value: 0.95 },
      { trial: 2, rung: 0, value: 0.85 },
      { trial: 2, rung: 1, value: 0.75 },
    ]);
  });

  it('a failing trial (NaN at a rung) stops and is not recorded; NaN between rungs goes on (as Optuna)', () => {
    const { out, ledger } = replay(
      [
        [0, 1, 0.5],
        [1, 1, NaN],
        [2, 2, NaN], // epoch 2: rung 1 is at 2 → judged; but first epoch 1 was not reported: it is judged at rung 1 with NaN
        [3, 1, 0.6],
      ],
      { minEpochs: 2, eta: 3, maxEpochs: 18 },
    );
    // rungs at 2, 6: trial 1's epoch 1 is before the first rung → goes on; trial 2's NaN at epoch 2 → stopped
    expect(out.map((o) => o.stop)).toEqual([false, false, true, false]);
    expect(ledger).toEqual([]);
    const d = judgeEpoch([{ trial: 0, rung: 0, value: 0.5 }], 5, 1, NaN, C);
    expect(d).toMatchObject({ stop: true, recorded: [] });
    expect(d.reason).toMatch(/NaN/);
  });

  it('a trial whose run throws records nothing: the next trial competes as if it never ran', () => {
    // trial 1 threw during epoch 1 (no report). Trial 2 at rung 1 sees only trial 0's value.
    const { out } = replay([
      [0, 1, 0.5],
      [2, 1, 0.4],
    ]);
    expect(out.map((o) => o.stop)).toEqual([false, false]);
  });

  it('a report past several rungs (a resumed trial) is judged at each in turn', () => {
    const ledger: RungValue[] = [
      { trial: 0, rung: 0, value: 0.5 },
      { trial: 0, rung: 1, value: 0.3 },
    ];
    const d = judgeEpoch(ledger, 1, 3, 0.4, C); // rung 0: 0.4 < 0.5 goes on; rung 1: 0.4 > 0.3 → stops
    expect(d.recorded).toEqual([
      { trial: 1, rung: 0, value: 0.4 },
      { trial: 1, rung: 1, value: 0.4 },
    ]);
    expect(d.stop).toBe(true);
    expect(d.reason).toBe('stopped at rung 2 (epoch 3): 0.4000 is not among the best 1 of 2');
  });

  it('nine trials at rung 1: exactly the best three of the later ones go on (asynchronous: each judged on those before it)', () => {
    const values = [0.5, 0.6, 0.4, 0.7, 0.3, 0.8, 0.35, 0.9, 0.45];
    const { out } = replay(values.map((v, i) => [i, 1, v] as [number, number, number]));
    // hand-worked: n=1 0.5 on; n=2 0.6 (best 0.5) off; n=3 0.4 best on; n=4 0.7 off; n=5 0.3 best on; n=6 0.8: cut 2nd (0.4) off;
    // n=7 0.35: cut 2nd of [0.3,0.35,…] = 0.35 on; n=8 0.9 off; n=9 0.45: cut 3rd of [0.3,0.35,0.4,0.45,…] = 0.4 → off
    expect(out.map((o) => !o.stop)).toEqual([true, false, true, false, true, false, true, false, false]);
  });
});

// Interleaved scenarios for the twin: python/tests/test_sweep.py replays them through Optuna's SuccessiveHalvingPruner.
const FIXTURE = new URL('./fixtures/halving.json', import.meta.url);

function scenarios() {
  const list: { name: string; config: HalvingConfig; reports: [number, number, number | null][] }[] = [
    {
      name: 'nine-at-rung-1',
      config: C,
      reports: [0.5, 0.6, 0.4, 0.7, 0.3, 0.8, 0.35, 0.9, 0.45].map((v, i) => [i, 1, v]),
    },
    {
      name: 'interleaved',
      config: { minEpochs: 1, eta: 2, maxEpochs: 8 },
      reports: [
        [0, 1, 0.8],
        [1, 1, 0.7],
        [0, 2, 0.6],
        [2, 1, 0.9],
        [1, 2, 0.5],
        [3, 1, 0.65],
        [0, 3, 0.55],
        [3, 2, 0.6],
        [1, 3, 0.45],
        [0, 4, 0.5],
        [1, 4, 0.4],
        [3, 3, 0.5],
        [3, 4, 0.5],
      ],
    },
    {
      name: 'ties-and-nan',
      config: { minEpochs: 2, eta: 3, maxEpochs: 18 },
      reports: [
        [0, 1, 0.5],
        [0, 2, 0.5],
        [1, 1, 0.5],
        [1, 2, 0.5],
        [2, 2, null],
        [3, 2, 0.5],
        [4, 2, 0.4],
        [0, 6, 0.3],
        [1, 6, 0.3],
      ],
    },
  ];
  return list.map((s) => {
    const r = replay(
      s.reports.map(([t, e, v]) => [t, e, v ?? NaN]),
      s.config,
    );
    return { ...s, decisions: r.out };
  });
}

describe('the twin fixture', () => {
  it('halving.json holds the lab decisions (rewrite with UPDATE_HALVING_FIXTURES=1); the twin replays it through Optuna', () => {
    const now = JSON.parse(JSON.stringify(scenarios())) as unknown;
    if (process.env.UPDATE_HALVING_FIXTURES) writeFileSync(FIXTURE, `${JSON.stringify(now)}\n`);
    expect(JSON.parse(readFileSync(FIXTURE, 'utf8'))).toEqual(now);
  });
});
