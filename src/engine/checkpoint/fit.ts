// The one rule for "does this checkpoint fit this dataset" (the same feature dim, the same
// vocabulary in the same class order), which diagnostics, checkpoint import, output export,
// alignments, teachers and resumed runs all share; and a fitted checkpoint as a model ready to run.

import type { CheckpointRecord, DatasetMeta, HistoryRow } from '../../data/types';
import { createModel, parseModelConfig, type ModelConfig } from '../model/registry';
import type { SequenceModel } from '../model/model';
import type { StTensor } from './safetensors';
import { decodeCheckpoint, readCheckpointHeader, type CheckpointMeta } from './checkpoint';

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

/** A stored checkpoint record, checked against its dataset (the record kept beside it). */
export function storedCheckpointFor(record: CheckpointRecord, dataset: DatasetMeta): FittedCheckpoint & { record: CheckpointRecord } {
  return { ...checkpointForDataset(record.bytes, record.fileName, dataset), record };
}

/** A fitted checkpoint's model with its weights loaded (seed 1: no weight is left to the seed); the caller disposes it. */
export function checkpointModel(ck: FittedCheckpoint, fileName: string): SequenceModel {
  const model = createModel(ck.model, 1);
  try {
    model.loadTensors(ck.tensors, fileName);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** A checkpoint's best validation WER (an overfit test's rows measure its training samples only: none). */
export function bestValWer(history: HistoryRow[]): number | null {
  const w = history.map((h) => h.valWer).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return w.length ? Math.min(...w) : null;
}
