import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HistoryRow } from '../../data/types';
import { forecast } from '../forecast/fit';
import { TrainingDoctor, type DoctorAlert, type DoctorObservation, type DoctorOptions } from './doctor';

const obs = (epoch: number, o: Partial<DoctorObservation> = {}): DoctorObservation => ({
  epoch,
  loss: 10 / epoch,
  wer: Math.max(0, 1 - epoch / 50),
  blankRate: 0.6,
  gradNorm: 0.5,
  ...o,
});

function run(d: TrainingDoctor, xs: DoctorObservation[]) {
  return xs.flatMap((x) => d.observe(x));
}

describe('training doctor', () => {
  it('stays quiet on a healthy run', () => {
    expect(
      run(
        new TrainingDoctor(),
        Array.from({ length: 60 }, (_, i) => obs(i + 1)),
      ),
    ).toEqual([]);
  });
  it('non-finite loss fires at its epoch, once', () => {
    const a = run(new TrainingDoctor(), [obs(1), obs(2, { loss: NaN }), obs(3, { loss: Infinity })]);
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ id: 'non-finite-loss', epoch: 2, severity: 'fail' });
  });
  it('blank collapse: above 90% blank for 5 epochs while the loss is stuck', () => {
    const a = run(
      new TrainingDoctor(),
      Array.from({ length: 8 }, (_, i) => obs(i + 1, { blankRate: 0.97, loss: 3.1 - 0.01 * i, wer: 1 })),
    );
    expect(a.map((x) => [x.id, x.epoch])).toEqual([['blank-collapse', 5]]);
    expect(a[0].message).toContain('while the loss fell only 1%');
  });
  it('blank-only epochs while the loss falls fast are the usual start of CTC training, not collapse', () => {
    // Calibration: this is a healthy run's first epochs (demo, tcn, Adam, lr 3e-3: blank rate 100%
    // for two epochs, loss 3.4 → 2.4 → 1.3, then tokens appear).
    const a = run(
      new TrainingDoctor(),
      Array.from({ length: 8 }, (_, i) => obs(i + 1, { blankRate: 0.99, loss: 10 * 0.8 ** i, wer: 1 })),
    );
    expect(a).toEqual([]);
  });
  it('plateau: loss flat for 20 epochs while WER is not 0', () => {
    const a = run(
      new TrainingDoctor(),
      Array.from({ length: 25 }, (_, i) => obs(i + 1, { loss: 4.98 + 0.001 * (i % 2), wer: 0.92 })),
    );
    expect(a.map((x) => [x.id, x.epoch])).toEqual([['plateau', 20]]);
  });
  it('training loss falls, validation WER does not, tokens emitted: the model does not generalise (validation decodes greedily: not a decoding problem)', () => {
    const a = run(
      new TrainingDoctor(),
      Array.from({ length: 15 }, (_, i) => obs(i + 1, { loss: 20 * 0.9 ** i, wer: 0.95 })),
    );
    expect(a.map((x) => x.id)).toEqual(['no-generalisation']);
    expect(a[0].message).toContain('fits its training samples without generalising');
    expect(a[0].message).not.toContain('greedy decoding'); // no decoding advice: validation is greedy already
  });
  it('the same numbers in the blank phase (blank rate above 90%) are no such alert', () => {
    expect(
      run(
        new TrainingDoctor(),
        Array.from({ length: 15 }, (_, i) => obs(i + 1, { loss: 20 * 0.9 ** i, wer: 1, blankRate: 0.97 })),
      ),
    ).toEqual([]);
  });
  it('vanishing gradients; non-finite gradients', () => {
    expect(run(new TrainingDoctor(), [obs(1, { gradNorm: 1e-9 })])[0]).toMatchObject({ id: 'vanishing-gradients', severity: 'fail' });
    expect(run(new TrainingDoctor(), [obs(1), obs(2, { gradNorm: NaN })])[0]).toMatchObject({ id: 'exploding-gradients', severity: 'fail', epoch: 2 });
  });
  it('a large first gradient norm under Adam with clipping is no alert (the issue: 370 at epoch 1, clipped to 5)', () => {
    const a = run(
      new TrainingDoctor({ optimizer: 'adam', clipNorm: 5 }),
      [370, 23, 7.1, 5.5, 4, 3.5, 3.2].map((g, i) => obs(i + 1, { gradNorm: g })),
    );
    expect(a).toEqual([]);
  });
  it('a gradient norm that keeps growing: warn with clipping, fail for SGD without it', () => {
    const growing = [0.5, 1.2, 3, 8, 20, 60].map((g, i) => obs(i + 1, { gradNorm: g }));
    const clipped = run(new TrainingDoctor({ optimizer: 'adam', clipNorm: 5 }), growing);
    expect(clipped.map((x) => [x.id, x.severity, x.epoch])).toEqual([['exploding-gradients', 'warn', 5]]);
    expect(clipped[0].message).toContain('0.500 → 1.20 → 3.00 → 8.00 → 20.0');
    expect(run(new TrainingDoctor({ optimizer: 'sgd', clipNorm: 0 }), growing)[0]).toMatchObject({ id: 'exploding-gradients', severity: 'fail' });
    // Noisy but not growing every epoch: quiet.
    expect(
      run(
        new TrainingDoctor(),
        [0.5, 1.2, 0.9, 8, 20, 60].map((g, i) => obs(i + 1, { gradNorm: g })),
      ),
    ).toEqual([]);
  });
  it('a measured healthy run is quiet (demo, tcn, Adam lr 3e-3, clip 5, 30 epochs, cpu backend: loss, val WER, blank rate, grad norm per epoch)', () => {
    // One row per epoch: loss, val WER, blank rate, grad norm.
    const measured = `
      3.4183 1 1 23.463
      2.3828 1 1 7.127
      1.318 0.4035 0.629 5.496
      0.3645 0.1053 0.508 5.498
      0.0824 0.0351 0.482 2.048
      0.0286 0.0526 0.528 1.258
      0.0164 0.0526 0.487 0.774
      0.0085 0.0351 0.543 0.46
      0.0056 0.0351 0.528 0.302
      0.0051 0.0351 0.558 0.311
      0.0031 0.0175 0.548 0.238
      0.0019 0.0175 0.558 0.124
      0.0011 0.0175 0.553 0.066
      0.001 0.0175 0.553 0.059
      0.0008 0.0175 0.548 0.047
      0.0009 0.0175 0.548 0.054
      0.0007 0.0351 0.563 0.039
      0.0006 0.0351 0.553 0.03
      0.0005 0.0175 0.553 0.026
      0.0005 0.0175 0.553 0.022
      0.0005 0.0175 0.553 0.025
      0.0008 0.0175 0.548 0.078
      0.0007 0.0175 0.533 0.047
      0.0005 0.0175 0.533 0.025
      0.0004 0.0175 0.533 0.022
      0.0006 0.0175 0.533 0.033
      0.0009 0.0175 0.533 0.072
      0.0007 0.0175 0.533 0.048
      0.0005 0.0175 0.533 0.027
      0.0004 0.0175 0.533 0.022
    `
      .trim()
      .split('\n')
      .map((row) => row.trim().split(' ').map(Number));
    const a = run(
      new TrainingDoctor({ optimizer: 'adam', clipNorm: 5 }),
      measured.map(([loss, wer, blankRate, gradNorm], i) => obs(i + 1, { loss, wer, blankRate, gradNorm })),
    );
    expect(a).toEqual([]);
  });
  it('a converged run whose loss flattens at a low WER is no plateau', () => {
    const a = run(
      new TrainingDoctor(),
      Array.from({ length: 30 }, (_, i) => obs(i + 1, { loss: 0.051 + 0.0001 * (i % 2), wer: 0.01 })),
    );
    expect(a).toEqual([]);
  });
  it('early stopping about to end a run whose WER is above 90%', () => {
    const a = run(new TrainingDoctor(), [
      obs(44, { wer: 0.92, earlyStopping: { counter: 12, patience: 15 } }),
      obs(45, { wer: 0.92, earlyStopping: { counter: 13, patience: 15 } }),
    ]);
    expect(a.map((x) => [x.id, x.epoch])).toEqual([['early-stop-high-wer', 45]]);
    expect(run(new TrainingDoctor(), [obs(45, { wer: 0.3, earlyStopping: { counter: 14, patience: 15 } })])).toEqual([]);
  });
  it('patience paused in the blank plateau: said once, with the numbers', () => {
    const msg = 'in the blank plateau since epoch 3, val loss −1.2%/epoch: patience paused';
    const a = run(new TrainingDoctor(), [obs(9, { wer: 1 }), obs(10, { wer: 1, patiencePaused: msg }), obs(11, { wer: 1, patiencePaused: msg })]);
    expect(a).toEqual([{ id: 'patience-paused', epoch: 10, severity: 'warn', message: `Early stopping waits at epoch 10: ${msg}.` }]);
  });
});

// ---------------------------------------------------------------- the forecast (issue 20)

const FORECAST_IDS = ['forecast-target', 'forecast-level-off'];

/** A noise-free exponential saturation 0.2 + 0.8·exp(−t/5) for epochs 1..n (val loss 3× it, tokens emitted). */
const expRows = (n: number, a = 0.2): HistoryRow[] =>
  Array.from({ length: n }, (_, i) => {
    const wer = a + 0.8 * Math.exp(-(i + 1) / 5);
    return { epoch: i + 1, valWer: wer, valLoss: 3 * wer, blankRate: 0.9 };
  });

/** The doctor's forecast alerts at the last epoch of `history`, forecast to `planned` epochs. */
function forecastAlerts(history: HistoryRow[], planned: number, opts: Partial<DoctorOptions>, o: Partial<DoctorObservation> = {}): DoctorAlert[] {
  const last = history[history.length - 1];
  const f = forecast(history, planned, opts.targetWer ?? null);
  return new TrainingDoctor(opts).observe(obs(last.epoch, { wer: last.valWer, forecast: f, ...o })).filter((a) => FORECAST_IDS.includes(a.id));
}

/**
 * A recorded twin history (forecast/fixtures/histories) replayed epoch by epoch with the forecast
 * at each (asked about `target`, to the run's planned epochs) to one doctor per option set; each
 * doctor's forecast alerts, and the reasons of the withheld forecasts.
 */
function replay(name: string, target: number | null, doctors: Partial<DoctorOptions>[]): { alerts: DoctorAlert[][]; withheld: string[] } {
  const run = JSON.parse(readFileSync(new URL(`../forecast/fixtures/histories/${name}.json`, import.meta.url), 'utf8')) as {
    epochs: number;
    history: HistoryRow[];
  };
  const ds = doctors.map((o) => new TrainingDoctor(o));
  const withheld: string[] = [];
  for (const [i, r] of run.history.entries()) {
    const f = forecast(run.history.slice(0, i + 1), run.epochs, target);
    if (f.kind === 'withheld') withheld.push(f.reason);
    for (const d of ds) d.observe({ epoch: r.epoch, loss: r.trainLoss!, wer: r.valWer, blankRate: r.blankRate, gradNorm: r.gradNorm, forecast: f });
  }
  return { alerts: ds.map((d) => d.alerts.filter((a) => FORECAST_IDS.includes(a.id))), withheld };
}

describe('training doctor: the learning-curve forecast', () => {
  it('the target reached, and whether early stopping ends the run first (the plain rule walked along the projected curve)', () => {
    // 0.2 + 0.8·e^(−t/5) ≤ 0.21 from t = 5·ln 80 = 21.9: epoch 22. From epoch 10's best, the projected
    // drops under min delta 0.01 leave patience counting 1 (15), 1 (17), then 1, 2, 3 (19–21): patience 3
    // stops at 21, 4 does not (worked by hand from the curve's values).
    const h = expRows(10);
    const reach = 'At this rate val WER reaches 21% near epoch 22 (22–22)';
    expect(forecastAlerts(h, 100, { targetWer: 0.21, patience: 4 })).toEqual([
      { id: 'forecast-target', epoch: 10, severity: 'info', message: `${reach}; patience 4 will not stop it before.` },
    ]);
    expect(forecastAlerts(h, 100, { targetWer: 0.21, patience: 3 })[0].message).toBe(
      `${reach}; patience 3 would stop the run near epoch 21 first (the projected val WER improves by less than min delta 0.01 for 3 evaluated epochs): raise patience to 4 or more.`,
    );
    expect(forecastAlerts(h, 100, { targetWer: 0.21, patience: 0 })[0].message).toBe(`${reach}; early stopping is off.`);
    // Patience counting already (2 of 3) from a best of 25% measured earlier: epoch 11's projected 28.9% does
    // not beat it by 0.01, so the run stops at 11; 11–14 count 3–6 until 15 (24.0%) improves: patience 7 is needed.
    expect(forecastAlerts(h, 100, { targetWer: 0.21, patience: 3 }, { earlyStopping: { counter: 2, patience: 3 }, best: 0.25 })[0].message).toContain(
      'patience 3 would stop the run near epoch 11 first (the projected val WER improves by less than min delta 0.01 for 3 evaluated epochs): raise patience to 7 or more.',
    );
  });

  it('a run levelling off above the target: the target is not within the planned epochs, and the level-off alarm; none without a target below 50%', () => {
    const h = expRows(10);
    expect(forecastAlerts(h, 100, { targetWer: 0.15 })).toEqual([
      {
        id: 'forecast-target',
        epoch: 10,
        severity: 'info',
        message: 'At this rate val WER does not reach 15% within the planned 100 epochs: 20% (20–20%) at epoch 100.',
      },
      {
        id: 'forecast-level-off',
        epoch: 10,
        severity: 'warn',
        message:
          "Val WER is projected to level off near 20% (20–20%) at epoch 100, above the target 15%: investigate (run diagnostics) — the learning rate and its schedule, the model's size, the data.",
      },
    ]);
    expect(forecastAlerts(h, 100, {})).toEqual([]); // 20% without a target: no alarm
    expect(forecastAlerts(expRows(10, 0.6), 100, {}).map((a) => [a.id, a.message.slice(0, 58)])).toEqual([
      ['forecast-level-off', 'Val WER is projected to level off near 60% (60–60%) at epo'],
    ]);
    // Still falling at the planned last epoch (20 epochs: 0.2 + 0.8·e^−4 = 21.5%, the curve 1.5 points above its limit).
    expect(forecastAlerts(h, 20, { targetWer: 0.15 }).find((a) => a.id === 'forecast-level-off')?.message).toContain('projected to be still at 21%');
  });

  it('said once: a second forecast with the same news is not repeated', () => {
    const d = new TrainingDoctor({ targetWer: 0.15 });
    const fired = [10, 11].flatMap((n) => d.observe(obs(n, { forecast: forecast(expRows(n), 100, 0.15) })));
    expect(fired.map((a) => [a.id, a.epoch])).toEqual([
      ['forecast-target', 10],
      ['forecast-level-off', 10],
    ]);
  });

  it('a withheld forecast says nothing (too few epochs, the blank plateau)', () => {
    expect(forecastAlerts(expRows(4), 100, { targetWer: 0.15 })).toEqual([]);
    const plateau = Array.from({ length: 8 }, (_, i) => ({ epoch: i + 1, valWer: 1, valLoss: 3 - 0.01 * i, blankRate: 1 }));
    expect(forecastAlerts(plateau, 100, { targetWer: 0.15 })).toEqual([]);
  });

  it('recorded healthy run (twin, 30 epochs, levels off at 13–14%): no level-off alarm with a 25% target or none; the target news once, at the first forecast', () => {
    const {
      alerts: [none, t25],
      withheld,
    } = replay('healthy', 0.25, [{}, { targetWer: 0.25 }]);
    expect(none).toEqual([]);
    expect(t25.map((a) => [a.id, a.epoch])).toEqual([['forecast-target', 10]]);
    expect(t25[0].message).toMatch(/^At this rate val WER reaches 25% near epoch 1\d \(\d+–(\d+|beyond 30)\); early stopping is off\.$/);
    expect(withheld).toEqual([...Array(5).fill('blank-plateau'), ...Array(4).fill('too-few-epochs')]);
  });

  it('recorded overfitting run (twin: train loss → 0.01, val WER stuck near 25%) with a 15% target: the level-off alarm, once', () => {
    const {
      alerts: [alerts],
    } = replay('overfitting', 0.15, [{ targetWer: 0.15 }]);
    const off = alerts.filter((a) => a.id === 'forecast-level-off');
    expect(off).toHaveLength(1);
    expect(off[0].epoch).toBeGreaterThanOrEqual(30);
    expect(off[0].message).toMatch(
      /^Val WER is projected to level off near 2\d% \(\d+–\d+%\) at epoch 40, above the target 15%: investigate \(run diagnostics\)/,
    );
  });

  it('recorded plateau that never ends (twin, 30 epochs at val WER 100%): the forecast is withheld throughout, so no forecast news', () => {
    const {
      alerts: [alerts],
      withheld,
    } = replay('plateau-never-ends', 0.25, [{ targetWer: 0.25 }]);
    expect(alerts).toEqual([]);
    expect(withheld).toEqual(Array(30).fill('blank-plateau'));
  });
});
