// The page's root state: the worker, the compute backend, and one state object per feature
// (datasets, overfit test, training, diagnostics, checkpoints). Panels receive their feature's
// object; features reach what they share through the LabContext this class implements.

import type * as Comlink from 'comlink';
import { PRESET_SUBSAMPLING, type BackendInfo, type LabApi } from '../worker/api';
import { CheckpointsState } from './checkpoints.svelte';
import { message, type LabContext } from './context';
import { DatasetsState } from './datasets.svelte';
import { DiagnosticsState } from './diagnostics.svelte';
import { OverfitState } from './overfit.svelte';
import { TrainingState } from './training.svelte';
import { connectWorker } from './worker';

export class Lab implements LabContext {
  backend = $state<BackendInfo | null>(null);
  backendError = $state<string | null>(null);

  readonly api: Comlink.Remote<LabApi>;
  readonly datasets: DatasetsState;
  readonly checkpoints: CheckpointsState;
  readonly overfit: OverfitState;
  readonly training: TrainingState;
  readonly diagnostics: DiagnosticsState;

  ready = $derived(this.backend !== null);
  busy = $derived.by(() => this.datasets.importing || this.overfit.running || this.training.running || this.diagnostics.running);

  get dataset() {
    return this.datasets.selected;
  }

  constructor(api: Comlink.Remote<LabApi> = connectWorker()) {
    this.api = api;
    this.checkpoints = new CheckpointsState(this);
    this.overfit = new OverfitState(this);
    this.training = new TrainingState(this);
    this.diagnostics = new DiagnosticsState(this);
    this.datasets = new DatasetsState(this, () => PRESET_SUBSAMPLING[this.training.config.preset], () => this.onSelect());
  }

  async start(): Promise<void> {
    try {
      this.backend = await this.api.init();
      void this.datasets.refreshStorage();
    } catch (e) {
      this.backendError = message(e);
    }
    await this.datasets.refresh();
  }

  async refreshStored(): Promise<void> {
    await Promise.all([this.checkpoints.refresh(), this.training.refreshRuns()]);
  }

  /** A new dataset is selected: results that belonged to the previous one go. */
  private async onSelect(): Promise<void> {
    this.overfit.reset();
    this.diagnostics.reset();
    await this.refreshStored();
  }
}
