// The page's root state: the worker, the compute backend, and one state object per feature
// (datasets, overfit test, training, diagnostics, checkpoints). Panels receive their feature's
// object; features reach what they share through the LabContext this class implements.

import type * as Comlink from 'comlink';
import { subsamplingOf, STORAGE_CHANNEL, type BackendInfo, type LabApi, type StorageChange } from '../worker/api';
import { CheckpointsState } from './checkpoints.svelte';
import { message, type LabContext } from './context';
import { DatasetsState } from './datasets.svelte';
import { DiagnosticsState } from './diagnostics.svelte';
import { DistillState } from './distill.svelte';
import { OverfitState } from './overfit.svelte';
import { OutputsState } from './outputs.svelte';
import { TrainingState } from './training.svelte';
import { connectWorker, testHooksEnabled } from './worker';

export class Lab implements LabContext {
  backend = $state<BackendInfo | null>(null);
  backendError = $state<string | null>(null);

  readonly api: Comlink.Remote<LabApi>;
  readonly datasets: DatasetsState;
  readonly checkpoints: CheckpointsState;
  readonly overfit: OverfitState;
  readonly training: TrainingState;
  readonly distill: DistillState;
  readonly diagnostics: DiagnosticsState;
  readonly outputs: OutputsState;

  ready = $derived(this.backend !== null);
  busy = $derived.by(
    () =>
      this.datasets.importing ||
      this.overfit.running ||
      this.training.running ||
      this.training.lrFinder.running ||
      this.training.sweep.running ||
      this.diagnostics.running ||
      this.outputs.running,
  );

  get dataset() {
    return this.datasets.selected;
  }

  constructor(api: Comlink.Remote<LabApi> = connectWorker()) {
    this.api = api;
    this.checkpoints = new CheckpointsState(this);
    this.overfit = new OverfitState(this);
    this.training = new TrainingState(this);
    this.distill = new DistillState(this, () => subsamplingOf(this.training.config));
    this.training.distillRequest = () => this.distill.request();
    this.diagnostics = new DiagnosticsState(this);
    this.outputs = new OutputsState(this);
    this.datasets = new DatasetsState(
      this,
      () => subsamplingOf(this.training.config),
      () => this.onSelect(),
    );
  }

  async start(): Promise<void> {
    this.watchStorage();
    try {
      this.backend = await this.api.init({ testHooks: testHooksEnabled });
      void this.datasets.refreshStorage();
    } catch (e) {
      this.backendError = message(e);
    }
    await this.datasets.refresh();
    await this.outputs.refresh();
  }

  /**
   * Another tab (or this tab's worker) changed storage: re-read, so the page never offers a dataset,
   * run, checkpoint or output set that is gone (and offers one another tab stored); and show the
   * backend after a GPU reset or a fallback.
   */
  private watchStorage(): void {
    if (typeof BroadcastChannel === 'undefined') return;
    new BroadcastChannel(STORAGE_CHANNEL).addEventListener('message', (e: MessageEvent<StorageChange>) => {
      const c = e.data;
      if (c.kind === 'backend') void this.api.backendInfo().then((b) => (this.backend = b));
      else if (c.kind === 'outputs') void this.refreshOutputs();
      else if (c.kind === 'lms')
        return; // the Language models panel re-reads its own list (lms.svelte.ts)
      else if (c.kind === 'runs') {
        if (c.datasetId === this.dataset?.id) void this.refreshStored();
      } else void this.datasets.refresh().then(() => this.refreshStored());
    });
  }

  /**
   * The stored output sets changed (this tab or another): the list (and with it the diagnostics,
   * alignment and comparison choices) and the Teacher choices re-read; a diagnostics choice of a
   * deleted set goes back to the fresh model.
   */
  async refreshOutputs(): Promise<void> {
    await Promise.all([this.outputs.refresh(), this.distill.refresh()]);
    const id = this.diagnostics.outputSetId;
    if (id && !this.outputs.list.some((o) => o.id === id)) this.diagnostics.outputSetId = null;
  }

  async refreshStored(): Promise<void> {
    await Promise.all([this.checkpoints.refresh(), this.training.refreshRuns(), this.distill.refresh()]);
  }

  /** A new dataset is selected: results that belonged to the previous one go. */
  private async onSelect(): Promise<void> {
    this.overfit.reset();
    this.diagnostics.reset();
    if (this.outputs.alignSource?.kind === 'checkpoint') this.outputs.clearView();
    this.outputs.exportCheckpointId = null;
    await this.refreshStored();
  }
}
