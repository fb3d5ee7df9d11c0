// The page's reactive handle on the trainer worker. Components read these fields; only this class
// talks to the worker.

import * as Comlink from 'comlink';
import type {
  BackendInfo, CheckpointInfo, DatasetMeta, SampleView, DiagnosticsReport, DiagnosticsRequest, DoctorAlert, ImportProgress, ImportReport, InputFile, LabApi, OverfitEpoch, OverfitOutcome,
} from '../worker/api';
import type { EpochMetrics, ModelInfo, RunRecord, StepMetrics, TrainConfig, TrainEvent } from '../worker/api';
import { reportToMarkdown } from '../engine/diagnose/report';
import { PRESETS, TRAIN_DEFAULTS } from '../engine/train/config';
import { recommendedPatience } from '../engine/diagnose/checks';
import { saveBytes } from './files';
import { presetSize, PRESET_SUBSAMPLING, type ArchKnobs, type Preset } from '../engine/model/presets';

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export class Lab {
  backend = $state<BackendInfo | null>(null);
  backendError = $state<string | null>(null);
  datasets = $state.raw<DatasetMeta[]>([]);
  selectedId = $state<string | null>(null);
  selected = $derived(this.datasets.find((d) => d.id === this.selectedId) ?? null);
  importing = $state(false);
  importError = $state<string | null>(null);
  notice = $state<string | null>(null);
  pendingImport = $state.raw<{ pendingId: string; report: ImportReport & { stagedAs: 'float32' | 'float16' } } | null>(null);
  importProgress = $state.raw<ImportProgress | null>(null);
  storeAs = $state<'float32' | 'float16'>('float32');
  storage = $state<{ usage: number; quota: number; persisted: boolean } | null>(null);

  running = $state(false);
  stopping = $state(false);
  progress = $state<OverfitEpoch | null>(null);
  lossCurve = $state.raw<number[]>([]);
  outcome = $state<OverfitOutcome | null>(null);
  runError = $state<string | null>(null);
  checkpoints = $state.raw<CheckpointInfo[]>([]);

  alerts = $state.raw<DoctorAlert[]>([]);
  overfitSettings = $state<{ numSamples: number; maxEpochs: number; lr: number; preset: Preset }>({ numSamples: 5, maxEpochs: 2000, lr: 3e-3, preset: 'tcn' });
  diagnostics = $state.raw<DiagnosticsReport | null>(null);
  diagRunning = $state(false);
  diagError = $state<string | null>(null);
  diagSettings = $state<DiagnosticsRequest>({ checkpointId: null, patience: 15, minDelta: 0, maxEpochs: 150 });

  // Full training
  trainConfig = $state<TrainConfig>({ ...TRAIN_DEFAULTS });
  training = $state(false);
  trainPaused = $state(false);
  run = $state.raw<RunRecord | null>(null);
  epochs = $state.raw<EpochMetrics[]>([]);
  steps = $state.raw<StepMetrics[]>([]);
  trainAlerts = $state.raw<DoctorAlert[]>([]);
  trainInfo = $state<{ stepsPerEpoch: number; trainSamples: number; valSamples: number; excluded: number; paramCount: number; preset: string; subsampling: number } | null>(null);
  trainError = $state<string | null>(null);
  ckptError = $state<string | null>(null);
  trainNotice = $state<string | null>(null);
  trainStartedAt = $state(0);
  stepsAtStart = $state(0);
  runs = $state.raw<RunRecord[]>([]);
  compare = $state<string[]>([]); // run ids shown side by side (at most 2)
  patienceAdvice = $derived(
    this.selected && this.trainConfig.patience > 0 && this.trainConfig.patience < recommendedPatience(this.selected.counts.train)
      ? `Patience ${this.trainConfig.patience} is low for ${this.selected.counts.train} training samples: the field guide's run stopped at epoch 45 of 150 with 92% WER on patience 15. Recommended: ≥ ${recommendedPatience(this.selected.counts.train)}.`
      : null,
  );

  busy = $derived(this.running || this.diagRunning || this.importing || this.training);

  private api: Comlink.Remote<LabApi>;

  constructor() {
    const worker = new Worker(new URL('../worker/trainer.worker.ts', import.meta.url), { type: 'module', name: 'ctc-lab-trainer' });
    this.api = Comlink.wrap<LabApi>(worker);
  }

  async start(): Promise<void> {
    try {
      this.backend = await this.api.init();
      void this.refreshStorage();
    } catch (e) {
      this.backendError = message(e);
    }
    await this.refresh();
  }

  async refresh(selectId?: string): Promise<void> {
    this.datasets = await this.api.listDatasets();
    if (selectId) this.selectedId = selectId;
    if (!this.datasets.some((d) => d.id === this.selectedId)) this.selectedId = this.datasets.at(-1)?.id ?? null;
    await this.refreshCheckpoints();
  }

  async refreshCheckpoints(): Promise<void> {
    this.checkpoints = this.selectedId ? await this.api.listCheckpoints(this.selectedId) : [];
    this.runs = this.selectedId ? await this.api.listRuns(this.selectedId) : [];
  }

  async select(id: string): Promise<void> {
    this.selectedId = id;
    this.diagnostics = null;
    this.diagSettings.checkpointId = null;
    this.outcome = null;
    this.progress = null;
    this.lossCurve = [];
    await this.refreshCheckpoints();
  }

  async loadDemo(): Promise<void> {
    await this.runImport(() => this.api.createDemoDataset(42));
  }

  /** Step 1: read, validate and stage (invisible); the report is shown and no dataset exists yet. */
  async importFiles(files: InputFile[], name: string): Promise<void> {
    if (files.length === 0 || this.importing) return;
    if (this.pendingImport) this.cancelImport();
    this.importing = true;
    this.importError = null;
    this.notice = null;
    this.importProgress = null;
    await this.refreshStorage();
    try {
      this.pendingImport = await this.api.analyseImport(files, name, PRESET_SUBSAMPLING[this.trainConfig.preset], this.storeAs, Comlink.proxy((p: ImportProgress) => (this.importProgress = p)));
      await this.refreshStorage();
    } catch (e) {
      this.importError = message(e);
    } finally {
      this.importing = false;
      this.importProgress = null;
    }
  }

  abortImport(): void {
    void this.api.abortImport();
  }

  /** Step 2: make the staged import a dataset; asks the browser to keep the site's storage. */
  async commitImport(): Promise<void> {
    const p = this.pendingImport;
    if (!p) return;
    this.pendingImport = null;
    await this.runImport(() => this.api.commitImport(p.pendingId, this.storeAs));
    try {
      await navigator.storage?.persist?.();
    } catch {
      // persistence is a request; the import is stored either way
    }
    await this.refreshStorage();
  }

  cancelImport(): void {
    if (this.pendingImport) void this.api.cancelImport(this.pendingImport.pendingId).then(() => this.refreshStorage());
    this.pendingImport = null;
  }

  async refreshStorage(): Promise<void> {
    try {
      const est = await navigator.storage?.estimate?.();
      const persisted = (await navigator.storage?.persisted?.()) ?? false;
      if (est) this.storage = { usage: est.usage ?? 0, quota: est.quota ?? 0, persisted };
    } catch {
      this.storage = null;
    }
  }

  private async runImport(job: () => Promise<DatasetMeta>): Promise<void> {
    this.importing = true;
    this.importError = null;
    this.notice = null;
    try {
      const meta = await job();
      this.notice = `Stored "${meta.name}": ${meta.numSamples} samples.`;
      await this.refresh(meta.id);
      await this.select(meta.id);
    } catch (e) {
      this.importError = message(e);
    } finally {
      this.importing = false;
    }
  }

  inspected = $state.raw<SampleView | null>(null);

  async renameDataset(id: string, name: string): Promise<void> {
    try {
      await this.api.renameDataset(id, name);
      await this.refresh();
    } catch (e) {
      this.importError = message(e);
    }
  }

  async inspect(datasetId: string, index: number): Promise<void> {
    const meta = this.datasets.find((d) => d.id === datasetId);
    if (!meta) return;
    const i = Math.min(Math.max(index, 0), meta.numSamples - 1);
    this.inspected = await this.api.getSample(datasetId, i);
  }

  async deleteDataset(id: string): Promise<void> {
    await this.api.deleteDataset(id);
    await this.refresh();
  }

  async runOverfit(): Promise<void> {
    if (!this.selectedId || this.running) return;
    this.running = true;
    this.stopping = false;
    this.runError = null;
    this.outcome = null;
    this.progress = null;
    this.lossCurve = [];
    this.alerts = [];
    const curve: number[] = [];
    try {
      this.outcome = await this.api.runOverfitTest(
        this.selectedId,
        $state.snapshot(this.overfitSettings),
        Comlink.proxy((e: OverfitEpoch) => {
          this.progress = e;
          curve.push(e.loss);
          this.lossCurve = curve.slice();
        }),
        Comlink.proxy((a: DoctorAlert[]) => {
          this.alerts = [...this.alerts, ...a];
        }),
      );
      const last = this.outcome.result.history.at(-1);
      if (last) this.progress = last;
      this.lossCurve = this.outcome.result.history.map((h) => h.loss);
      console.log(`[ctc-lab] overfit test ${this.outcome.result.passed ? 'passed' : 'failed'} in ${this.outcome.result.epochs} epochs, ${this.outcome.result.seconds.toFixed(2)} s on ${this.outcome.backend}`);
      await this.refreshCheckpoints();
    } catch (e) {
      this.runError = message(e);
    } finally {
      this.running = false;
    }
  }

  async runDiagnostics(): Promise<void> {
    if (!this.selectedId || this.busy) return;
    this.diagRunning = true;
    this.diagError = null;
    this.diagnostics = null;
    try {
      this.diagnostics = await this.api.runDiagnostics(this.selectedId, $state.snapshot(this.diagSettings));
    } catch (e) {
      this.diagError = message(e);
    } finally {
      this.diagRunning = false;
    }
  }

  downloadReport(kind: 'md' | 'json'): void {
    const r = this.diagnostics;
    if (!r) return;
    const text = kind === 'md' ? reportToMarkdown(r) : JSON.stringify(r, null, 2);
    const stamp = r.createdAt.replace(/[:.]/g, '-');
    saveBytes(new TextEncoder().encode(text).buffer as ArrayBuffer, `ctc-lab-diagnostics-${stamp}.${kind}`);
  }

  /** A training recipe: resets the optimisation settings, keeps the chosen model. */
  applyPreset(name: keyof typeof PRESETS): void {
    const { preset, channels, layers, hidden, heads } = this.trainConfig;
    this.trainConfig = { ...TRAIN_DEFAULTS, preset, channels, layers, hidden, heads, ...PRESETS[name].config };
  }

  /** Switches the model preset and loads its default size. */
  chooseModel(preset: Preset): void {
    this.trainConfig = { ...this.trainConfig, preset, ...presetSize(preset) };
  }

  async describeModel(knobs: ArchKnobs): Promise<ModelInfo | null> {
    if (!this.selectedId || !this.backend) return null;
    return this.api.describeModel(this.selectedId, knobs);
  }

  private onTrainEvent = (e: TrainEvent) => {
    if (e.type === 'start') {
      this.run = e.run;
      this.trainInfo = { stepsPerEpoch: e.stepsPerEpoch, trainSamples: e.trainSamples, valSamples: e.valSamples, excluded: e.excluded, paramCount: e.paramCount, preset: e.preset, subsampling: e.subsampling };
      this.epochs = e.run.history as unknown as EpochMetrics[];
      this.stepsAtStart = this.epochs.length * e.stepsPerEpoch;
      this.trainStartedAt = performance.now();
    } else if (e.type === 'step') {
      const s = this.steps.length > 4000 ? this.steps.slice(-3000) : this.steps;
      this.steps = [...s, e.step];
    } else if (e.type === 'epoch') {
      this.epochs = [...this.epochs, e.metrics];
    } else {
      this.trainAlerts = [...this.trainAlerts, ...e.alerts];
    }
  };

  private async trainJob(job: (cb: (e: TrainEvent) => void) => Promise<{ run: RunRecord }>): Promise<void> {
    if (!this.selectedId || this.busy) return;
    this.training = true;
    this.trainPaused = false;
    this.stopping = false;
    this.trainError = null;
    this.steps = [];
    this.trainAlerts = [];
    try {
      const out = await job(Comlink.proxy(this.onTrainEvent));
      this.run = out.run;
      console.log(`[ctc-lab] training run ${out.run.id} ${out.run.status}: ${out.run.reason}`);
      if (out.run.status === 'failed') this.trainError = out.run.reason;
    } catch (e) {
      this.trainError = message(e);
    } finally {
      this.training = false;
      await this.refreshCheckpoints();
    }
  }

  async startTraining(): Promise<void> {
    this.epochs = [];
    const id = this.selectedId!;
    await this.trainJob((cb) => this.api.startTraining(id, $state.snapshot(this.trainConfig), cb));
  }

  async resumeRun(runId: string): Promise<void> {
    await this.trainJob((cb) => this.api.resumeRun(runId, cb));
  }

  pauseTraining(): void {
    this.trainPaused = true;
    void this.api.pause();
  }

  unpauseTraining(): void {
    this.trainPaused = false;
    void this.api.unpause();
  }

  async importCheckpoint(file: File): Promise<void> {
    if (!this.selectedId) return;
    this.ckptError = null;
    this.trainNotice = null;
    try {
      const run = await this.api.importCheckpoint(this.selectedId, file);
      this.trainNotice = `Imported checkpoint ${file.name} as run ${run.id} (epoch ${run.history.length}).`;
      await this.refreshCheckpoints();
    } catch (e) {
      this.ckptError = message(e);
    }
  }

  toggleCompare(id: string): void {
    this.compare = this.compare.includes(id) ? this.compare.filter((x) => x !== id) : [...this.compare, id].slice(-2);
  }

  exportCsv(run: RunRecord): void {
    const cols = ['epoch', 'trainLoss', 'valLoss', 'valWer', 'valCer', 'S', 'D', 'I', 'N', 'blankRate', 'lr', 'gradNorm', 'skippedBatches', 'paddingEfficiency', 'seconds'];
    const lines = [cols.join(','), ...run.history.map((h) => cols.map((c) => h[c] ?? '').join(','))];
    saveBytes(new TextEncoder().encode(lines.join('\n') + '\n').buffer as ArrayBuffer, `ctc-lab-${run.id}-metrics.csv`);
  }

  stop(): void {
    this.stopping = true;
    void this.api.stop();
  }

  async downloadCheckpoint(id: string): Promise<void> {
    const { fileName, bytes } = await this.api.getCheckpointBytes(id);
    saveBytes(bytes, fileName);
  }
}
