// Checkpoint = one .safetensors file: "model.…" tensors, "optim.<slot>.…" tensors, and
// __metadata__.ctc_lab, a JSON string with everything needed to rebuild and resume the run.

import * as tf from '@tensorflow/tfjs';
import { readSafetensors, writeSafetensors, type StTensor } from './safetensors';

export const CHECKPOINT_FORMAT = 'ctc-lab/1';

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  createdAt: string; // ISO 8601
  model: Record<string, unknown>; // model config (preset, sizes)
  subsampling: number;
  vocab: string[]; // class i + 1 = vocab[i]; class 0 = blank
  blank: 0;
  normalisation: { mean: number[]; std: number[] };
  training: {
    config: Record<string, unknown>;
    // Shuffling and dropout are functions of (seed, epoch, step), so no RNG state is stored.
    state: { epoch: number; step: number; seed: number; earlyStopping?: { counter: number; best: number | null; bestEpoch: number } };
  };
  history: Array<Record<string, number | null>>; // per-epoch metrics (null: not measured that epoch)
  dataset: { id: string; name: string };
}

/** Fills in the constant fields of the metadata. */
export function checkpointMeta(parts: Omit<CheckpointMeta, 'format' | 'createdAt' | 'blank'>): CheckpointMeta {
  return { format: CHECKPOINT_FORMAT, createdAt: new Date().toISOString(), blank: 0, ...parts };
}

/** Reads every variable (asynchronously) and writes the safetensors bytes. */
export async function encodeCheckpoint(vars: Map<string, tf.Variable>, meta: CheckpointMeta): Promise<Uint8Array> {
  const tensors: Record<string, StTensor> = {};
  for (const [name, v] of vars) {
    const data = await v.data();
    tensors[name] = { dtype: v.dtype === 'int32' ? 'I32' : 'F32', shape: v.shape, data: data as Float32Array | Int32Array };
  }
  return writeSafetensors(tensors, { ctc_lab: JSON.stringify(meta), format: 'pt' });
}

export function decodeCheckpoint(bytes: ArrayBuffer | Uint8Array, file = 'checkpoint'): { meta: CheckpointMeta; tensors: Record<string, StTensor> } {
  const { tensors, metadata } = readSafetensors(bytes, file);
  if (!metadata.ctc_lab) throw new Error(`${file}: no __metadata__.ctc_lab; not a CTC Lab checkpoint`);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(metadata.ctc_lab);
  } catch (e) {
    throw new Error(`${file}: __metadata__.ctc_lab is not valid JSON (${(e as Error).message})`);
  }
  if (meta.format !== CHECKPOINT_FORMAT) throw new Error(`${file}: checkpoint format '${meta.format}', expected '${CHECKPOINT_FORMAT}'`);
  return { meta, tensors };
}
