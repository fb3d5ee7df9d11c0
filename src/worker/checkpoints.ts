// Stored checkpoints in the worker: listing, download, and the one rule for "does this checkpoint
// fit this dataset" that diagnostics, checkpoint import and every later feature share.

import * as Comlink from 'comlink';
import { decodeCheckpoint, readCheckpointHeader, type CheckpointMeta } from '../engine/checkpoint/checkpoint';
import type { StTensor } from '../engine/checkpoint/safetensors';
import { parseModelConfig } from '../engine/model/registry';
import type { ModelConfig } from '../engine/model/registry';
import type { DatasetMeta } from '../data/types';
import * as store from '../data/store';
import type { CheckpointInfo, CheckpointsApi } from './api';

export interface FittedCheckpoint {
  meta: CheckpointMeta;
  model: ModelConfig;
  tensors: Record<string, StTensor>;
}

/** What `checkpointForDataset(…, 'header')` gives: the checks without the tensors' values. */
export type FittedHeader = Omit<FittedCheckpoint, 'tensors'>;

/**
 * Decodes a checkpoint and checks it against a dataset: the same feature dim and the same
 * vocabulary in the same class order (a model trained on other classes would decode to the wrong
 * tokens even when the counts agree). Errors name the file and the first difference.
 * `read: 'header'` makes the same checks with the same refusals from the file's header alone
 * (metadata, tensor names, dtypes and shapes), reading no tensor's values: for listings.
 */
export function checkpointForDataset(bytes: ArrayBuffer | Uint8Array, fileName: string, dataset: DatasetMeta): FittedCheckpoint;
export function checkpointForDataset(bytes: ArrayBuffer | Uint8Array, fileName: string, dataset: DatasetMeta, read: 'header'): FittedHeader;
export function checkpointForDataset(
  bytes: ArrayBuffer | Uint8Array,
  fileName: string,
  dataset: DatasetMeta,
  read: 'all' | 'header' = 'all',
): FittedCheckpoint | FittedHeader {
  const ck = read === 'header' ? readCheckpointHeader(bytes, fileName) : decodeCheckpoint(bytes, fileName);
  const meta = ck.meta;
  const model = parseModelConfig(meta.model, fileName);
  if (model.featureDim !== dataset.featureDim) {
    throw new Error(`${fileName}: the model takes ${model.featureDim} features per frame; dataset "${dataset.name}" has ${dataset.featureDim}`);
  }
  const vocab = meta.vocab;
  if (vocab.length !== dataset.vocab.length || vocab.some((t, i) => t !== dataset.vocab[i]) || model.numClasses !== dataset.vocab.length + 1) {
    const diff = Math.max(
      0,
      vocab.findIndex((t, i) => t !== dataset.vocab[i]),
    );
    throw new Error(
      `${fileName}: its vocabulary (${vocab.length} tokens) differs from dataset "${dataset.name}" (${dataset.vocab.length} tokens), first at class ${diff + 1}: '${vocab[diff] ?? '∅'}' vs '${dataset.vocab[diff] ?? '∅'}'`,
    );
  }
  return 'tensors' in ck ? { meta, model, tensors: ck.tensors } : { meta, model };
}

/** A stored checkpoint, checked against its dataset. */
export async function storedCheckpointFor(checkpointId: string, dataset: DatasetMeta): Promise<FittedCheckpoint & { record: store.CheckpointRecord }> {
  const record = await store.getCheckpoint(checkpointId);
  return { ...checkpointForDataset(record.bytes, record.fileName, dataset), record };
}

export const checkpoints: CheckpointsApi = {
  listCheckpoints: (datasetId) => store.listCheckpoints(datasetId) as Promise<CheckpointInfo[]>,

  async getCheckpointBytes(id) {
    const rec = await store.getCheckpoint(id);
    return Comlink.transfer({ fileName: rec.fileName, bytes: rec.bytes }, [rec.bytes]);
  },
};
