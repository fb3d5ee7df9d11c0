// The typed protocol between the page and the trainer worker (Comlink). The page only sees these
// types; everything behind them runs in the worker.

import type { BackendInfo } from '../engine/backend';
import type { OverfitConfig, OverfitEpoch, OverfitResult } from '../engine/train/overfit';
import type { DatasetMeta } from '../data/types';
import type { InputFile } from '../data/import';
import type { DiagnosticsReport } from '../engine/diagnose/report';
import type { CheckResult } from '../engine/diagnose/checks';
import type { DoctorAlert } from '../engine/diagnose/doctor';

export type { BackendInfo, OverfitConfig, OverfitEpoch, OverfitResult, DatasetMeta, InputFile, DiagnosticsReport, CheckResult, DoctorAlert };

export interface DiagnosticsRequest {
  checkpointId: string | null; // null: a freshly initialised model
  patience: number; // the early-stopping settings to judge
  minDelta: number;
  maxEpochs: number;
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
  paramCount: number;
  subsampling: number;
  backend: BackendInfo['name'];
  alerts: DoctorAlert[]; // what the live training doctor raised during the run
}

export interface LabApi {
  init(): Promise<BackendInfo>;
  listDatasets(): Promise<DatasetMeta[]>;
  createDemoDataset(seed?: number): Promise<DatasetMeta>;
  /** Validates everything first; stores nothing unless all of it is valid. */
  importDataset(files: InputFile[], name: string): Promise<DatasetMeta>;
  deleteDataset(id: string): Promise<void>;
  runOverfitTest(
    datasetId: string,
    cfg: Partial<OverfitConfig>,
    onEpoch: (e: OverfitEpoch) => void,
    onAlerts: (a: DoctorAlert[]) => void,
  ): Promise<OverfitOutcome>;
  stop(): void;
  runDiagnostics(datasetId: string, req: DiagnosticsRequest): Promise<DiagnosticsReport>;
  listCheckpoints(datasetId: string): Promise<CheckpointInfo[]>;
  getCheckpointBytes(id: string): Promise<{ fileName: string; bytes: ArrayBuffer }>;
}
