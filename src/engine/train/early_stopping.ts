// Early stopping on a monitored validation metric (lower is better: val WER or val loss).
// An epoch improves when metric < best - minDelta. After `patience` epochs without improvement
// the run stops; with restoreBest the best epoch's weights are the result.
// Given the run's history, an epoch without improvement counts only when the plateau-aware rule
// (../forecast/stopping.ts) does not pause patience: in CTC's blank plateau with the loss still
// falling by more than noise, it does not count. The decision is a function of the history the
// checkpoint keeps, so a resumed run decides as the uninterrupted one (no new state).

import type { HistoryRow } from '../../data/types';
import { judgeStall, trendText, type StallJudgement } from '../forecast/stopping';

export interface EarlyStoppingConfig {
  patience: number; // epochs without improvement before stopping; 0 disables early stopping
  minDelta: number; // required improvement, in the metric's units (WER as a fraction: 0.01 = 1 point)
  monitor: 'val_wer' | 'val_loss';
  restoreBest: boolean;
}

export interface EarlyStoppingState {
  best: number | null;
  bestEpoch: number;
  counter: number; // epochs since the last improvement, not counting epochs with patience paused
}

export class EarlyStopping {
  state: EarlyStoppingState;
  constructor(
    readonly config: EarlyStoppingConfig,
    state?: EarlyStoppingState,
  ) {
    this.state = state ? { ...state } : { best: null, bestEpoch: 0, counter: 0 };
  }

  /**
   * Records one epoch's metric; returns whether it is the new best, and whether to stop now.
   * With the history so far (ending with this epoch), an epoch without improvement is judged
   * (stopping.ts) and counts only when patience is not paused.
   */
  update(epoch: number, metric: number, history?: readonly HistoryRow[]): { improved: boolean; stop: boolean; judgement: StallJudgement | null } {
    const s = this.state;
    const improved = Number.isFinite(metric) && (s.best === null || metric < s.best - this.config.minDelta);
    let judgement: StallJudgement | null = null;
    if (improved) {
      s.best = metric;
      s.bestEpoch = epoch;
      s.counter = 0;
    } else {
      judgement = history && this.config.patience > 0 ? judgeStall(history) : null;
      if (!judgement?.paused) s.counter++;
    }
    return { improved, stop: this.config.patience > 0 && s.counter >= this.config.patience, judgement };
  }

  /** Why the run stopped: the plain rule's words, then the signal that showed it stuck. */
  reason(judgement: StallJudgement | null): string {
    const c = this.config,
      s = this.state;
    const plain = `early stopping: no ${c.monitor} improvement > ${c.minDelta} for ${c.patience} epochs (best ${s.best?.toFixed(4)} at epoch ${s.bestEpoch})`;
    return judgement ? `${plain}; ${trendText(judgement)}` : plain;
  }
}
