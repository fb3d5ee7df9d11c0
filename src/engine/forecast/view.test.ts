// The chart's forecast (view.ts): a projection and band only where fit.ts makes a forecast, the
// reason as text otherwise (too short, evaluation gaps, a resumed run's repeated epochs, the blank
// plateau, a bad target); on noise-free curves the projection is the curve that made the history.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HistoryRow } from '../../data/types';
import { forecastView } from './view';

/** Epochs 1..n of a power law a + b·t^(−c) (val loss 3× it), emitting tokens (blank rate 0.9). */
function powerRows(n: number, a = 0.1, b = 0.8, c = 0.5): HistoryRow[] {
  return Array.from({ length: n }, (_, i) => {
    const wer = a + b * Math.pow(i + 1, -c);
    return { epoch: i + 1, valWer: wer, valLoss: 3 * wer, blankRate: 0.9 };
  });
}
const truth = (t: number) => 0.1 + 0.8 * Math.pow(t, -0.5);

const recorded = (name: string, epochs: number): HistoryRow[] =>
  JSON.parse(readFileSync(new URL(`./fixtures/histories/${name}.json`, import.meta.url), 'utf8')).history.slice(0, epochs);

describe('forecastView: the chart data', () => {
  it('a forecast: the projection from the last evaluated epoch to the planned last one is the curve that made the history, inside its band', () => {
    const v = forecastView(powerRows(12), 40, 0);
    expect(v.kind).toBe('forecast');
    expect(v.projection.map(([e]) => e)).toEqual(Array.from({ length: 29 }, (_, i) => 12 + i));
    for (const [e, y] of v.projection) expect(y).toBeCloseTo(truth(e), 6);
    expect(v.band.map(([e]) => e)).toEqual(v.projection.map(([e]) => e));
    for (const [i, [, lo, hi]] of v.band.entries()) {
      expect(lo).toBeLessThanOrEqual(v.projection[i][1] + 1e-9);
      expect(hi).toBeGreaterThanOrEqual(v.projection[i][1] - 1e-9);
    }
    // 0.1 + 0.8/√40 = 22.6%; noise-free, the band closes on it.
    expect(v.lines).toEqual(['projected val WER at epoch 40: 23% (23–23%, 80% interval)']);
  });

  it('with a target: the epoch it is reached; "not within the planned epochs"; already reached', () => {
    // 0.1 + 0.8/√t ≤ 0.25 from t = (0.8/0.15)² = 28.4, so epoch 29.
    expect(forecastView(powerRows(12), 40, 25).lines[1]).toBe('target 25% near epoch 29 (29–29)');
    expect(forecastView(powerRows(12), 40, 15).lines[1]).toBe('target 15%: not within the planned 40 epochs');
    // Measured 0.1 + 0.8/√t: 35.3% at epoch 10, 34.1% at epoch 11: a 35% target was met at epoch 11.
    expect(forecastView(powerRows(12), 40, 35).lines[1]).toBe('target 35% reached at epoch 11');
    expect(forecastView(powerRows(12), 40, 0).lines).toHaveLength(1);
  });

  it('evaluation every 3rd epoch: the fit uses the evaluated epochs and projects from the last one', () => {
    const every3 = powerRows(15).map((r) => (r.epoch % 3 === 0 ? r : { ...r, valWer: null, valLoss: null, blankRate: null }));
    const v = forecastView(every3, 30, 0);
    expect(v.kind).toBe('forecast');
    expect(v.projection[0][0]).toBe(15);
    for (const [e, y] of v.projection) expect(y).toBeCloseTo(truth(e), 6);
    // Only 4 evaluated epochs by epoch 12: too few, whatever the epoch count says.
    expect(forecastView(every3.slice(0, 12), 30, 0)).toEqual({
      kind: 'withheld',
      lines: ['forecast withheld: 4 evaluated epoch(s) since the blank plateau ended; a forecast needs 5'],
      level: 0.8,
      projection: [],
      band: [],
    });
  });

  it('withheld, with the reason and no curve: too short, a resumed run repeating epochs, a missing value, the blank plateau, a bad target', () => {
    const cases: [HistoryRow[], number, number, string][] = [
      [powerRows(3), 40, 0, 'forecast withheld: 3 evaluated epoch(s) since the blank plateau ended; a forecast needs 5'],
      [[], 40, 0, 'forecast withheld: no evaluated epochs yet (a forecast needs 5)'],
      [[...powerRows(8), ...powerRows(10).slice(6)], 40, 0, 'epoch 7 follows epoch 8'],
      [powerRows(8).map((r) => (r.epoch === 6 ? { ...r, valWer: null } : r)), 40, 0, 'epoch 6 has a val loss but no val WER'],
      [recorded('plateau-never-ends', 20), 30, 25, 'forecast withheld: still on the blank plateau at epoch 20 (val WER 100%)'],
      [powerRows(12), 40, 150, 'forecast withheld: the target WER is 0 (none) or a percent above 0 and at most 100; got 150'],
      [powerRows(12), 40, -5, 'got -5'],
      [powerRows(12), 40, NaN, 'got NaN'],
      [powerRows(12), 10, 0, 'the planned epochs (10) must be a whole number ≥ the history'],
    ];
    for (const [history, planned, target, text] of cases) {
      const v = forecastView(history, planned, target);
      expect(v.kind).toBe('withheld');
      expect(v.lines).toHaveLength(1);
      expect(v.lines[0]).toContain(text);
      expect(v.projection).toEqual([]);
      expect(v.band).toEqual([]);
    }
  });

  it('a recorded run (healthy, at epoch 12 of 30): the projection starts at the last epoch, the band holds it, numbers as the line says', () => {
    const v = forecastView(recorded('healthy', 12), 30, 20);
    expect(v.kind).toBe('forecast');
    expect(v.projection[0][0]).toBe(12);
    expect(v.projection.at(-1)![0]).toBe(30);
    const [, lo, hi] = v.band.at(-1)!;
    const y = v.projection.at(-1)![1];
    expect(lo).toBeLessThanOrEqual(y);
    expect(hi).toBeGreaterThanOrEqual(y);
    const pct = (x: number) => Math.floor(x * 100 + 0.5);
    expect(v.lines[0]).toBe(`projected val WER at epoch 30: ${pct(y)}% (${pct(lo)}–${pct(hi)}%, 80% interval)`);
    expect(v.lines[1]).toMatch(/^target 20% (near epoch \d+ \(\d+–(\d+|beyond 30)\)|: not within the planned 30 epochs)$/);
  });
});
