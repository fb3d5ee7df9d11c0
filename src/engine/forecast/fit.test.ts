import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HistoryRow } from '../../data/types';
import { Rng } from '../../lib/rng';
import { fitFamily, forecast, forecastText, recencyWeights, type Forecast } from './fit';

type Curve = (t: number) => number;
const power =
  (a: number, b: number, c: number): Curve =>
  (t) =>
    a + b * Math.pow(t, -c);
const expSat =
  (a: number, b: number, tau: number): Curve =>
  (t) =>
    a + b * Math.exp(-t / tau);

/** History rows for epochs 1..n: val WER from `wer`, val loss from `loss`, a token-emitting blank rate. */
function rows(n: number, wer: Curve, loss: Curve = (t) => 3 * wer(t), noise?: Rng, sd = 0): HistoryRow[] {
  return Array.from({ length: n }, (_, i) => {
    const e = i + 1;
    const z = noise ? sd * noise.normal() : 0;
    return { epoch: e, valWer: wer(e) + z, valLoss: loss(e), blankRate: 0.9 };
  });
}

function ok(f: Forecast) {
  if (f.kind !== 'forecast') throw new Error(`withheld: ${f.message}`);
  return f;
}

const rel = (x: number, y: number): number => Math.abs(x - y) / Math.abs(y);

describe('forecast: the fit', () => {
  it.each([
    ['power', 'a noise-free power law a + b·t^(−c)', power(0.15, 0.7, 0.6), [0.15, 0.7, 0.6]],
    ['exp', 'a noise-free exponential saturation a + b·exp(−t/τ)', expSat(0.2, 0.9, 6), [0.2, 0.9, 6]],
  ] as const)('%s: recovers %s (parameters within 1e-6 relative)', (family, _what, curve, [a, b, theta]) => {
    const t = Array.from({ length: 20 }, (_, i) => i + 1);
    const f = fitFamily(family, t, t.map(curve), recencyWeights(t), 1);
    expect(rel(f.a, a)).toBeLessThan(1e-6);
    expect(rel(f.b, b)).toBeLessThan(1e-6);
    expect(rel(f.theta, theta)).toBeLessThan(1e-6);
  });

  it('picks the family that made the curve, and its band closes on a noise-free curve', () => {
    for (const [family, curve, level] of [
      ['power', power(0.1, 0.8, 0.5), 0.1],
      ['exp', expSat(0.25, 0.7, 5), 0.25],
    ] as const) {
      const f = ok(forecast(rows(15, curve), 45, null));
      expect(f.wer.fit.family).toBe(family);
      expect(f.wer.final.value).toBeCloseTo(curve(45), 6);
      expect(f.wer.final.hi - f.wer.final.lo).toBeLessThan(1e-6);
      expect(f.wer.limit).toBeCloseTo(level, 6);
      expect(f.loss.final.value).toBeCloseTo(3 * curve(45), 5);
    }
  });

  it('weights double every H = max(3, span / 2) epochs toward the last', () => {
    expect(recencyWeights([1, 2, 3, 4])).toEqual([0.5, Math.pow(2, -2 / 3), Math.pow(2, -1 / 3), 1]);
    const w = recencyWeights([1, 5, 11, 21]); // H = 10
    expect(w[0]).toBeCloseTo(0.25, 12);
    expect(w[2]).toBeCloseTo(0.5, 12);
  });

  it('keeps WER in [0, 1] and the level a curve tends to at 0 or above', () => {
    const f = ok(
      forecast(
        rows(10, (t) => 0.9 - 0.08 * t),
        60,
        null,
      ),
    ); // a straight line through 0
    expect(f.wer.fit.a).toBeGreaterThanOrEqual(0);
    for (const p of f.wer.curve) {
      for (const v of [p.value, p.lo, p.hi]) expect(v >= 0 && v <= 1).toBe(true);
    }
    // A first epoch of insertions (val WER 700%, as recorded runs have) is clamped to 1: blank-plateau-like, not fitted.
    const g = ok(
      forecast([{ epoch: 1, valWer: 7, valLoss: 9, blankRate: 0.99 }, ...rows(8, power(0.1, 0.8, 0.5)).map((r) => ({ ...r, epoch: r.epoch + 1 }))], 20, null),
    );
    expect(g.fittedEpochs[0]).toBe(2);
  });
});

describe('forecast: the interval', () => {
  it('the 80% band covers the final measured value in 70–90% of 200 noisy synthetic runs (seeded)', () => {
    const rng = new Rng(7);
    let covered = 0;
    const n = 200;
    for (let k = 0; k < n; k++) {
      const a = 0.05 + 0.3 * rng.next();
      const b = 0.4 + 0.5 * rng.next();
      const curve = k % 2 === 0 ? power(a, b, 0.3 + 0.9 * rng.next()) : expSat(a, b, 3 + 10 * rng.next());
      const sd = 0.01 + 0.02 * rng.next();
      const f = ok(forecast(rows(20, curve, undefined, rng, sd), 60, null, { draws: 100 }));
      const measured = Math.min(Math.max(curve(60) + sd * rng.normal(), 0), 1);
      if (f.wer.final.lo <= measured && measured <= f.wer.final.hi) covered++;
    }
    console.log(`forecast coverage on synthetic runs: ${covered} / ${n}`);
    expect(covered / n).toBeGreaterThanOrEqual(0.7);
    expect(covered / n).toBeLessThanOrEqual(0.9);
  }, 120_000);

  it('is deterministic for the same input, and the seed moves only the band', () => {
    const h = rows(15, power(0.2, 0.7, 0.5), undefined, new Rng(3), 0.02);
    const a = forecast(h, 40, 0.3);
    expect(forecast(h, 40, 0.3)).toEqual(a);
    const b = ok(forecast(h, 40, 0.3, { seed: 21 }));
    expect(b.wer.final.value).toBe(ok(a).wer.final.value);
    expect(b.wer.final.lo).not.toBe(ok(a).wer.final.lo);
  });
});

describe('forecast: the target WER', () => {
  const h = rows(12, power(0.05, 0.75, 0.45), undefined, new Rng(5), 0.01);
  it('the epoch it is reached, with its interval', () => {
    const exact = power(0.05, 0.75, 0.45);
    const truth = Array.from({ length: 100 }, (_, i) => i + 1).find((e) => exact(e) <= 0.2);
    expect(ok(forecast(rows(12, exact), 100, 0.2)).target).toEqual({ kind: 'reached', epoch: truth, lo: truth, hi: truth });
    const t = ok(forecast(h, 100, 0.2)).target;
    expect(t?.kind).toBe('reached');
    if (t?.kind !== 'reached') return;
    expect(t.lo).toBeLessThanOrEqual(t.epoch);
    expect(t.hi === null || t.hi >= t.epoch).toBe(true);
    expect(forecastText(forecast(h, 100, 0.2))).toMatch(/; target near epoch \d+ \(\d+–(\d+|beyond 100)\)$/);
  });
  it('"not within the planned epochs" when the fit does not get there', () => {
    const t = ok(forecast(h, 20, 0.1)).target;
    expect(t).toMatchObject({ kind: 'not-within', plannedEpochs: 20 });
    expect(forecastText(forecast(h, 20, 0.1))).toMatch(/target not within the planned epochs$/);
  });
  it('already reached: the first measured epoch at or below it', () => {
    expect(ok(forecast(h, 40, 0.9)).target).toEqual({ kind: 'already', epoch: 1 });
  });
  it('a target outside (0, 1] is refused, never a forecast', () => {
    for (const bad of [0, -0.1, 1.5, 25, NaN, Infinity]) {
      const f = forecast(h, 40, bad);
      expect(f).toMatchObject({ kind: 'withheld', reason: 'bad-input' });
      if (f.kind === 'withheld') expect(f.message).toMatch(/target WER is a fraction in \(0, 1\]/);
    }
    expect(forecast(h, 40, 1).kind).toBe('forecast');
  });
});

describe('forecast: withheld, with the reason', () => {
  const healthy = rows(12, power(0.1, 0.8, 0.5));
  const withheld = (f: Forecast) => (f.kind === 'withheld' ? f : null);

  it('fewer than 5 evaluated epochs', () => {
    expect(withheld(forecast(healthy.slice(0, 4), 30, null))).toMatchObject({
      reason: 'too-few-epochs',
      message: expect.stringMatching(/^4 evaluated epoch\(s\)/),
    });
    expect(withheld(forecast([], 30, null))?.reason).toBe('too-few-epochs');
    expect(forecast(healthy.slice(0, 5), 30, null).kind).toBe('forecast');
  });

  it('during the blank plateau (val WER ≥ 0.98 or blank rate ≥ 0.99 over the last 3 epochs), and until 5 epochs after it', () => {
    const plateau = rows(10, () => 1).map((r) => ({ ...r, blankRate: 1 }));
    expect(withheld(forecast(plateau, 30, null))).toMatchObject({ reason: 'blank-plateau', message: expect.stringMatching(/epoch 10/) });
    const blanks = healthy.map((r) => ({ ...r, blankRate: 0.995 }));
    expect(withheld(forecast(blanks, 30, null))?.reason).toBe('blank-plateau');
    // Leaves the plateau at epoch 11: fitted from there once 5 epochs are in, t counted from epoch 10.
    const after = [...plateau, ...rows(6, power(0.1, 0.8, 0.5)).map((r) => ({ ...r, epoch: r.epoch + 10 }))];
    expect(withheld(forecast(after.slice(0, 14), 40, null))).toMatchObject({
      reason: 'too-few-epochs',
      message: expect.stringMatching(/since the blank plateau/),
    });
    const f = ok(forecast(after.slice(0, 15), 40, null));
    expect(f.fittedEpochs).toEqual([11, 12, 13, 14, 15]);
    expect(f.wer.fit.theta).toBeCloseTo(0.5, 6);
    expect(f.wer.final.value).toBeCloseTo(power(0.1, 0.8, 0.5)(30), 6);
  });

  it('validation every N epochs: fits the epochs present', () => {
    const every2 = rows(20, power(0.1, 0.8, 0.5)).map((r) => (r.epoch % 2 ? { ...r, valWer: null, valLoss: null, blankRate: null } : r));
    const f = ok(forecast(every2, 40, null));
    expect(f.fittedEpochs).toEqual([2, 4, 6, 8, 10, 12, 14, 16, 18, 20]);
    expect(f.wer.final.value).toBeCloseTo(power(0.1, 0.8, 0.5)(40), 6);
  });

  it('bad rows are refused with the epoch named', () => {
    const cases: [HistoryRow[], RegExp][] = [
      [[...healthy.slice(0, 6), ...healthy.slice(4)], /^epoch 5 follows epoch 6: the history must list each epoch once/],
      [healthy.map((r) => (r.epoch === 7 ? { ...r, valWer: NaN } : r)), /^epoch 7: val WER is NaN$/],
      [healthy.map((r) => (r.epoch === 8 ? { ...r, valLoss: Infinity } : r)), /^epoch 8: val loss is Infinity$/],
      [healthy.map((r) => (r.epoch === 3 ? { ...r, valWer: null } : r)), /^epoch 3 has a val loss but no val WER$/],
      [healthy.map((r) => (r.epoch === 4 ? { ...r, valLoss: null } : r)), /^epoch 4 has a val WER but no val loss$/],
      [[{ ...healthy[0], epoch: 0.5 }], /^epoch 0.5 is not a whole number ≥ 1$/],
    ];
    for (const [h, msg] of cases) {
      const f = withheld(forecast(h, 30, null));
      expect(f?.reason).toBe('bad-input');
      expect(f?.message).toMatch(msg);
    }
    expect(withheld(forecast(healthy, 11, null))?.message).toBe("the planned epochs (11) must be a whole number ≥ the history's last epoch (12)");
  });

  it('says it in one line', () => {
    expect(forecastText(forecast(healthy.slice(0, 3), 30, null))).toBe(
      'forecast withheld: 3 evaluated epoch(s) since the blank plateau ended; a forecast needs 5',
    );
    expect(forecastText(forecast(healthy, 30, null))).toMatch(/^forecast: val WER \d+% at epoch 30 \(\d+–\d+%\)$/);
  });
});

// ---------------------------------------------------------------- the twin's fixtures
// The lab's forecasts of recorded and synthetic histories, committed; python/tests/test_forecast.py
// compares the twin's with them (≤ 1e-6). UPDATE_FORECAST_FIXTURES=1 rewrites them.

const FIXTURE = new URL('./fixtures/forecasts.json', import.meta.url);
const HISTORIES = new URL('./fixtures/histories/', import.meta.url);

function recorded(name: string, epochs: number): HistoryRow[] {
  const run = JSON.parse(readFileSync(new URL(`${name}.json`, HISTORIES), 'utf8')) as { history: HistoryRow[] };
  return run.history.slice(0, epochs).map(({ epoch, valWer, valLoss, blankRate }) => ({ epoch, valWer, valLoss, blankRate }));
}

function fixtureCases() {
  const noisy = rows(18, expSat(0.12, 0.8, 4), undefined, new Rng(11), 0.015);
  const gaps = rows(24, power(0.2, 0.7, 0.7), undefined, new Rng(12), 0.01).map((r) =>
    r.epoch % 3 ? { ...r, valWer: null, valLoss: null, blankRate: null } : r,
  );
  return [
    { name: 'healthy at 10', history: recorded('healthy', 10), plannedEpochs: 30, targetWer: 0.2 },
    { name: 'healthy at 15', history: recorded('healthy', 15), plannedEpochs: 30, targetWer: 0.1 },
    { name: 'overfitting at 20', history: recorded('overfitting', 20), plannedEpochs: 40, targetWer: 0.25 },
    { name: 'overfitting at 26', history: recorded('overfitting', 26), plannedEpochs: 40, targetWer: null },
    { name: 'synthetic exp, noisy', history: noisy, plannedEpochs: 50, targetWer: 0.15 },
    { name: 'synthetic power, every 3rd epoch', history: gaps, plannedEpochs: 60, targetWer: 0.25 },
    { name: 'plateau', history: recorded('plateau-never-ends', 12), plannedEpochs: 30, targetWer: null },
  ];
}

describe('forecast: the twin fixtures', () => {
  it('forecasts.json holds what the lab computes (rewrite with UPDATE_FORECAST_FIXTURES=1)', () => {
    const now = fixtureCases().map((c) => {
      const result = forecast(c.history, c.plannedEpochs, c.targetWer);
      return { ...c, result, text: forecastText(result) };
    });
    if (process.env.UPDATE_FORECAST_FIXTURES) writeFileSync(FIXTURE, `${JSON.stringify(now)}\n`);
    const saved = JSON.parse(readFileSync(FIXTURE, 'utf8')) as typeof now;
    expect(saved.map((c) => c.name)).toEqual(now.map((c) => c.name));
    // JSON round trip (Infinity → null in the loss's clamp is never stored: limits and values are finite).
    expect(JSON.parse(JSON.stringify(now))).toEqual(saved);
  });
});
