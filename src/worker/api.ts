// The typed protocol between the page and the lab's worker (Comlink): one interface per feature,
// composed into LabApi. The page sees only this file: its types, and the plain data (defaults,
// model presets, recipes) its forms start from. Nothing here may pull TF.js into the page's bundle
// (a test builds the page and checks).

import type { BackendInfo } from '../engine/backend';
import type { OverfitConfig } from '../engine/train/overfit_config';
import type { OverfitEpoch, OverfitResult } from '../engine/train/overfit';
import type { DatasetMeta } from '../data/types';
import type { ImportProgress, ImportReport, InputFile } from '../data/import';
import type { DiagnosticsReport } from '../engine/diagnose/report';
import type { CheckResult } from '../engine/diagnose/checks';
import type { DoctorAlert } from '../engine/diagnose/doctor';
import type { TrainConfig, RecipeName } from '../engine/train/config';
import type { ArchKnobs, Preset } from '../engine/model/presets';
import type { EpochMetrics, StepMetrics } from '../engine/train/trainer';
import type { EarlyStoppingState } from '../engine/train/early_stopping';

export type {
  BackendInfo, OverfitConfig, OverfitEpoch, OverfitResult, DatasetMeta, InputFile, ImportProgress, ImportReport, DiagnosticsReport,
  CheckResult, DoctorAlert, TrainConfig, RecipeName, ArchKnobs, Preset, EpochMetrics, StepMetrics, EarlyStoppingState,
};

// Plain data for the page's forms: each default is defined once, next to the code that uses it.
export { OVERFIT_DEFAULTS } from '../engine/train/overfit_config';
export { TRAIN_DEFAULTS, RECIPES } from '../engine/train/config';
export { DIAGNOSE_DEFAULTS } from '../engine/diagnose/defaults';
export { PRESET_DEFAULTS, PRESET_NAMES, PRESET_SUBSAMPLING, presetSize } from '../engine/model/presets';
export { recommendedPatience } from '../engine/diagnose/checks';
export { reportToMarkdown } from '../engine/diagnose/report';
export { FLOAT16_MAX } from '../data/float16';

export type Storage = 'float32' | 'float16';

/** A training run as the page sees it (stored with its checkpoints' ids). */
export interface RunInfo {
  id: string;
  datasetId: string;
  datasetName: string;
  createdAt: number;
  updatedAt: number;
  config: Record<string, unknown>; // the TrainConfig it ran with
  status: 'running' | 'paused' | 'stopped' | 'finished' | 'early-stopped' | 'failed';
  reason: string;
  history: Record<string, number | null>[]; // per-epoch metrics
  bestCheckpointId: string | null;
  lastCheckpointId: string | null;
}

export interface CheckpointInfo {
  id: string;
  datasetId: string;
  kind: 'overfit' | 'best' | 'last';
  runId?: string;
  createdAt: number;
  fileName: string;
  overfit?: { passed: boolean; epochs: number; seconds: number; finalLoss: number; finalWer: number };
}

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
  | { type: 'start'; run: RunInfo; stepsPerEpoch: number; trainSamples: number; valSamples: number; excluded: number; paramCount: number; preset: string; subsampling: number }
  | { type: 'step'; step: StepMetrics }
  | { type: 'epoch'; metrics: EpochMetrics; improved: boolean; earlyStopping: EarlyStoppingState }
  | { type: 'alerts'; alerts: DoctorAlert[] };

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
  init(): Promise<BackendInfo>;
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
    storage: Storage,
    onProgress: (p: ImportProgress) => void,
  ): Promise<{ pendingId: string; report: ImportReport & { stagedAs: Storage } }>;
  /** Aborts the running analysis; its staged samples are deleted. */
  abortImport(): void;
  /** Makes a staged import a dataset (samples with NaN/Inf are already left out), as float32 or float16. */
  commitImport(pendingId: string, storage: Storage): Promise<DatasetMeta>;
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
  startTraining(datasetId: string, cfg: Partial<TrainConfig>, onEvent: (e: TrainEvent) => void): Promise<TrainOutcome>;
  /** Continues a stored run from its last checkpoint (after a reload, a stop or a crash). */
  resumeRun(runId: string, onEvent: (e: TrainEvent) => void): Promise<TrainOutcome>;
  listRuns(datasetId: string): Promise<RunInfo[]>;
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

export type LabApi = JobsApi & ModelsApi & DatasetsApi & OverfitApi & TrainingApi & DiagnosticsApi & CheckpointsApi;
