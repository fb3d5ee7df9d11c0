// The learning-curve forecast as the page shows it (the Training section's WER chart and its
// Forecast note): from a run's history, its planned epochs and its target WER (the config's
// percent, 0 = none), the projected val WER from the last evaluated epoch to the planned last one,
// its 80% band, and the lines of text — or the reason the forecast is withheld (fit.ts: too few
// evaluated epochs since the blank plateau, still on it, a history with repeated epochs or a
// missing value, a target outside (0, 100]). A withheld forecast has no curve and no band: never a
// wrong one. Pure. The worker makes it from the forecast it computes after each evaluated epoch for
// the doctor (viewOf) and sends it with the epoch event: the page fits nothing (a forecast refits
// both curves to 200 bootstrap draws, and its cost grows with the history and the planned epochs:
// work for the worker, not the page's thread).

import type { HistoryRow } from '../../data/types';
import { forecast, type Forecast } from './fit';

export interface ForecastView {
  kind: 'forecast' | 'withheld';
  lines: string[]; // what the Forecast note says, one line each
  level: number; // the band's central share (0.8)
  projection: [number, number][]; // [epoch, val WER] from the last evaluated epoch to the planned last
  band: [number, number, number][]; // [epoch, lower, upper] over the same epochs
}

const points = (x: number): number => Math.floor(x * 100 + 0.5);
const pct = (x: number): string => `${points(x)}%`;

/** The chart's forecast for a run (`targetPct`: the config's targetWer, percent; 0 = none). */
export function forecastView(history: HistoryRow[], plannedEpochs: number, targetPct: number): ForecastView {
  if (!(Number.isFinite(targetPct) && targetPct >= 0 && targetPct <= 100)) {
    return withheld(`the target WER is 0 (none) or a percent above 0 and at most 100; got ${targetPct}`);
  }
  const target = targetPct > 0 ? targetPct / 100 : null;
  return viewOf(forecast(history, plannedEpochs, target), target);
}

const withheld = (message: string): ForecastView => ({ kind: 'withheld', lines: [`forecast withheld: ${message}`], level: 0.8, projection: [], band: [] });

/** The chart's view of a forecast made with `target` (a fraction, or null: none). */
export function viewOf(f: Forecast, target: number | null): ForecastView {
  if (f.kind === 'withheld') return withheld(f.message);
  const last = f.fittedEpochs[f.fittedEpochs.length - 1];
  const ahead = f.wer.curve.filter((p) => p.epoch >= last);
  const { final } = f.wer;
  const lines = [`projected val WER at epoch ${final.epoch}: ${pct(final.value)} (${points(final.lo)}–${pct(final.hi)}, ${points(f.level)}% interval)`];
  const t = f.target;
  if (target !== null && t) {
    const goal = `target ${pct(target)}`;
    if (t.kind === 'already') lines.push(`${goal} reached at epoch ${t.epoch}`);
    else if (t.kind === 'reached') lines.push(`${goal} near epoch ${t.epoch} (${t.lo}–${t.hi ?? `beyond ${f.plannedEpochs}`})`);
    else lines.push(`${goal}: not within the planned ${f.plannedEpochs} epochs`);
  }
  return {
    kind: 'forecast',
    lines,
    level: f.level,
    projection: ahead.map((p) => [p.epoch, p.value]),
    band: ahead.map((p) => [p.epoch, p.lo, p.hi]),
  };
}
