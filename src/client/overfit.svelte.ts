// Page state of the overfit test: its settings (from the worker's defaults), live progress and
// loss curve, the doctor's alerts, and the outcome.

import * as Comlink from 'comlink';
import { OVERFIT_DEFAULTS, type DoctorAlert, type OverfitEpoch, type OverfitOutcome, type Preset } from '../worker/api';
import { flagged, JobFeature } from './job';

export class OverfitState extends JobFeature {
  settings = $state<{ numSamples: number; maxEpochs: number; lr: number; preset: Preset; subsampling: 2 | 4 }>({
    numSamples: OVERFIT_DEFAULTS.numSamples,
    maxEpochs: OVERFIT_DEFAULTS.maxEpochs,
    lr: OVERFIT_DEFAULTS.lr,
    preset: OVERFIT_DEFAULTS.preset,
    subsampling: OVERFIT_DEFAULTS.subsampling ?? 2, // tcn only, as in the training form
  });
  running = $state(false);
  stopping = $state(false);
  progress = $state<OverfitEpoch | null>(null);
  lossCurve = $state.raw<number[]>([]);
  outcome = $state<OverfitOutcome | null>(null);
  error = $state<string | null>(null);
  alerts = $state.raw<DoctorAlert[]>([]);

  /** A dataset is selected, the backend is up and no other job runs in this tab. */
  canRun = $derived.by(() => this.ctx.dataset !== null && this.ctx.ready && !this.ctx.busy);

  /** Forgets what belonged to the previously selected dataset. */
  reset(): void {
    this.outcome = null;
    this.progress = null;
    this.lossCurve = [];
    this.alerts = [];
    this.error = null;
  }

  async run(): Promise<void> {
    const ds = this.ctx.dataset;
    if (!ds || this.ctx.busy) return;
    this.stopping = false;
    this.reset();
    const curve: number[] = [];
    await flagged(this, 'running', 'error', async () => {
      this.outcome = await this.ctx.api.runOverfitTest(
        ds.id,
        $state.snapshot(this.settings),
        Comlink.proxy((e: OverfitEpoch) => {
          this.progress = e;
          curve.push(e.loss);
          this.lossCurve = curve.slice();
        }),
        Comlink.proxy((a: DoctorAlert[]) => {
          this.alerts = [...this.alerts, ...a];
        }),
      );
      const r = this.outcome.result;
      const last = r.history.at(-1);
      if (last) this.progress = last;
      this.lossCurve = r.history.map((h) => h.loss);
      console.log(`[ctc-lab] overfit test ${r.passed ? 'passed' : 'failed'} in ${r.epochs} epochs, ${r.seconds.toFixed(2)} s on ${this.outcome.backend}`);
      await this.ctx.refreshStored();
    });
  }

  stop(): void {
    this.stopping = true;
    void this.ctx.api.stop();
  }
}
