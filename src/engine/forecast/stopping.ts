// Plateau-aware early stopping (issue 20): decides, for an epoch that did not improve the monitored
// metric, whether it counts toward patience or whether patience is paused because the run is in
// CTC's blank plateau and still learning. The field guide's run was stopped at epoch 45 while it
// learned; tconv-bilstm at patience 15 sat in the plateau (train loss 2.76 → 2.67 over twelve
// epochs, val WER 100%) and was stopped at epoch 16. The twin (python/ctc_lab/stopping.py) is this
// file line for line; src/engine/forecast/fixtures/stopping.json holds the lab's decisions on the
// recorded histories and both test suites assert them.
//
// The signal: val loss over the last `window` evaluated epochs (train loss, every epoch, when the
// history has no val loss). "Falling by more than noise" is explicit: the least-squares slope b of
// ln(loss) against the epoch number, its standard error se = √(SSR / (n − 2) / Sxx), and
//   falling  b + z·se < 0 and e^b − 1 < −minRate   (z = 2; minRate 0.1%/epoch: the recorded
//            tconv-bilstm plateau that never ended crawled at −0.05 to −0.1%/epoch for 12 epochs)
//   slow     b + z·se < 0 but slower than that ("falling slower than 0.1%/epoch"): counts
//   rising   b − z·se > 0
//   flat     otherwise ("flat within noise")
// Rates are shown as e^b − 1 per epoch, the band as ± z·se (percent per epoch). Epoch numbers,
// not row indexes, are the abscissa: evaluation every N epochs gives a slope per epoch as well.
//
// The blank plateau: the last evaluated epoch has blank rate ≥ 0.99, or val WER ≥ 0.98 at a blank
// rate ≥ 0.9 (the thresholds of fit.ts: recorded digits runs that emit tokens have blank rates
// 0.90–0.98, their plateau 0.99–1; 0.95 would hold a learning run's emitting epochs in "the
// plateau"; a WER ≥ 98% at a blank rate below 0.9 is a fresh model's noise output, epoch 1 of the
// recorded runs, WER 270–700%). The WER half is the "WER monitored and not moved yet".
// Since = the first of the trailing evaluated epochs all on it.
//
// Patience is paused when in the plateau and the signal is falling; otherwise the epoch counts as
// the plain rule counts it. A stuck run (plateau, loss flat) still stops, and its reason names the
// signal. Bad input is never judged: epochs not strictly increasing (a resumed run repeating
// epochs), a non-finite or non-positive loss, or fewer than `minEpochs` points in the window give
// a message and `paused: false` (the plain rule's count), never a pause on a guess.

import type { HistoryRow } from '../../data/types';

export interface StoppingOptions {
  window: number; // evaluated epochs in the slope, 8
  minEpochs: number; // points needed to judge, 4
  z: number; // standard errors a slope must clear, 2
  minRate: number; // a fall slower than this share per epoch is flat, 0.001
  plateauWer: number; // val WER at or above this is blank output, 0.98
  plateauBlankRate: number; // blank rate at or above this is the plateau too, 0.99
  emittingBlankRate: number; // below this blank rate a val WER ≥ plateauWer is noise output, not the plateau, 0.9
}

export const STOPPING_DEFAULTS: StoppingOptions = {
  window: 8,
  minEpochs: 4,
  z: 2,
  minRate: 0.001,
  plateauWer: 0.98,
  plateauBlankRate: 0.99,
  emittingBlankRate: 0.9,
};

export interface StallJudgement {
  paused: boolean; // patience does not count this epoch
  signal: 'val loss' | 'train loss' | null; // null: not judged (the message says why)
  trend: 'falling' | 'slow' | 'flat' | 'rising' | null; // slow: beyond noise but slower than minRate
  rate: number | null; // e^b − 1 per epoch
  band: number | null; // z·se per epoch
  minRate: number;
  plateauSince: number | null; // first epoch of the trailing blank plateau, null when not in it
  message: string;
}

// Percent per epoch: one decimal from 1%, two below (a plateau's −0.07% is not "−0.1%").
const abs = (x: number) => `${Math.abs(x * 100).toFixed(Math.abs(x) >= 0.01 ? 1 : 2)}%`;
const pct = (x: number) => `${x < 0 ? '−' : x > 0 ? '+' : ''}${abs(x)}`;

/** The trend phrase: "val loss falling (−1.2%/epoch ± 0.3%)". */
export function trendText(j: StallJudgement): string {
  if (j.signal === null || j.rate === null || j.band === null) return j.message;
  const what = j.trend === 'flat' ? 'flat within noise' : j.trend === 'slow' ? `falling slower than ${abs(j.minRate)}/epoch` : j.trend;
  return `${j.signal} ${what} (${pct(j.rate)}/epoch ± ${abs(j.band)})`;
}

const unjudged = (message: string, minRate: number): StallJudgement => ({
  paused: false,
  signal: null,
  trend: null,
  rate: null,
  band: null,
  minRate,
  plateauSince: null,
  message,
});

/** Least squares of y on x: slope and its standard error. */
function slope(x: number[], y: number[]): { b: number; se: number } {
  const n = x.length;
  const mx = x.reduce((s, v) => s + v, 0) / n,
    my = y.reduce((s, v) => s + v, 0) / n;
  let sxx = 0,
    sxy = 0;
  for (let i = 0; i < n; i++) {
    sxx += (x[i] - mx) ** 2;
    sxy += (x[i] - mx) * (y[i] - my);
  }
  const b = sxy / sxx;
  let ssr = 0;
  for (let i = 0; i < n; i++) ssr += (y[i] - my - b * (x[i] - mx)) ** 2;
  return { b, se: Math.sqrt(ssr / (n - 2) / sxx) };
}

/** Judges the history's last epoch (see the header). */
export function judgeStall(history: readonly HistoryRow[], options: Partial<StoppingOptions> = {}): StallJudgement {
  const o = { ...STOPPING_DEFAULTS, ...options };
  for (let i = 1; i < history.length; i++)
    if (!(history[i].epoch > history[i - 1].epoch))
      return unjudged(
        `cannot judge the trend: epoch ${history[i].epoch} follows epoch ${history[i - 1].epoch} (a resumed run's repeated epochs?); patience counts`,
        o.minRate,
      );
  const evaluated = history.filter((r) => r.valLoss != null || r.valWer != null);
  const useVal = evaluated.length > 0 && evaluated.every((r) => r.valLoss != null);
  const signal = useVal ? 'val loss' : 'train loss';
  const rows = (useVal ? evaluated : history).slice(-o.window);
  const key = useVal ? 'valLoss' : 'trainLoss';
  for (const r of rows) {
    const v = r[key];
    if (v == null || !Number.isFinite(v) || v <= 0) return unjudged(`cannot judge the trend: epoch ${r.epoch} has ${signal} ${v}; patience counts`, o.minRate);
  }
  if (rows.length < o.minEpochs)
    return unjudged(`too short to judge the trend: ${rows.length} epochs with ${signal}, ${o.minEpochs} needed; patience counts`, o.minRate);
  const { b, se } = slope(
    rows.map((r) => r.epoch),
    rows.map((r) => Math.log(r[key] as number)),
  );
  const rate = Math.expm1(b),
    band = o.z * se;
  const trend = b + band < 0 ? (rate < -o.minRate ? 'falling' : 'slow') : b - band > 0 ? 'rising' : 'flat';
  const onPlateau = (r: HistoryRow) =>
    (r.blankRate != null && r.blankRate >= o.plateauBlankRate) ||
    (r.valWer != null && r.valWer >= o.plateauWer && (r.blankRate == null || r.blankRate >= o.emittingBlankRate));
  let plateauSince: number | null = null;
  for (let i = evaluated.length - 1; i >= 0 && onPlateau(evaluated[i]); i--) plateauSince = evaluated[i].epoch;
  const paused = plateauSince !== null && trend === 'falling';
  const j: StallJudgement = { paused, signal, trend, rate, band, minRate: o.minRate, plateauSince, message: '' };
  const last = evaluated.at(-1);
  const where =
    plateauSince !== null
      ? `in the blank plateau since epoch ${plateauSince}`
      : last?.valWer != null
        ? `past the blank plateau (val WER ${(last.valWer * 100).toFixed(0)}%)`
        : 'no val WER to place the blank plateau';
  j.message = paused ? `${where}, ${signal} ${pct(rate)}/epoch: patience paused` : `${where}, ${trendText(j)}: patience counts`;
  return j;
}
