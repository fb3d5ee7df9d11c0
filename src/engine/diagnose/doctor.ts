// The live training doctor: watches per-epoch metrics while a run trains and raises an alert,
// once, with the epoch it fired, when a failure of the field guide's kind shows up.
// Calibrated on a healthy run (issue #11): a CTC model starts with epochs of blank-only output
// while its loss falls fast, its first gradient norms are large (hundreds, clipped to 5, under
// Adam), and a converged run's loss flattens at a low WER — none of these is an alert.
// With the learning-curve forecast (../forecast/fit.ts) it also says, once, where the run is
// heading: when the target WER would be reached and whether early stopping would end the run
// first, or that val WER is projected to level off above the target. A withheld forecast (too
// few epochs, the blank plateau, bad input) says nothing here: the chart shows its reason.

import type { Forecast } from '../forecast/fit';

export interface DoctorObservation {
  epoch: number;
  loss: number; // mean training loss of the epoch (NaN/Inf when a batch diverged)
  wer: number | null; // 0..1, greedy decoding
  blankRate: number | null; // share of output frames whose argmax is blank
  gradNorm: number | null; // global gradient norm
  earlyStopping?: { counter: number; patience: number } | null; // epochs without improvement
  patiencePaused?: string | null; // the plateau-aware rule's message when it paused patience this epoch (forecast/stopping.ts)
  forecast?: Forecast | null; // the learning-curve forecast after this epoch, asked about options.targetWer
  best?: number | null; // early stopping's best monitored value so far (its state), for the forecast's patience check
  valLoss?: number | null; // mean per-token val loss: no-generalisation states the gap to the training loss
}

export interface DoctorAlert {
  id:
    | 'non-finite-loss'
    | 'blank-collapse'
    | 'plateau'
    | 'no-generalisation'
    | 'vanishing-gradients'
    | 'exploding-gradients'
    | 'early-stop-high-wer'
    | 'patience-paused'
    | 'forecast-target'
    | 'forecast-level-off';
  epoch: number;
  severity: 'info' | 'warn' | 'fail'; // info: where the run is heading, nothing wrong
  message: string;
}

export interface DoctorOptions {
  blankEpochs: number; // blank rate above 90% for this many epochs in a row, usual 5
  blankLossDrop: number; // ...while the loss fell less than this share over them (stuck), usual 0.1
  plateauWindow: number; // epochs, usual 20
  plateauRelChange: number; // loss range / mean within the window below this, usual 0.01
  plateauMinWer: number; // a plateau at or below this WER is a converged run, usual 0.2
  decodingWindow: number; // epochs, usual 10
  growthWindow: number; // epochs of a gradient norm rising every epoch (and ×10 overall), usual 5
  clipNorm: number; // the run's clipping (0 = off): decides how bad a growing norm is
  optimizer: 'adam' | 'adamw' | 'sgd';
  // The forecast's checks: the run's settings.
  targetWer: number | null; // the target val WER as a fraction (0, 1]; null: none
  patience: number; // the run's early-stopping patience (0 = off)
  minDelta: number; // ...its min delta, in the monitored metric's units
  monitor: 'val_wer' | 'val_loss';
  evalEvery: number; // epochs between validations (patience counts evaluated epochs)
  levelOffWer: number; // without a target: the level above which a projected val WER is an alarm, usual 0.5
  augment: boolean | null; // the run trains with augmentation (null: unknown); no-generalisation names it first when off
}

export const DOCTOR_DEFAULTS: DoctorOptions = {
  blankEpochs: 5,
  blankLossDrop: 0.1,
  plateauWindow: 20,
  plateauRelChange: 0.01,
  plateauMinWer: 0.2,
  decodingWindow: 10,
  growthWindow: 5,
  clipNorm: 5,
  optimizer: 'adam',
  targetWer: null,
  patience: 0,
  minDelta: 0.01,
  monitor: 'val_wer',
  evalEvery: 1,
  levelOffWer: 0.5,
  augment: null,
};

export class TrainingDoctor {
  readonly alerts: DoctorAlert[] = [];
  private readonly history: DoctorObservation[] = [];
  private readonly opts: DoctorOptions;

  constructor(opts: Partial<DoctorOptions> = {}) {
    this.opts = { ...DOCTOR_DEFAULTS, ...opts };
  }

  /** Records one epoch; returns the alerts that fired on it (each kind fires once per run). */
  observe(o: DoctorObservation): DoctorAlert[] {
    this.history.push(o);
    const fired: DoctorAlert[] = [];
    const fire = (id: DoctorAlert['id'], severity: DoctorAlert['severity'], message: string) => {
      if (this.alerts.some((a) => a.id === id)) return;
      const a = { id, epoch: o.epoch, severity, message };
      this.alerts.push(a);
      fired.push(a);
    };
    const { blankEpochs, blankLossDrop, plateauWindow, plateauRelChange, plateauMinWer, decodingWindow, growthWindow, clipNorm, optimizer } = this.opts;
    const h = this.history;
    const pctOf = (x: number) => `${(x * 100).toFixed(0)}%`;

    if (!Number.isFinite(o.loss))
      fire(
        'non-finite-loss',
        'fail',
        `Training loss is ${o.loss} at epoch ${o.epoch}: a batch diverged or the data holds NaN/Inf. Lower the learning rate, clip gradients, run the dataset check.`,
      );

    // Blank-only output while the loss falls is the usual start of CTC training; stuck there is collapse.
    const recentBlank = h.slice(-blankEpochs);
    if (recentBlank.length === blankEpochs && recentBlank.every((x) => x.blankRate !== null && x.blankRate > 0.9)) {
      const first = recentBlank[0].loss,
        drop = Number.isFinite(first) && Number.isFinite(o.loss) && first > 0 ? 1 - o.loss / first : 0;
      if (drop < blankLossDrop) {
        fire(
          'blank-collapse',
          'warn',
          `Blank rate has stayed above 90% for ${blankEpochs} epochs (${pctOf(o.blankRate ?? 0)} now) while the loss fell only ${pctOf(Math.max(drop, 0))} (${first.toFixed(3)} → ${o.loss.toFixed(3)}): the model is stuck predicting blanks. Check the learning rate (too low, or warmup too long) and CTC feasibility in the diagnostics.`,
        );
      }
    }

    if (h.length >= plateauWindow && (o.wer === null || o.wer > plateauMinWer)) {
      const w = h.slice(-plateauWindow).map((x) => x.loss);
      if (w.every(Number.isFinite)) {
        const mean = w.reduce((s, v) => s + v, 0) / w.length;
        const range = Math.max(...w) - Math.min(...w);
        if (range / Math.abs(mean) < plateauRelChange) {
          fire(
            'plateau',
            'warn',
            `Loss has plateaued at ${mean.toFixed(3)} (changed < ${plateauRelChange * 100}% over ${plateauWindow} epochs) with WER ${o.wer === null ? 'unknown' : pctOf(o.wer)}. Raise the learning rate or check the warmup; run diagnostics.`,
          );
        }
      }
    }

    // Training loss falls, validation WER does not, and tokens are emitted (not the blank phase).
    // Validation decodes greedily, so decoding is not the cause: the model fits its training
    // samples without carrying it over to the validation samples.
    if (h.length > decodingWindow) {
      const a = h[h.length - 1 - decodingWindow];
      if (
        a.wer !== null &&
        o.wer !== null &&
        Number.isFinite(a.loss) &&
        Number.isFinite(o.loss) &&
        o.loss < 0.7 * a.loss &&
        o.wer >= a.wer - 0.01 &&
        o.wer > 0.5 &&
        o.blankRate !== null &&
        o.blankRate <= 0.9
      ) {
        // The measured gap (train vs val loss, same units) and, when augmentation is off, the first lever to pull (diagnose/generalisation.ts).
        const gap =
          o.valLoss != null && Number.isFinite(o.valLoss)
            ? ` Train loss ${o.loss.toFixed(3)} against val loss ${o.valLoss.toFixed(3)} (${(o.valLoss / o.loss).toFixed(1)}×).`
            : '';
        const levers =
          this.opts.augment === false
            ? 'Augmentation is off: turn it on first (the Generalise recipe: time stretch, time and feature masks, EMA of the weights), then more dropout or weight decay'
            : 'too few training samples or too little regularisation (dropout, weight decay)';
        fire(
          'no-generalisation',
          'warn',
          `Training loss fell ${(100 * (1 - o.loss / a.loss)).toFixed(0)}% over ${decodingWindow} epochs but validation WER did not improve (${pctOf(o.wer)}, blank rate ${pctOf(o.blankRate)}): the model fits its training samples without generalising.${gap} ${this.opts.augment === false ? `${levers}; or validation transcripts that do not match their features.` : `The cause: ${levers}, or validation transcripts that do not match their features.`} Run diagnostics on the best checkpoint (its generalisation check).`,
        );
      }
    }

    if (o.gradNorm !== null) {
      const norms = h.map((x) => x.gradNorm);
      const w = norms.slice(-growthWindow);
      const growing =
        w.length === growthWindow &&
        w.every((x): x is number => x !== null && Number.isFinite(x)) &&
        w.every((x, i) => i === 0 || x > w[i - 1]!) &&
        w[w.length - 1]! >= 10 * w[0]!;
      if (o.gradNorm < 1e-7)
        fire(
          'vanishing-gradients',
          'fail',
          `Global gradient norm ${o.gradNorm.toExponential(1)} at epoch ${o.epoch}: gradients vanish and the model stops learning.`,
        );
      else if (!Number.isFinite(o.gradNorm))
        fire(
          'exploding-gradients',
          'fail',
          `Global gradient norm is ${o.gradNorm} at epoch ${o.epoch}: the gradients are not finite. Lower the learning rate, check the data for NaN/Inf, resume from an earlier checkpoint.`,
        );
      else if (growing) {
        const bad = clipNorm === 0 && optimizer === 'sgd';
        fire(
          'exploding-gradients',
          bad ? 'fail' : 'warn',
          `Global gradient norm has grown every epoch for ${growthWindow} epochs (${w.map((x) => x!.toPrecision(3)).join(' → ')}): training is heading for divergence${clipNorm > 0 ? `; clipping to ${clipNorm} bounds each step but does not stop it` : ''}. Lower the learning rate.`,
        );
      }
    }

    const es = o.earlyStopping;
    if (es && es.patience - es.counter <= 2 && o.wer !== null && o.wer > 0.9) {
      fire(
        'early-stop-high-wer',
        'fail',
        `Early stopping will end the run within ${es.patience - es.counter} epochs while WER is ${(o.wer * 100).toFixed(0)}%: the model has not started to learn (the field guide's run stopped at epoch 45 at 92% WER). Raise patience (30+ on large datasets).`,
      );
    }
    // Said once per run: the rule that keeps early stopping from ending a run still in the blank plateau.
    if (o.patiencePaused) fire('patience-paused', 'warn', `Early stopping waits at epoch ${o.epoch}: ${o.patiencePaused}.`);

    const f = o.forecast;
    if (f?.kind === 'forecast') {
      const { targetWer } = this.opts;
      const { final } = f.wer;
      const planned = f.plannedEpochs;
      const band = `${points(final.lo)}–${points(final.hi)}%`;
      const t = f.target;
      if (targetWer !== null && t && t.kind !== 'already') {
        fire(
          'forecast-target',
          'info',
          t.kind === 'reached'
            ? `At this rate val WER reaches ${points(targetWer)}% near epoch ${t.epoch} (${t.lo}–${t.hi ?? `beyond ${planned}`}); ${this.patienceVerdict(f, o, t.epoch)}.`
            : `At this rate val WER does not reach ${points(targetWer)}% within the planned ${planned} epochs: ${points(final.value)}% (${band}) at epoch ${planned}.`,
        );
      }
      // Even the interval's optimistic end misses the bar at the planned last epoch.
      const bar = targetWer ?? this.opts.levelOffWer;
      if (final.lo > bar) {
        const flat = final.value - f.wer.limit < 0.01;
        fire(
          'forecast-level-off',
          'warn',
          `Val WER is projected to ${flat ? 'level off near' : 'be still at'} ${points(final.value)}% (${band}) at epoch ${planned}, above ${targetWer !== null ? `the target ${points(targetWer)}%` : `${points(bar)}%`}: investigate (run diagnostics) — the learning rate and its schedule, the model's size, the data.`,
        );
      }
    }
    return fired;
  }

  /**
   * Whether early stopping would end the run before `until`: the plain rule (an epoch improves when
   * its value is below the best by more than minDelta) walked along the forecast's central curve of
   * the monitored metric from the current best and counter, over the epochs that are evaluated.
   */
  private patienceVerdict(f: Extract<Forecast, { kind: 'forecast' }>, o: DoctorObservation, until: number): string {
    const { patience, minDelta, monitor, evalEvery } = this.opts;
    if (patience <= 0) return 'early stopping is off';
    const curve = monitor === 'val_wer' ? f.wer.curve : f.loss.curve;
    const at = new Map(curve.map((p) => [p.epoch, p.value]));
    let best = o.best ?? at.get(o.epoch) ?? Infinity;
    let counter = o.earlyStopping?.counter ?? 0;
    let longest = counter;
    let stopsAt: number | null = null;
    for (let e = o.epoch + 1; e <= until; e++) {
      if (e % evalEvery !== 0 && e !== f.plannedEpochs) continue;
      const v = at.get(e) ?? Infinity;
      if (v < best - minDelta) {
        best = v;
        counter = 0;
      } else {
        counter++;
        longest = Math.max(longest, counter);
        if (counter >= patience && stopsAt === null) stopsAt = e;
      }
    }
    if (stopsAt === null) return `patience ${patience} will not stop it before`;
    return `patience ${patience} would stop the run near epoch ${stopsAt} first (the projected ${monitor === 'val_wer' ? 'val WER' : 'val loss'} improves by less than min delta ${minDelta} for ${patience} evaluated epochs): raise patience to ${longest + 1} or more`;
  }
}

/** A fraction in whole percent (0.25 → "25"). */
const points = (x: number): string => `${Math.floor(x * 100 + 0.5)}`;
