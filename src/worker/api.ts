// The typed protocol between the page and the lab's worker (Comlink): one interface per feature,
// composed into LabApi. The page sees only this file: its types, and the plain data (defaults,
// model presets, recipes) its forms start from. Nothing here may pull TF.js into the page's bundle
// (a test builds the page and checks).

import type { BackendInfo } from '../engine/backend';
import type { OverfitConfig } from '../engine/train/overfit_config';
import type { OverfitEpoch, OverfitResult } from '../engine/train/overfit';
import type { ImportProgress, ImportReport, InputFile } from '../data/import';
import type { DiagnosticsReport } from '../engine/diagnose/report';
import type { CheckResult } from '../engine/diagnose/checks';
import type { DoctorAlert } from '../engine/diagnose/doctor';
import type { ForecastView } from '../engine/forecast/view';
import type { TrainConfig, RecipeName } from '../engine/train/config';
import type { ArchKnobs, Preset } from '../engine/model/presets';
import type { StepMetrics } from '../engine/train/trainer';
import type { SpeedReport } from '../engine/train/speed';
import type { EarlyStoppingState } from '../engine/train/early_stopping';
import type { Distillation, DistillSettings, TeacherChoice, TeacherRef } from '../engine/distill/settings';
import type {
  CheckpointRecord,
  DatasetMeta,
  DistillationRecord,
  DistillationSummary,
  Encoding,
  EpochRecord,
  HistoryRow,
  OutputSetMeta,
  RunRecord,
  RunStatus,
  Split,
  SweepRecord,
  SweepStatus,
  TeacherRecord,
} from '../data/types';
import type { OutputsImportReport } from '../data/outputs_import';
import type { AlignmentView, ViewRow } from '../engine/align/view';
import type { TokenSpan } from '../engine/align/spans';
import type { Comparison, CompareRow } from '../engine/diagnose/compare';
import type { LrFindPoint, LrFindResult, LrSuggestion } from '../engine/tune/lr_find';
import type { SweepSpec } from '../engine/tune/sweep_spec';
import type { LmInfo } from '../data/lms';
import type { LmDecodingReport } from '../engine/diagnose/lm_report';

export type {
  BackendInfo,
  OverfitConfig,
  OverfitEpoch,
  OverfitResult,
  DatasetMeta,
  InputFile,
  ImportProgress,
  ImportReport,
  DiagnosticsReport,
  CheckResult,
  DoctorAlert,
  TrainConfig,
  RecipeName,
  ArchKnobs,
  Preset,
  StepMetrics,
  EarlyStoppingState,
  OutputSetMeta,
  Split,
  OutputsImportReport,
  AlignmentView,
  ViewRow,
  TokenSpan,
  Comparison,
  CompareRow,
};

// Plain data for the page's forms: each default is defined once, next to the code that uses it.
export { OVERFIT_DEFAULTS } from '../engine/train/overfit_config';
export { TRAIN_DEFAULTS, RECIPES } from '../engine/train/config';
export { averageBestProblem, emaDecayProblem } from '../engine/train/averaging_settings';
export { DIAGNOSE_DEFAULTS } from '../engine/diagnose/defaults';
export { PRESET_DEFAULTS, PRESET_NAMES, PRESET_SUBSAMPLING, presetSize } from '../engine/model/presets';
export { recommendedPatience } from '../engine/diagnose/run_checks';
export { reportToMarkdown } from '../engine/diagnose/report';
export type { ForecastView }; // the learning-curve forecast the page draws (epoch event)
export { FLOAT16_MAX } from '../data/float16';
export { DISTILL_DEFAULTS, DISTILL_HELP } from '../engine/distill/settings';
export { subsamplingOf } from '../engine/model/presets';
export { AUGMENT_DEFAULTS, AUGMENT_OFF, SIGN_LANGUAGE_STRETCH, augmentActive, augmentProblems, type AugmentSettings } from '../engine/augment/settings';
export { augmentedSample } from '../engine/augment/sample'; // pure: the inspector's after-augmentation view
export { formatSeconds } from '../engine/train/speed';
export type { SpeedReport };
export type {
  Distillation,
  DistillSettings,
  DistillationRecord,
  DistillationSummary,
  Encoding,
  EpochRecord,
  HistoryRow,
  TeacherChoice,
  TeacherRecord,
  TeacherRef,
};

/** The BroadcastChannel on which workers announce storage changes; every page re-reads on a message. */
export const STORAGE_CHANNEL = 'ctc-lab-storage';
export type StorageChange =
  | { kind: 'datasets' } // added, renamed or deleted
  | { kind: 'dataset-deleted'; datasetId: string }
  | { kind: 'runs'; datasetId: string } // a run or checkpoint of this dataset was saved, imported or deleted
  | { kind: 'lms'; datasetId: string } // a language model of this dataset was stored or deleted
  | { kind: 'outputs' } // a model-output set was stored (standalone or attached), renamed or deleted, or detached by its dataset's deletion
  | { kind: 'backend' }; // the compute backend changed (GPU reset, fallback)

/** Fault injection for the e2e suite; refused unless the page was opened by a test (window.__ctcLabTestHooks). */
export type TestHook = 'destroy-device' | 'quota-on-next-checkpoint' | 'no-adapter-after-reset';

/**
 * A training run as the page sees it: the stored record, with one more status, 'interrupted':
 * stored as running or paused, but no tab is training it (its tab closed, crashed or reloaded).
 */
export type RunInfo = Omit<RunRecord, 'status'> & { status: RunStatus | 'interrupted' };

/** A stored run record that fails the run-record schema: listed so it can be deleted, never rendered as a run. */
export interface DamagedRun {
  id: string;
  problem: string; // the field and what was expected
}

/** A stored checkpoint as lists show it (the file itself comes with getCheckpointBytes). */
export type CheckpointInfo = Omit<CheckpointRecord, 'bytes'>;

export interface SampleView {
  index: number;
  id: string;
  text: string;
  split: string;
  frames: number;
  featureDim: number;
  normalised: Float32Array; // [frames, featureDim]
}

export interface ModelInfo {
  preset: string;
  paramCount: number;
  subsampling: number;
}

export interface OverfitOutcome {
  result: OverfitResult;
  checkpoint: CheckpointInfo;
  preset: string;
  paramCount: number;
  subsampling: number;
  backend: BackendInfo['name'];
  alerts: DoctorAlert[]; // what the live training doctor raised during the run
}

export type TrainEvent =
  | {
      type: 'start';
      run: RunInfo;
      stepsPerEpoch: number;
      trainSamples: number;
      valSamples: number;
      excluded: number;
      paramCount: number;
      preset: string;
      subsampling: number;
      resumedFrom: { step: number; epoch: number; midEpoch: boolean } | null; // where a resumed run continues (epoch: completed epochs)
    }
  | { type: 'step'; step: StepMetrics }
  // patiencePaused: the plateau-aware rule's message when it paused patience this epoch (engine/forecast/stopping.ts), else null;
  // forecast: the learning-curve forecast after an evaluated epoch (engine/forecast/view.ts), null when not evaluated
  | {
      type: 'epoch';
      metrics: EpochRecord;
      improved: boolean;
      earlyStopping: EarlyStoppingState;
      patiencePaused: string | null;
      forecast: ForecastView | null;
    }
  | { type: 'alerts'; alerts: DoctorAlert[] }
  // the last checkpoint was written (mid-epoch: every checkpointMinutes, on pause and on stop; or at an epoch's end)
  | { type: 'saved'; step: number; epoch: number; midEpoch: boolean; heldMs: number }
  // the GPU device was lost and the run resumed by itself from its last checkpoint on a new device
  | { type: 'recovered'; step: number; attempt: number; backend: BackendInfo }
  // the GPU device was lost and no adapter came back: the page offers the fallback backend
  | { type: 'gpu-lost'; message: string }
  // the speed report of a profiled step (after the warm-up steps, then every 10 minutes or on request); error: profiling failed, training goes on
  | { type: 'speed'; report: SpeedReport | null; error: string | null };

export interface TrainOutcome {
  run: RunInfo;
  alerts: DoctorAlert[];
}

export interface DiagnosticsRequest {
  checkpointId: string | null; // null: a freshly initialised model
  patience: number; // the early-stopping settings to judge
  minDelta: number;
  maxEpochs: number;
}

/** Start-up and the controls every job obeys (one GPU job per tab). */
export interface JobsApi {
  /** The compute backend, after the worker's one-time start-up. */
  init(opts?: { testHooks?: boolean }): Promise<BackendInfo>;
  /** The current backend (it changes after a GPU reset or a switch to the fallback). */
  backendInfo(): Promise<BackendInfo>;
  /** After a GPU reset with no adapter: continue on WebGL (else CPU). */
  useFallbackBackend(): Promise<BackendInfo>;
  /** e2e fault injection (see TestHook); throws unless enabled by init({ testHooks: true }). */
  testHook(hook: TestHook): Promise<void>;
  /** Asks the running job (overfit test or training) to stop at its next step. */
  stop(): void;
  pause(): void;
  unpause(): void;
}

export interface ModelsApi {
  /** Parameter count and time subsampling of a model preset for a dataset's feature dim and vocabulary. */
  describeModel(datasetId: string, knobs: ArchKnobs): Promise<ModelInfo>;
}

export interface DatasetsApi {
  listDatasets(): Promise<DatasetMeta[]>;
  createDemoDataset(seed?: number): Promise<DatasetMeta>;
  /**
   * Reads and validates everything, streaming the accepted samples into a staging area no dataset
   * list sees; returns the report the user commits or cancels. Throws (and keeps nothing) on a
   * blocking problem or when aborted. `subsampling`: the chosen model's, for the feasibility list.
   * `storage`: how samples are staged (float16 refuses values beyond its range); the commit may
   * still choose the other one, at the cost of rewriting the samples.
   */
  analyseImport(
    files: InputFile[],
    name: string,
    subsampling: number,
    storage: Encoding,
    onProgress: (p: ImportProgress) => void,
  ): Promise<{ pendingId: string; report: ImportReport & { stagedAs: Encoding } }>;
  /** Aborts the running analysis; its staged samples are deleted. */
  abortImport(): void;
  /** Makes a staged import a dataset (samples with NaN/Inf are already left out), as float32 or float16. */
  commitImport(pendingId: string, storage: Encoding): Promise<DatasetMeta>;
  cancelImport(pendingId: string): Promise<void>;
  /** Deletes a dataset with its samples, runs and checkpoints. */
  deleteDataset(id: string): Promise<void>;
  renameDataset(id: string, name: string): Promise<DatasetMeta>;
  /** One stored sample, features normalised as the trainer sees them. */
  getSample(datasetId: string, index: number): Promise<SampleView>;
}

export interface OverfitApi {
  runOverfitTest(
    datasetId: string,
    cfg: Partial<OverfitConfig>,
    onEpoch: (e: OverfitEpoch) => void,
    onAlerts: (a: DoctorAlert[]) => void,
  ): Promise<OverfitOutcome>;
}

export interface TrainingApi {
  /** Full training; resolves when the run ends (finished, early-stopped, stopped or failed). */
  startTraining(
    datasetId: string,
    cfg: Partial<TrainConfig>,
    onEvent: (e: TrainEvent) => void,
    distill?: Distillation<TeacherRef> | null,
  ): Promise<TrainOutcome>;
  /** Asks the running training to profile a step now (the speed report comes as a 'speed' event). */
  profileSpeed(): void;
  /** Continues a stored run from its last checkpoint (after a reload, a stop or a crash). */
  resumeRun(runId: string, onEvent: (e: TrainEvent) => void): Promise<TrainOutcome>;
  /** The dataset's runs (checked against the run-record schema) and the records that failed it. */
  listRuns(datasetId: string): Promise<{ runs: RunInfo[]; damaged: DamagedRun[] }>;
  /** Deletes one run with its checkpoints (refused while it trains). */
  deleteRun(runId: string): Promise<void>;
  /** Stores an uploaded .safetensors checkpoint as a resumable run on this dataset (validated first). */
  importCheckpoint(datasetId: string, file: File): Promise<RunInfo>;
}

export interface DiagnosticsApi {
  runDiagnostics(datasetId: string, req: DiagnosticsRequest): Promise<DiagnosticsReport>;
}

export interface CheckpointsApi {
  listCheckpoints(datasetId: string): Promise<CheckpointInfo[]>;
  getCheckpointBytes(id: string): Promise<{ fileName: string; bytes: ArrayBuffer }>;
}

/** Which samples of an output set or a dataset split: one split, or all of them. */
export type SplitChoice = Split | 'all';

/** A sample of an output set, for pickers (no outputs). */
export interface OutputSampleItem {
  index: number;
  id: string;
  text: string;
  split: Split | null;
  outFrames: number;
}

/** Any CTC model's outputs (docs/ARCHITECTURE.md "Model outputs format"): import, diagnose, align, compare, export. */
export interface OutputsApi {
  listOutputSets(): Promise<OutputSetMeta[]>;
  /**
   * Reads and validates a model-outputs set (folder, .zip or picked files), staging its samples
   * where no list sees them; returns the report the user stores or cancels. Throws (keeping
   * nothing) on the first problem, naming the file and the line or sample. `attachTo`: a stored
   * dataset whose samples these are (same ids and references).
   */
  analyseOutputs(
    files: InputFile[],
    name: string,
    attachTo: string | null,
    onProgress: (p: ImportProgress) => void,
  ): Promise<{ pendingId: string; report: OutputsImportReport }>;
  abortOutputs(): void;
  commitOutputs(pendingId: string): Promise<OutputSetMeta>;
  cancelOutputs(pendingId: string): Promise<void>;
  deleteOutputSet(id: string): Promise<void>;
  renameOutputSet(id: string, name: string): Promise<OutputSetMeta>;
  outputSamples(setId: string): Promise<OutputSampleItem[]>;
  /** The diagnostics that need only outputs and references, as one report. */
  runOutputDiagnostics(setId: string, split: SplitChoice): Promise<DiagnosticsReport>;
  /** A stored checkpoint run on a dataset split, written in the model-outputs format as one .zip. */
  exportOutputs(checkpointId: string, datasetId: string, split: SplitChoice): Promise<{ fileName: string; bytes: ArrayBuffer; samples: number }>;
  /** Posteriorgram, forced and greedy paths and token spans of one sample of an output set. */
  outputAlignment(setId: string, index: number): Promise<AlignmentView>;
  /** The same for a stored checkpoint on one sample of a dataset (the model runs on it). */
  checkpointAlignment(checkpointId: string, datasetId: string, index: number): Promise<AlignmentView>;
  /** Token spans of one sample (its id) or the whole set, as CTM or JSON text. */
  alignmentFile(
    setId: string,
    format: 'ctm' | 'json',
    sampleId: string | null,
  ): Promise<{ fileName: string; text: string; aligned: number; skipped: { id: string; reason: string }[] }>;
  /** Two output sets on the samples they share. */
  compareOutputs(aId: string, bId: string): Promise<Comparison>;
}

export type { LmInfo, LmDecodingReport };
export { hypothesesFileName, hypothesesTsv, surfaceGrid } from '../engine/diagnose/lm_report';
export { LM_BEAM_DEFAULTS } from '../engine/decode/lm_beam';

/** Where a stored LM comes from: the dataset's training transcripts, a text file of sentences (one per line), or an ARPA file. */
export type LmSource = { from: 'transcripts'; order: number } | { from: 'text'; order: number; file: File } | { from: 'arpa'; file: File };

/** Decoding a diagnostics subject (a checkpoint, the fresh model, or an output set) with a stored LM. */
export interface LmDecodingRequest {
  lmId: string;
  datasetId: string;
  checkpointId: string | null; // null with outputSetId null: the fresh model
  outputSetId: string | null;
}

/** n-gram language models beside their dataset (engine/lm/), and decoding with them (engine/diagnose/lm_decoding.ts). */
export interface LmsApi {
  listLms(datasetId: string): Promise<LmInfo[]>;
  /** Builds (order 2–4) or imports an LM; a refused file stores nothing and the error names its line. */
  addLm(datasetId: string, name: string, source: LmSource): Promise<LmInfo>;
  deleteLm(id: string): Promise<void>;
  lmArpa(id: string): Promise<{ fileName: string; text: string }>;
  /** Greedy, beam and beam + LM on the subject's val samples, α and β tuned on them; progress per decoding of the set; Stop ends it. */
  decodeWithLm(req: LmDecodingRequest, onProgress: (done: number, total: number) => void): Promise<LmDecodingReport>;
  /** One sample (its index in the output set or the dataset) decoded greedily and with beam + LM at (α, β), for the alignment view. */
  lmHypothesis(req: LmDecodingRequest & { index: number }, weights: { alpha: number; beta: number }): Promise<{ id: string; greedy: string; lm: string }>;
}

export type LabApi = JobsApi &
  ModelsApi &
  DatasetsApi &
  OverfitApi &
  TrainingApi &
  DiagnosticsApi &
  CheckpointsApi &
  OutputsApi &
  DistillApi &
  TuneApi &
  SweepApi &
  LmsApi;

export interface DistillApi {
  /** The selected dataset's stored checkpoints and the model-output sets attached to it, each checked. */
  listTeachers(datasetId: string): Promise<TeacherChoice[]>;
}

export type { LrFindPoint, LrSuggestion };
/** The learning-rate range test's outcome: its points, why it stopped, the suggestion, and the training samples it drew from. */
export type LrFindOutcome = LrFindResult & { trainSamples: number };

/** Tuning tools on the Training section (engine/tune/). */
export interface TuneApi {
  /** The LR range test on a new model of the form's settings (1e-7 → 1 over `steps`, 100 by default); nothing is stored. Stop ends it early. */
  findLearningRate(datasetId: string, cfg: Partial<TrainConfig>, onPoint: (p: LrFindPoint) => void, opts?: { steps?: number }): Promise<LrFindOutcome>;
}

// Fix sweeps (engine/tune/sweep_run.ts, sweep_spec.ts, fixes.ts; worker/sweep.ts): trials run one after another under
// successive halving, each a normal training run.
export type { SweepRecord, SweepTrialRecord, SweepStatus } from '../data/types';
export type { SweepSpec, Variation, Change, SweepSetting } from '../engine/tune/sweep_spec';
export { SWEEP_FORMAT, SWEEP_SETTINGS, parseSweepSpec, sweepSpecJson } from '../engine/tune/sweep_spec';
export { bestTrial, formatMetric, metricAt, sweepVerdict, tableEpochs, trialBest } from '../engine/tune/sweep_run';
export { sweepFromFixes, type NamedFix } from '../engine/tune/fixes';

/** A stored sweep as the page sees it: 'interrupted' when stored as running but no tab runs it (a reload, a closed tab). */
export type SweepInfo = Omit<SweepRecord, 'status'> & { status: SweepStatus | 'interrupted' };

export interface SweepApi {
  /** The dataset's sweeps, newest first. */
  listSweeps(datasetId: string): Promise<SweepInfo[]>;
  /** Stores a new sweep (the spec validated first, naming the bad field); nothing trains yet. */
  createSweep(datasetId: string, name: string, spec: SweepSpec, baseRunId: string | null): Promise<SweepInfo>;
  /** Runs (or resumes) a stored sweep to its end or a stop; `onUpdate` gets the record after every trial-epoch decision. */
  runSweep(sweepId: string, onUpdate: (s: SweepInfo) => void): Promise<SweepInfo>;
  deleteSweep(sweepId: string): Promise<void>;
  /** The twin's sweep output (trials.jsonl, with or without the spec) stored as a sweep to view; refused naming the line and field. */
  importSweepResults(datasetId: string, name: string, files: { name: string; text: string }[]): Promise<SweepInfo>;
}

/**
 * What worker/sweep.ts runs a trial with (worker/training.ts `trials`, handed over by lab.worker.ts: no
 * feature imports another): a normal training run with a given id, `judge` called after each epoch
 * (its checkpoint written) with the epoch's row; a reason it returns stops the run there.
 */
export interface TrialRunner {
  start(datasetId: string, cfg: TrainConfig, runId: string, judge: TrialJudge, onEvent: (e: TrainEvent) => void): Promise<TrainOutcome>;
  resume(runId: string, judge: TrialJudge, onEvent: (e: TrainEvent) => void): Promise<TrainOutcome>;
}
export type TrialJudge = (row: HistoryRow) => Promise<string | null>;
