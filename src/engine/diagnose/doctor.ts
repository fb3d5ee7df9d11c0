// The live training doctor: watches per-epoch metrics while a run trains and raises an alert,
// once, with the epoch it fired, when a failure of the field guide's kind shows up.

export interface DoctorObservation {
  epoch: number;
  loss: number; // mean training loss of the epoch (NaN/Inf when a batch diverged)
  wer: number | null; // 0..1, greedy decoding
  blankRate: number | null; // share of output frames whose argmax is blank
  gradNorm: number | null; // global gradient norm
  earlyStopping?: { counter: number; patience: number } | null; // epochs without improvement
}

export interface DoctorAlert {
  id: 'non-finite-loss' | 'blank-collapse' | 'plateau' | 'decoding' | 'vanishing-gradients' | 'exploding-gradients' | 'early-stop-high-wer';
  epoch: number;
  severity: 'warn' | 'fail';
  message: string;
}

export interface DoctorOptions {
  blankEpochs: number; // blank rate above 90% for this many epochs in a row, usual 5
  plateauWindow: number; // epochs, usual 20
  plateauRelChange: number; // loss range / mean within the window below this, usual 0.01
  decodingWindow: number; // epochs, usual 10
}

export const DOCTOR_DEFAULTS: DoctorOptions = { blankEpochs: 5, plateauWindow: 20, plateauRelChange: 0.01, decodingWindow: 10 };

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
    const { blankEpochs, plateauWindow, plateauRelChange, decodingWindow } = this.opts;
    const h = this.history;

    if (!Number.isFinite(o.loss)) fire('non-finite-loss', 'fail', `Training loss is ${o.loss} at epoch ${o.epoch}: a batch diverged or the data holds NaN/Inf. Lower the learning rate, clip gradients, run the dataset check.`);

    const recentBlank = h.slice(-blankEpochs);
    if (recentBlank.length === blankEpochs && recentBlank.every((x) => x.blankRate !== null && x.blankRate > 0.9)) {
      fire('blank-collapse', 'warn', `Blank rate has stayed above 90% for ${blankEpochs} epochs (${((o.blankRate ?? 0) * 100).toFixed(0)}% now): the model predicts almost only blanks. Usual early in training; if it persists, check the learning rate and CTC feasibility.`);
    }

    if (h.length >= plateauWindow && (o.wer === null || o.wer > 0)) {
      const w = h.slice(-plateauWindow).map((x) => x.loss);
      if (w.every(Number.isFinite)) {
        const mean = w.reduce((s, v) => s + v, 0) / w.length;
        const range = Math.max(...w) - Math.min(...w);
        if (range / Math.abs(mean) < plateauRelChange) {
          fire('plateau', 'warn', `Loss has plateaued at ${mean.toFixed(3)} (changed < ${plateauRelChange * 100}% over ${plateauWindow} epochs). Raise the learning rate or check the warmup; if WER is high too, run diagnostics.`);
        }
      }
    }

    if (h.length > decodingWindow) {
      const a = h[h.length - 1 - decodingWindow];
      if (a.wer !== null && o.wer !== null && Number.isFinite(a.loss) && Number.isFinite(o.loss) && o.loss < 0.7 * a.loss && o.wer >= a.wer - 0.01 && o.wer > 0.5) {
        fire('decoding', 'warn', `Loss fell ${(100 * (1 - o.loss / a.loss)).toFixed(0)}% over ${decodingWindow} epochs but WER did not improve (${(o.wer * 100).toFixed(0)}%): decoding may hide what the model learns — use simple greedy decoding, check the blank rate.`);
      }
    }

    if (o.gradNorm !== null) {
      if (o.gradNorm < 1e-7) fire('vanishing-gradients', 'fail', `Global gradient norm ${o.gradNorm.toExponential(1)} at epoch ${o.epoch}: gradients vanish and the model stops learning.`);
      else if (!Number.isFinite(o.gradNorm) || o.gradNorm > 1e2) fire('exploding-gradients', 'warn', `Global gradient norm ${o.gradNorm.toExponential(1)} at epoch ${o.epoch}: gradients explode. Clip by global norm, lower the learning rate.`);
    }

    const es = o.earlyStopping;
    if (es && es.patience - es.counter <= 2 && o.wer !== null && o.wer > 0.9) {
      fire('early-stop-high-wer', 'fail', `Early stopping will end the run within ${es.patience - es.counter} epochs while WER is ${(o.wer * 100).toFixed(0)}%: the model has not started to learn (the field guide's run stopped at epoch 45 at 92% WER). Raise patience (30+ on large datasets).`);
    }
    return fired;
  }
}
