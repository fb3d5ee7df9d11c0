// Page state of the learning-rate range test on the Training section: runs it on the selected
// dataset with the form's settings (the worker trains a new model for at most 100 steps, stores
// nothing), keeps its points as they arrive, and fills the form's learning rate with the suggestion.

import * as Comlink from 'comlink';
import type { LrFindOutcome, LrFindPoint } from '../worker/api';
import { message } from './context';
import type { TrainingState } from './training.svelte';

export class LrFinderState {
  running = $state(false);
  points = $state.raw<LrFindPoint[]>([]);
  result = $state.raw<LrFindOutcome | null>(null);
  error = $state<string | null>(null);
  steps = $state(100); // the ramp's length (Lightning's num_training, 100)

  constructor(private readonly training: TrainingState) {}

  /** A dataset is selected, the backend is up, and no job runs in this tab. */
  get canRun(): boolean {
    return this.training.canRun && !this.running;
  }

  async run(): Promise<void> {
    const ds = this.training.dataset;
    if (!ds || this.running) return;
    this.running = true;
    this.error = null;
    this.result = null;
    this.points = [];
    try {
      const cfg = $state.snapshot(this.training.config);
      this.result = await this.training.api.findLearningRate(
        ds.id,
        cfg,
        Comlink.proxy((p: LrFindPoint) => void (this.points = [...this.points, p])),
        { steps: this.steps },
      );
      this.points = this.result.points;
    } catch (e) {
      this.error = message(e);
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    void this.training.api.stop();
  }

  /** The suggestion, to 2 significant digits, as the form's learning rate. */
  use(): void {
    const lr = this.result?.suggestion.lr;
    if (lr) this.training.config.lr = Number(lr.toPrecision(2));
  }
}
