// Page state of full training: the form (model preset, sizes, the field guide's recipes, every
// train_teacher.py flag), the live run (events from the worker), the runs list with comparison and
// CSV export, and checkpoint import.

import * as Comlink from 'comlink';
import {
  presetSize,
  recommendedPatience,
  RECIPES,
  TRAIN_DEFAULTS,
  type ArchKnobs,
  type DamagedRun,
  type Distillation,
  type DoctorAlert,
  type ForecastView,
  type HistoryRow,
  type ModelInfo,
  type Preset,
  type RecipeName,
  type RunInfo,
  type SpeedReport,
  type StepMetrics,
  type TeacherRef,
  type TrainConfig,
  type TrainEvent,
} from '../worker/api';
import { message, type LabContext } from './context';
import { saveBytes } from './files';
import { LrFinderState } from './lr_finder.svelte';
import { SweepState } from './sweep.svelte';

type RunShape = { stepsPerEpoch: number; trainSamples: number; valSamples: number; excluded: number; paramCount: number; preset: string; subsampling: number };

export class TrainingState {
  config = $state<TrainConfig>({ ...TRAIN_DEFAULTS });
  running = $state(false);
  paused = $state(false);
  stopping = $state(false);
  run = $state.raw<RunInfo | null>(null);
  epochs = $state.raw<HistoryRow[]>([]); // the run's history rows (a resumed run's first), then each epoch's metrics
  steps = $state.raw<StepMetrics[]>([]);
  alerts = $state.raw<DoctorAlert[]>([]);
  info = $state<RunShape | null>(null);
  error = $state<string | null>(null);
  checkpointError = $state<string | null>(null);
  notice = $state<string | null>(null);
  startedAt = $state(0); // performance.now() when the current job started (ETA)
  stepsAtStart = $state(0);
  runs = $state.raw<RunInfo[]>([]);
  damagedRuns = $state.raw<DamagedRun[]>([]); // stored records that fail the run-record schema: shown with Delete only
  lastSaved = $state.raw<{ step: number; epoch: number; midEpoch: boolean; at: number } | null>(null);
  gpuLost = $state<string | null>(null); // no adapter after a GPU reset: the fallback is offered
  speed = $state.raw<SpeedReport | null>(null); // the running (or last) run's latest speed report
  speedError = $state<string | null>(null); // the latest profile failed (training went on)
  speedPending = $state(false); // a profile was asked for and has not come yet
  overlaid = $state<string[]>([]); // run ids whose curves are drawn together (at most 2)
  patiencePaused = $state<string | null>(null); // the plateau-aware rule's message when the last epoch paused patience, else null
  forecast = $state.raw<ForecastView | null>(null); // the running run's learning-curve forecast, as of its last evaluated epoch
  /** The section's LR range test: a job of its own (the lab's busy flag counts it, so Start waits for it). */
  readonly lrFinder = new LrFinderState(this);
  /** The section's fix sweep: a job too (its trials are runs; the busy flag counts it, so no other job starts beside it). */
  readonly sweep = new SweepState(this);
  /** The teacher and KD settings a new run learns from (the distillation form; null: none). */
  distillRequest: () => Distillation<TeacherRef> | null = () => null;

  patienceAdvice = $derived.by(() => {
    const ds = this.ctx.dataset;
    const p = this.config.patience;
    if (!ds || p <= 0) return null;
    const rec = recommendedPatience(ds.counts.train);
    return p < rec
      ? `Patience ${p} is low for ${ds.counts.train} training samples: the field guide's run stopped at epoch 45 of 150 with 92% WER on patience 15. Recommended: ≥ ${rec}.`
      : null;
  });

  /** A dataset is selected, the backend is up and no other job runs in this tab. */
  canRun = $derived.by(() => this.ctx.dataset !== null && this.ctx.ready && !this.ctx.busy && this.targetWerProblem === null);

  /** The Target WER field refused (a run does not start): 0 (none) or a percent in (0, 100]. */
  get targetWerProblem(): string | null {
    const t: unknown = this.config.targetWer; // an emptied number field binds null
    if (typeof t === 'number' && Number.isFinite(t) && t >= 0 && t <= 100) return null;
    return `Target WER: expected 0 (none) or a val WER in percent, above 0 and at most 100; got ${typeof t === 'number' && !Number.isNaN(t) ? t : 'an empty field'}.`;
  }

  constructor(private readonly ctx: LabContext) {}

  /** A job runs in this tab (forms are locked). */
  get busy(): boolean {
    return this.ctx.busy;
  }

  get dataset() {
    return this.ctx.dataset;
  }

  /** The worker, for the Training section's tools (the LR range test: lr_finder.svelte.ts). */
  get api() {
    return this.ctx.api;
  }

  async refreshRuns(): Promise<void> {
    const id = this.ctx.dataset?.id;
    const { runs, damaged } = id ? await this.ctx.api.listRuns(id) : { runs: [], damaged: [] };
    this.runs = runs;
    this.damagedRuns = damaged;
  }

  /** A training recipe: resets the optimisation settings, keeps the chosen model and its size. */
  applyRecipe(name: RecipeName): void {
    const { preset, subsampling, channels, layers, hidden, heads } = this.config;
    this.config = { ...TRAIN_DEFAULTS, preset, subsampling, channels, layers, hidden, heads, ...RECIPES[name].config };
  }

  /** Switches the model preset and loads its default size. */
  chooseModel(preset: Preset): void {
    this.config = { ...this.config, preset, ...presetSize(preset) };
  }

  async describeModel(knobs: ArchKnobs): Promise<ModelInfo | null> {
    const ds = this.ctx.dataset;
    if (!ds || !this.ctx.ready) return null;
    return this.ctx.api.describeModel(ds.id, knobs);
  }

  private onEvent = (e: TrainEvent) => {
    if (e.type === 'start') {
      this.run = e.run;
      const { type: _type, run: _run, resumedFrom: r, ...shape } = e;
      if (r && !this.notice)
        this.notice = `Resumed from step ${r.step.toLocaleString('en-US')} (${r.midEpoch ? `in epoch ${r.epoch + 1}, mid-epoch` : `after epoch ${r.epoch}`}).`;
      this.info = shape;
      this.epochs = e.run.history;
      this.stepsAtStart = this.epochs.length * e.stepsPerEpoch;
      this.startedAt = performance.now();
    } else if (e.type === 'step') {
      const s = this.steps.length > 4000 ? this.steps.slice(-3000) : this.steps;
      this.steps = [...s, e.step];
    } else if (e.type === 'epoch') {
      this.epochs = [...this.epochs, e.metrics];
      this.patiencePaused = e.patiencePaused;
      if (e.forecast) this.forecast = e.forecast; // an epoch without validation leaves the last one
    } else if (e.type === 'saved') {
      this.lastSaved = { step: e.step, epoch: e.epoch, midEpoch: e.midEpoch, at: Date.now() };
    } else if (e.type === 'recovered') {
      this.notice = `The GPU was reset; resumed from step ${e.step.toLocaleString('en-US')} (attempt ${e.attempt}).`;
    } else if (e.type === 'speed') {
      if (e.report) this.speed = e.report;
      this.speedError = e.error;
      this.speedPending = false;
    } else if (e.type === 'gpu-lost') {
      this.gpuLost = e.message;
      if (this.error === e.message) this.error = null; // events come on their own port: the outcome may have arrived first
    } else {
      this.alerts = [...this.alerts, ...e.alerts];
    }
  };

  private async job(start: (cb: (e: TrainEvent) => void) => Promise<{ run: RunInfo }>): Promise<void> {
    if (!this.ctx.dataset || this.ctx.busy) return;
    this.running = true;
    this.paused = false;
    this.stopping = false;
    this.error = null;
    this.notice = null;
    this.gpuLost = null;
    this.lastSaved = null;
    this.patiencePaused = null;
    this.forecast = null;
    this.speed = null;
    this.speedError = null;
    this.speedPending = false;
    this.steps = [];
    this.alerts = [];
    try {
      const out = await start(Comlink.proxy(this.onEvent));
      this.run = out.run;
      console.log(`[ctc-lab] training run ${out.run.id} ${out.run.status}: ${out.run.reason}`);
      if (out.run.status === 'failed' && !this.gpuLost) this.error = out.run.reason; // gpuLost has its own alert, with the fallback
    } catch (e) {
      this.error = message(e);
    } finally {
      this.running = false;
      await this.ctx.refreshStored();
    }
  }

  async start(): Promise<void> {
    const ds = this.ctx.dataset;
    if (!ds) return;
    this.epochs = [];
    const cfg = $state.snapshot(this.config);
    const distill = this.distillRequest();
    await this.job((cb) => this.ctx.api.startTraining(ds.id, cfg, cb, distill));
  }

  async resume(runId: string): Promise<void> {
    await this.job((cb) => this.ctx.api.resumeRun(runId, cb));
  }

  pause(): void {
    this.paused = true;
    void this.ctx.api.pause();
  }

  unpause(): void {
    this.paused = false;
    void this.ctx.api.unpause();
  }

  /** Profiles a step of the running training now (the Speed block). */
  profileSpeed(): void {
    this.speedPending = true;
    void this.ctx.api.profileSpeed();
  }

  stop(): void {
    this.stopping = true;
    void this.ctx.api.stop();
  }

  async importCheckpoint(file: File): Promise<void> {
    const ds = this.ctx.dataset;
    if (!ds) return;
    this.checkpointError = null;
    this.notice = null;
    try {
      const run = await this.ctx.api.importCheckpoint(ds.id, file);
      this.notice = `Imported checkpoint ${file.name} as run ${run.id} (epoch ${run.history.length}).`;
      await this.ctx.refreshStored();
    } catch (e) {
      this.checkpointError = message(e);
    }
  }

  /** Deletes one run with its checkpoints (the page asks for confirmation first). */
  async deleteRun(id: string): Promise<void> {
    this.error = null;
    try {
      await this.ctx.api.deleteRun(id);
      this.overlaid = this.overlaid.filter((x) => x !== id);
      if (this.run?.id === id) this.run = null;
    } catch (e) {
      this.error = message(e);
    }
    await this.ctx.refreshStored();
  }

  /** No WebGPU adapter came back after a reset: continue on the fallback backend (then Resume the run). */
  async useFallback(): Promise<void> {
    try {
      await this.ctx.api.useFallbackBackend();
      this.gpuLost = null;
      this.notice = 'Continuing on the fallback backend: resume the run from its last checkpoint.';
    } catch (e) {
      this.error = message(e);
    }
  }

  toggleOverlay(id: string): void {
    this.overlaid = this.overlaid.includes(id) ? this.overlaid.filter((x) => x !== id) : [...this.overlaid, id].slice(-2);
  }

  exportCsv(run: RunInfo): void {
    const cols = [
      'epoch',
      'trainLoss',
      'valLoss',
      'valWer',
      'valCer',
      'S',
      'D',
      'I',
      'N',
      'blankRate',
      'lr',
      'gradNorm',
      'skippedBatches',
      'paddingEfficiency',
      'seconds',
    ];
    const lines = [cols.join(','), ...run.history.map((h) => cols.map((c) => h[c] ?? '').join(','))];
    saveBytes(new TextEncoder().encode(lines.join('\n') + '\n').buffer as ArrayBuffer, `ctc-lab-${run.id}-metrics.csv`);
  }
}
