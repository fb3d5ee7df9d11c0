// The typed protocol between the page and the trainer worker (Comlink). The page only sees these
// types; everything behind them runs in the worker.

import type { BackendInfo } from '../engine/backend';
import type { OverfitConfig, OverfitEpoch, OverfitResult } from '../engine/train/overfit';
import type { DatasetMeta } from '../data/types';
import type { InputFile } from '../data/import';

export type { BackendInfo, OverfitConfig, OverfitEpoch, OverfitResult, DatasetMeta, InputFile };

export interface CheckpointInfo {
  id: string;
  datasetId: string;
  kind: 'overfit' | 'best' | 'last';
  createdAt: number;
  fileName: string;
}

export interface OverfitOutcome {
  result: OverfitResult;
  checkpoint: CheckpointInfo;
  paramCount: number;
  subsampling: number;
  backend: BackendInfo['name'];
}

export interface LabApi {
  init(): Promise<BackendInfo>;
  listDatasets(): Promise<DatasetMeta[]>;
  createDemoDataset(seed?: number): Promise<DatasetMeta>;
  /** Validates everything first; stores nothing unless all of it is valid. */
  importDataset(files: InputFile[], name: string): Promise<DatasetMeta>;
  deleteDataset(id: string): Promise<void>;
  runOverfitTest(datasetId: string, cfg: Partial<OverfitConfig>, onEpoch: (e: OverfitEpoch) => void): Promise<OverfitOutcome>;
  stop(): void;
  listCheckpoints(datasetId: string): Promise<CheckpointInfo[]>;
  getCheckpointBytes(id: string): Promise<{ fileName: string; bytes: ArrayBuffer }>;
}
