// The typed protocol between the page and the trainer worker (Comlink). The page only sees these
// types; everything behind them runs in the worker.

import type { BackendInfo } from '../engine/backend';
import type { OverfitConfig, OverfitEpoch, OverfitResult } from '../engine/train/overfit';
import type { DatasetMeta } from '../data/types';
import type { ImportProgress, ImportReport, InputFile } from '../data/import';
import type { DiagnosticsReport } from '../engine/diagnose/report';
import type { CheckResult } from '../engine/diagnose/checks';
import type { DoctorAlert } from '../engine/diagnose/doctor';
import type { TrainConfig } from '../engine/train/config';
import type { ArchKnobs } from '../engine/model/presets';
import type { EpochMetrics, StepMetrics } from '../engine/train/trainer';
import type { EarlyStoppingState } from '../engine/train/early_stopping';
import type { RunRecord } from '../data/store';

export type { ImportProgress };
export type { BackendInfo, OverfitConfig, OverfitEpoch, OverfitResult, DatasetMeta, InputFile, ImportReport, DiagnosticsReport, CheckResult, DoctorAlert, TrainConfig, EpochMetrics, StepMetrics, EarlyStoppingState, RunRecord };

export type TrainEvent =
  | { type: 'start'; run: RunRecord; stepsPerEpoch: number; trainSamples: number; valSamples: number; excluded: number; paramCount: number; preset: string; subsampling: number }
  | { type: 'step'; step: StepMetrics }
  | { type: 'epoch'; metrics: EpochMetrics; improved: boolean; earlyStopping: EarlyStoppingState }
  | { type: 'alerts'; alerts: DoctorAlert[] };

export interface TrainOutcome {
  run: RunRecord;
  alerts: DoctorAlert[];
}

export interface DiagnosticsRequest {
  checkpointId: string | null; // null: a freshly initialised model
  patience: number; // the early-stopping settings to judge
  minDelta: number;
  maxEpochs: number;
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

export interface CheckpointInfo {
  id: string;
  datasetId: string;
  kind: 'overfit' | 'best' | 'last';
  createdAt: number;
  fileName: string;
  overfit?: { passed: boolean; epochs: number; seconds: number; finalLoss: number; finalWer: number };
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

export interface ModelInfo {
  preset: string;
  paramCount: number;
  subsampling: number;
}

export interface LabApi {
  init(): Promise<BackendInfo>;
  /** Parameter count and time subsampling of a model preset for a dataset's feature dim and vocabulary. */
  describeModel(datasetId: string, knobs: ArchKnobs): Promise<ModelInfo>;
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
    storage: 'float32' | 'float16',
    onProgress: (p: ImportProgress) => void,
  ): Promise<{ pendingId: string; report: ImportReport & { stagedAs: 'float32' | 'float16' } }>;
  /** Aborts the running analysis; its staged samples are deleted. */
  abortImport(): void;
  /** Makes a staged import a dataset (samples with NaN/Inf are already left out), as float32 or float16. */
  commitImport(pendingId: string, storage: 'float32' | 'float16'): Promise<DatasetMeta>;
  cancelImport(pendingId: string): Promise<void>;
  deleteDataset(id: string): Promise<void>;
  renameDataset(id: string, name: string): Promise<DatasetMeta>;
  /** One stored sample, features normalised as the trainer sees them. */
  getSample(datasetId: string, index: number): Promise<SampleView>;
  runOverfitTest(
    datasetId: string,
    cfg: Partial<OverfitConfig>,
    onEpoch: (e: OverfitEpoch) => void,
    onAlerts: (a: DoctorAlert[]) => void,
  ): Promise<OverfitOutcome>;
  stop(): void;
  runDiagnostics(datasetId: string, req: DiagnosticsRequest): Promise<DiagnosticsReport>;
  /** Full training; resolves when the run ends (finished, early-stopped, stopped or failed). */
  startTraining(datasetId: string, cfg: Partial<TrainConfig>, onEvent: (e: TrainEvent) => void): Promise<TrainOutcome>;
  /** Continues a stored run from its last checkpoint (after a reload, a stop or a crash). */
  resumeRun(runId: string, onEvent: (e: TrainEvent) => void): Promise<TrainOutcome>;
  pause(): void;
  unpause(): void;
  listRuns(datasetId: string): Promise<RunRecord[]>;
  /** Stores an uploaded .safetensors checkpoint as a resumable run on this dataset (validated first). */
  importCheckpoint(datasetId: string, file: File): Promise<RunRecord>;
  listCheckpoints(datasetId: string): Promise<CheckpointInfo[]>;
  getCheckpointBytes(id: string): Promise<{ fileName: string; bytes: ArrayBuffer }>;
}
