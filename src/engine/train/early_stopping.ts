// Early stopping on a monitored validation metric (lower is better: val WER or val loss).
// An epoch improves when metric < best - minDelta. After `patience` epochs without improvement
// the run stops; with restoreBest the best epoch's weights are the result.

export interface EarlyStoppingConfig {
  patience: number; // epochs without improvement before stopping; 0 disables early stopping
  minDelta: number; // required improvement, in the metric's units (WER as a fraction: 0.01 = 1 point)
  monitor: 'val_wer' | 'val_loss';
  restoreBest: boolean;
}

export interface EarlyStoppingState {
  best: number | null;
  bestEpoch: number;
  counter: number; // epochs since the last improvement
}

export class EarlyStopping {
  state: EarlyStoppingState;
  constructor(
    readonly config: EarlyStoppingConfig,
    state?: EarlyStoppingState,
  ) {
    this.state = state ? { ...state } : { best: null, bestEpoch: 0, counter: 0 };
  }

  /** Records one epoch's metric; returns whether it is the new best, and whether to stop now. */
  update(epoch: number, metric: number): { improved: boolean; stop: boolean } {
    const s = this.state;
    const improved = Number.isFinite(metric) && (s.best === null || metric < s.best - this.config.minDelta);
    if (improved) {
      s.best = metric;
      s.bestEpoch = epoch;
      s.counter = 0;
    } else {
      s.counter++;
    }
    return { improved, stop: this.config.patience > 0 && s.counter >= this.config.patience };
  }
}
