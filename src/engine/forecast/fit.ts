// Learning-curve forecast (issue 20): from a run's history so far, where val WER and val loss are
// heading by the planned last epoch, with an 80% interval, and when a target WER would be reached.
// No black box: two three-parameter families, fitted by weighted least squares, an interval from
// a residual bootstrap with the lab's seeded RNG (deterministic for the same input). The twin
// (python/ctc_lab/forecast.py) is this file step for step: same weights, grid, search and draws.
//
//   power law               f(t) = a + b · t^(−c)     θ = c   (0.02 … 5)
//   exponential saturation  f(t) = a + b · exp(−t/τ)  θ = τ   (0.25 … 400 epochs)
//
// t counts epochs from the blank plateau's end: t = epoch − t0, t0 = the last evaluated epoch with
// val WER ≥ 0.98 (0 if none), so a run without a blank plateau has t = epoch and one whose last
// blank epoch was 8 is fitted from t = 1 at epoch 9 (a learning curve starts when the model starts
// emitting tokens).
// For each θ on a log grid, a and b are the closed-form weighted linear fit; the best grid point's
// neighbours bracket a golden-section search on ln θ. The family with the smaller weighted
// residual is used. Weights grow toward recent epochs: w = 2^(−(t_last − t)/H), a half-life of
// H = max(3, span / 2) epochs (span = last − first fitted epoch), so the last epochs weigh most
// while the early fast descent still pins the curve's shape.
//
// The interval: residuals of the chosen fit (× √(n / (n − 3)), the usual correction for three
// fitted parameters) are resampled onto the fitted values, both families refitted to each of
// `draws` such curves, and one more resampled residual added (an observed epoch's noise: the band
// is where the measured WER will lie, not only its trend). Band = the draws' 10% and 90%
// quantiles at each epoch. WER (a fraction, 0..1) is clamped to [0, 1] before the fit and in every
// prediction; loss to [0, ∞).
//
// Withheld, with the reason, when a forecast would be a guess: fewer than `minEpochs` evaluated
// epochs since the blank plateau, or the recent epochs still on it (val WER ≥ 0.98 or blank rate
// ≥ 0.99; not 0.95: recorded digits runs that emit tokens, at val WER 0.6 and below, have blank
// rates of 0.90–0.98, their plateau 0.99–1). Refused as bad input, naming the epoch: epochs not strictly increasing (a resumed run
// repeating epochs), a NaN / infinite value, an epoch with val loss but no val WER (or the
// reverse); a target outside (0, 1]; planned epochs before the history's last. Epochs without
// validation (evalEvery > 1: both values null) are skipped; the fit uses the epochs present.

import type { HistoryRow } from '../../data/types';
import { Rng } from '../../lib/rng';

export interface ForecastOptions {
  minEpochs: number; // evaluated epochs after the blank plateau before forecasting, 5
  plateauWer: number; // val WER at or above this is blank output, 0.98
  plateauBlankRate: number; // blank rate at or above this is the plateau too, 0.99 (see the header)
  plateauWindow: number; // withheld while the last this many evaluated epochs are all on it, 3
  level: number; // central interval, 0.8
  draws: number; // bootstrap refits, 200
  seed: number; // the bootstrap's RNG seed, 20
}

export const FORECAST_DEFAULTS: ForecastOptions = {
  minEpochs: 5,
  plateauWer: 0.98,
  plateauBlankRate: 0.99,
  plateauWindow: 3,
  level: 0.8,
  draws: 200,
  seed: 20,
};

export type Family = 'power' | 'exp';

/** One fitted curve: f(t) = a + b·g(t; θ), t = epoch − t0. */
export interface CurveFit {
  family: Family;
  a: number;
  b: number;
  theta: number; // c (power) or τ (exp)
  sse: number; // weighted residual sum of squares
}

export interface CurvePoint {
  epoch: number;
  value: number; // the fit
  lo: number; // the interval (level) of the measured value
  hi: number;
}

export interface CurveForecast {
  fit: CurveFit;
  t0: number; // t = epoch − t0: the last blank-output epoch (0 if none)
  limit: number; // where the curve levels off (a, clamped)
  curve: CurvePoint[]; // every epoch from the first fitted to the planned last
  final: CurvePoint; // at the planned last epoch
}

export type TargetForecast =
  | { kind: 'already'; epoch: number } // a measured val WER is at or below the target
  | { kind: 'reached'; epoch: number; lo: number; hi: number | null } // hi null: beyond the planned epochs
  | { kind: 'not-within'; plannedEpochs: number; share: number }; // share of draws that reach it

export type Forecast =
  | {
      kind: 'forecast';
      plannedEpochs: number;
      level: number;
      fittedEpochs: number[]; // the epochs the fit used
      wer: CurveForecast;
      loss: CurveForecast;
      target: TargetForecast | null;
    }
  | { kind: 'withheld'; reason: 'bad-input' | 'too-few-epochs' | 'blank-plateau'; message: string };

// ---------------------------------------------------------------- the two families

const GRID = 41; // log-spaced θ values
const GOLDEN_STEPS = 60; // bracket × 0.618^60 ≈ 3e-13 in ln θ
const RANGE: Record<Family, [number, number]> = { power: [0.02, 5], exp: [0.25, 400] };
const FAMILIES: Family[] = ['power', 'exp'];

function basis(family: Family, t: number, theta: number): number {
  return family === 'power' ? Math.pow(t, -theta) : Math.exp(-t / theta);
}

/** The weighted linear fit of y ≈ a + b·g(t; θ) at one θ, 0 ≤ a ≤ aMax (centred sums, in index order). */
function linearFit(family: Family, t: number[], y: number[], w: number[], aMax: number, theta: number): CurveFit {
  const n = t.length;
  const g = new Array<number>(n);
  let sw = 0;
  let sg = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    g[i] = basis(family, t[i], theta);
    sw += w[i];
    sg += w[i] * g[i];
    sy += w[i] * y[i];
  }
  const gm = sg / sw;
  const ym = sy / sw;
  let sgg = 0;
  let sgy = 0;
  for (let i = 0; i < n; i++) {
    sgg += w[i] * (g[i] - gm) * (g[i] - gm);
    sgy += w[i] * (g[i] - gm) * (y[i] - ym);
  }
  let b = sgg > 0 ? sgy / sgg : 0;
  let a = ym - b * gm;
  // The level a curve tends to lies in [0, aMax] (a WER in [0, 1], a loss ≥ 0): when the free fit's
  // does not, the constrained least squares has a on that bound and b its one-variable fit.
  if (a < 0 || a > aMax) {
    a = a < 0 ? 0 : aMax;
    let sgg0 = 0;
    let sgy0 = 0;
    for (let i = 0; i < n; i++) {
      sgg0 += w[i] * g[i] * g[i];
      sgy0 += w[i] * g[i] * (y[i] - a);
    }
    b = sgg0 > 0 ? sgy0 / sgg0 : 0;
  }
  let sse = 0;
  for (let i = 0; i < n; i++) {
    const r = y[i] - a - b * g[i];
    sse += w[i] * r * r;
  }
  return { family, a, b, theta, sse };
}

/** Best θ of one family: a log grid, then golden section on ln θ between the best point's neighbours. */
export function fitFamily(family: Family, t: number[], y: number[], w: number[], aMax: number): CurveFit {
  const [lo, hi] = RANGE[family];
  const u0 = Math.log(lo);
  const du = (Math.log(hi) - u0) / (GRID - 1);
  let best = linearFit(family, t, y, w, aMax, Math.exp(u0));
  let k = 0;
  for (let j = 1; j < GRID; j++) {
    const f = linearFit(family, t, y, w, aMax, Math.exp(u0 + j * du));
    if (f.sse < best.sse) {
      best = f;
      k = j;
    }
  }
  let ua = u0 + Math.max(k - 1, 0) * du;
  let ub = u0 + Math.min(k + 1, GRID - 1) * du;
  const r = (Math.sqrt(5) - 1) / 2;
  let u1 = ub - r * (ub - ua);
  let u2 = ua + r * (ub - ua);
  let f1 = linearFit(family, t, y, w, aMax, Math.exp(u1)).sse;
  let f2 = linearFit(family, t, y, w, aMax, Math.exp(u2)).sse;
  for (let s = 0; s < GOLDEN_STEPS; s++) {
    if (f1 <= f2) {
      ub = u2;
      u2 = u1;
      f2 = f1;
      u1 = ub - r * (ub - ua);
      f1 = linearFit(family, t, y, w, aMax, Math.exp(u1)).sse;
    } else {
      ua = u1;
      u1 = u2;
      f1 = f2;
      u2 = ua + r * (ub - ua);
      f2 = linearFit(family, t, y, w, aMax, Math.exp(u2)).sse;
    }
  }
  const found = linearFit(family, t, y, w, aMax, Math.exp((ua + ub) / 2));
  return found.sse <= best.sse ? found : best;
}

/** Both families; the one with the smaller weighted residual (power on a tie). */
export function fitCurve(t: number[], y: number[], w: number[], aMax: number): CurveFit {
  const fits = FAMILIES.map((f) => fitFamily(f, t, y, w, aMax));
  return fits[1].sse < fits[0].sse ? fits[1] : fits[0];
}

export function evalFit(fit: CurveFit, t: number): number {
  return fit.a + fit.b * basis(fit.family, t, fit.theta);
}

/** w = 2^(−(t_last − t)/H), H = max(3, span / 2) epochs. */
export function recencyWeights(t: number[]): number[] {
  const last = t[t.length - 1];
  const h = Math.max(3, (last - t[0]) / 2);
  return t.map((ti) => Math.pow(2, -(last - ti) / h));
}

/** Type-7 quantile (linear between order statistics) of sorted values. */
function quantile(sorted: number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const i = Math.floor(h);
  return i + 1 < sorted.length ? sorted[i] + (h - i) * (sorted[i + 1] - sorted[i]) : sorted[i];
}

// ---------------------------------------------------------------- fit with bootstrap

interface Bootstrap {
  fit: CurveFit;
  draws: CurveFit[];
  noise: number[]; // one resampled residual per draw
}

/** The fit and its residual-bootstrap refits. Draw order: n residual indices, then one for the noise. */
function bootstrap(t: number[], y: number[], w: number[], aMax: number, o: ForecastOptions): Bootstrap {
  const n = t.length;
  const fit = fitCurve(t, y, w, aMax);
  const yhat = t.map((ti) => evalFit(fit, ti));
  const inflate = Math.sqrt(n / (n - 3));
  const res = y.map((yi, i) => (yi - yhat[i]) * inflate);
  const rng = new Rng(o.seed);
  const draws: CurveFit[] = [];
  const noise: number[] = [];
  for (let d = 0; d < o.draws; d++) {
    const ys = yhat.map((v) => v + res[rng.int(0, n - 1)]);
    noise.push(res[rng.int(0, n - 1)]);
    draws.push(fitCurve(t, ys, w, aMax));
  }
  return { fit, draws, noise };
}

function curveForecast(bs: Bootstrap, t0: number, seg0: number, planned: number, clampHi: number, level: number): CurveForecast {
  const clamp = (v: number): number => Math.min(Math.max(v, 0), clampHi);
  const curve: CurvePoint[] = [];
  for (let epoch = seg0; epoch <= planned; epoch++) {
    const t = epoch - t0;
    const ds = bs.draws.map((f, d) => clamp(evalFit(f, t) + bs.noise[d])).sort((p, q) => p - q);
    curve.push({
      epoch,
      value: clamp(evalFit(bs.fit, t)),
      lo: quantile(ds, (1 - level) / 2),
      hi: quantile(ds, (1 + level) / 2),
    });
  }
  return { fit: bs.fit, t0, limit: clamp(bs.fit.a), curve, final: curve[curve.length - 1] };
}

/** First epoch in (from, planned] whose fitted WER is at or below the target; Infinity if none. */
function firstEpochAtOrBelow(fit: CurveFit, t0: number, from: number, planned: number, target: number): number {
  for (let epoch = from + 1; epoch <= planned; epoch++) {
    if (Math.min(Math.max(evalFit(fit, epoch - t0), 0), 1) <= target) return epoch;
  }
  return Infinity;
}

function targetForecast(bs: Bootstrap, t0: number, rows: Evaluated[], planned: number, target: number, level: number): TargetForecast {
  const hit = rows.find((r) => r.wer <= target);
  if (hit) return { kind: 'already', epoch: hit.epoch };
  const last = rows[rows.length - 1].epoch;
  const point = firstEpochAtOrBelow(bs.fit, t0, last, planned, target);
  const ds = bs.draws.map((f) => firstEpochAtOrBelow(f, t0, last, planned, target)).sort((p, q) => p - q);
  if (point === Infinity) {
    return { kind: 'not-within', plannedEpochs: planned, share: ds.filter((e) => e !== Infinity).length / ds.length };
  }
  // Nearest-rank quantiles: epochs stay whole, and a quantile among the draws that never get there is "beyond".
  const lo = ds[Math.floor((ds.length - 1) * ((1 - level) / 2))];
  const hi = ds[Math.ceil((ds.length - 1) * ((1 + level) / 2))];
  return { kind: 'reached', epoch: point, lo, hi: hi === Infinity ? null : hi };
}

// ---------------------------------------------------------------- the history

interface Evaluated {
  epoch: number;
  wer: number; // clamped to [0, 1]
  loss: number;
  blankRate: number | null;
}

function withheld(reason: 'bad-input' | 'too-few-epochs' | 'blank-plateau', message: string): Forecast {
  return { kind: 'withheld', reason, message };
}

const points = (x: number): number => Math.floor(x * 100 + 0.5); // a WER in whole percent
const pct = (x: number): string => `${points(x)}%`;

/** The evaluated epochs, or the first bad row's message. */
function evaluatedRows(history: HistoryRow[]): Evaluated[] | string {
  const rows: Evaluated[] = [];
  let prev = 0;
  for (const row of history) {
    const { epoch } = row;
    if (!Number.isInteger(epoch) || epoch <= prev) {
      return prev > 0
        ? `epoch ${epoch} follows epoch ${prev}: the history must list each epoch once, in increasing order (a resumed run repeating epochs?)`
        : `epoch ${epoch} is not a whole number ≥ 1`;
    }
    prev = epoch;
    const wer = row.valWer ?? null;
    const loss = row.valLoss ?? null;
    if (wer === null && loss === null) continue; // not validated this epoch (evalEvery > 1)
    if (wer === null || loss === null) return `epoch ${epoch} has a val ${wer === null ? 'loss but no val WER' : 'WER but no val loss'}`;
    if (!Number.isFinite(wer)) return `epoch ${epoch}: val WER is ${wer}`;
    if (!Number.isFinite(loss)) return `epoch ${epoch}: val loss is ${loss}`;
    const blankRate = row.blankRate ?? null;
    if (blankRate !== null && !Number.isFinite(blankRate)) return `epoch ${epoch}: blank rate is ${blankRate}`;
    rows.push({ epoch, wer: Math.min(Math.max(wer, 0), 1), loss, blankRate });
  }
  return rows;
}

/**
 * The forecast of val WER and val loss at `plannedEpochs` from a run's history so far, and, when
 * `targetWer` (a fraction in (0, 1]) is given, the epoch it would be reached. Withheld with a
 * message when the history cannot support one (see the header).
 */
export function forecast(history: HistoryRow[], plannedEpochs: number, targetWer: number | null, options: Partial<ForecastOptions> = {}): Forecast {
  const o = { ...FORECAST_DEFAULTS, ...options };
  if (targetWer !== null && !(Number.isFinite(targetWer) && targetWer > 0 && targetWer <= 1)) {
    return withheld('bad-input', `the target WER is a fraction in (0, 1] (0.25 for 25%); got ${targetWer}`);
  }
  const rows = evaluatedRows(history);
  if (typeof rows === 'string') return withheld('bad-input', rows);
  if (rows.length === 0) return withheld('too-few-epochs', `no evaluated epochs yet (a forecast needs ${o.minEpochs})`);
  const last = rows[rows.length - 1].epoch;
  if (!Number.isInteger(plannedEpochs) || plannedEpochs < last) {
    return withheld('bad-input', `the planned epochs (${plannedEpochs}) must be a whole number ≥ the history's last epoch (${last})`);
  }
  const onPlateau = (r: Evaluated): boolean => r.wer >= o.plateauWer || (r.blankRate !== null && r.blankRate >= o.plateauBlankRate);
  if (rows.slice(-o.plateauWindow).every(onPlateau)) {
    return withheld(
      'blank-plateau',
      `still on the blank plateau at epoch ${last} (val WER ${pct(rows[rows.length - 1].wer)}): no learning curve to extrapolate yet`,
    );
  }
  // The fitted segment: the evaluated epochs after the last blank-output one.
  let start = 0;
  rows.forEach((r, i) => {
    if (r.wer >= o.plateauWer) start = i + 1;
  });
  const seg = rows.slice(start);
  if (seg.length < o.minEpochs) {
    return withheld('too-few-epochs', `${seg.length} evaluated epoch(s) since the blank plateau ended; a forecast needs ${o.minEpochs}`);
  }
  const t0 = start > 0 ? rows[start - 1].epoch : 0;
  const t = seg.map((r) => r.epoch - t0);
  const w = recencyWeights(t);
  const werBs = bootstrap(
    t,
    seg.map((r) => r.wer),
    w,
    1,
    o,
  );
  const lossBs = bootstrap(
    t,
    seg.map((r) => r.loss),
    w,
    Infinity,
    o,
  );
  return {
    kind: 'forecast',
    plannedEpochs,
    level: o.level,
    fittedEpochs: seg.map((r) => r.epoch),
    wer: curveForecast(werBs, t0, seg[0].epoch, plannedEpochs, 1, o.level),
    loss: curveForecast(lossBs, t0, seg[0].epoch, plannedEpochs, Infinity, o.level),
    target: targetWer === null ? null : targetForecast(werBs, t0, rows, plannedEpochs, targetWer, o.level),
  };
}

/** One line for a log (the twin's per-epoch line) and the doctor: "forecast: val WER 23% at epoch 60 (18–29%)". */
export function forecastText(f: Forecast): string {
  if (f.kind === 'withheld') return `forecast withheld: ${f.message}`;
  const { final } = f.wer;
  let s = `forecast: val WER ${pct(final.value)} at epoch ${final.epoch} (${points(final.lo)}–${pct(final.hi)})`;
  const g = f.target;
  if (g?.kind === 'already') s += `; target reached at epoch ${g.epoch}`;
  if (g?.kind === 'reached') s += `; target near epoch ${g.epoch} (${g.lo}–${g.hi ?? `beyond ${f.plannedEpochs}`})`;
  if (g?.kind === 'not-within') s += `; target not within the planned epochs`;
  return s;
}
