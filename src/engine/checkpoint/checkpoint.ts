// Checkpoint = one .safetensors file: "model.…" tensors, "optim.<slot>.…" tensors, and
// __metadata__.ctc_lab, a JSON string with everything needed to rebuild and resume the run.
// Decoding validates the whole file before anyone uses it: the metadata against the schema
// (schema.ts), then every tensor against the model and optimizer its config builds.

import * as tf from '@tensorflow/tfjs-core';
import { decodeFloat16 } from '../../data/float16';
import { preview } from '../../lib/preview';
import { paramShapes, slotShapes } from '../model/shapes';
import { readSafetensorsHeader, readTensor, writeSafetensors, type StEntry, type StTensor } from './safetensors';
import { CHECKPOINT_FORMAT, parseCheckpointMeta, type CheckpointMeta } from './schema';
import { emaTensorShapes } from '../train/averaging_settings';

export { CHECKPOINT_FORMAT, type CheckpointMeta };

/** Fills in the constant fields of the metadata. */
export function checkpointMeta(parts: Omit<CheckpointMeta, 'format' | 'createdAt' | 'blank'>): CheckpointMeta {
  return { format: CHECKPOINT_FORMAT, createdAt: new Date().toISOString(), blank: 0, ...parts };
}

/**
 * The checkpoint as of this call. Before its first await it serialises the metadata and clones
 * every tensor (tf.clone adds a reference to the same GPU buffer, no copy; the next optimizer
 * step assigns new buffers and leaves these alone), so training can go on while the values are
 * read back and the file is built: a mid-epoch checkpoint stalls training by that much only.
 */
export function encodeCheckpoint(vars: Map<string, tf.Tensor>, meta: CheckpointMeta): Promise<Uint8Array> {
  const json = JSON.stringify(meta);
  const held = [...vars].map(([name, v]) => [name, tf.clone(v)] as const);
  return (async () => {
    try {
      const values = await Promise.all(held.map(([, t]) => t.data())); // read-backs in flight together
      const tensors: Record<string, StTensor> = {};
      held.forEach(
        ([name, t], k) => (tensors[name] = { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape: t.shape, data: values[k] as Float32Array | Int32Array }),
      );
      return writeSafetensors(tensors, { ctc_lab: json, format: 'pt' });
    } finally {
      tf.dispose(held.map(([, t]) => t));
    }
  })();
}

export interface DecodedCheckpoint {
  meta: CheckpointMeta;
  tensors: Record<string, StTensor & { dtype: 'F32'; data: Float32Array }>; // exactly the model's and optimizer's tensors
}

export interface CheckpointHeader {
  meta: CheckpointMeta;
  entries: Record<string, StEntry>; // exactly the model's and optimizer's tensors, where their bytes are
}

/**
 * Parses and validates a checkpoint's header: everything decodeCheckpoint checks (and the same
 * refusals), without reading any tensor's values — for a listing that needs the metadata only.
 */
export function readCheckpointHeader(bytes: ArrayBuffer | Uint8Array, file = 'checkpoint'): CheckpointHeader {
  const { entries: tensors, metadata } = readSafetensorsHeader(bytes, file);
  if (metadata.ctc_lab === undefined) throw new Error(`${file}: no __metadata__.ctc_lab; not a CTC Lab checkpoint`);
  let raw: unknown;
  try {
    raw = JSON.parse(metadata.ctc_lab);
  } catch (e) {
    throw new Error(`${file}: __metadata__.ctc_lab is not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const format = (raw as { format?: unknown } | null)?.format;
  if (typeof raw === 'object' && raw !== null && !Array.isArray(raw) && format !== CHECKPOINT_FORMAT) {
    throw new Error(`${file}: checkpoint format ${format === undefined ? 'missing' : preview(format)}, expected '${CHECKPOINT_FORMAT}'`);
  }
  const meta = parseCheckpointMeta(raw, file);

  const params = paramShapes(meta.model);
  const optimizer = meta.training.config.mode === 'train' ? meta.training.config.optimizer : 'adam';
  const ema = meta.training.config.mode === 'train' && meta.training.config.emaDecay > 0; // train/ema.ts: the trained weights as "train.model.…"
  const expected = new Map([...params, ...(ema ? emaTensorShapes(params) : []), ...slotShapes(params, optimizer)]);
  const out: Record<string, StEntry> = {};
  for (const [name, shape] of expected) {
    const t = Object.hasOwn(tensors, name) ? tensors[name] : undefined;
    if (!t)
      throw new Error(
        `${file}: tensor ${name} is missing (a ${meta.model.preset} model with this config and the ${optimizer} optimizer${ema ? ' and EMA' : ''} has it)`,
      );
    if (t.shape.length !== shape.length || t.shape.some((n, i) => n !== shape[i])) {
      throw new Error(`${file}: tensor ${name} has shape [${t.shape}], the model its config builds needs [${shape}]`);
    }
    if (t.dtype === 'I32') throw new Error(`${file}: tensor ${name} is I32, expected floating point (F32, F16 or F64)`);
    out[name] = t;
  }
  for (const name of Object.keys(tensors)) {
    if (!expected.has(name))
      throw new Error(`${file}: tensor ${name} is not part of a ${meta.model.preset} model with this config and the ${optimizer} optimizer`);
  }
  return { meta, entries: out };
}

/**
 * Parses and validates a checkpoint. Refuses, naming `file` and the field or tensor: a file that is
 * not safetensors, metadata that fails the schema, a missing, extra or mis-shaped tensor, or a
 * tensor that is not floating point. F16 and F64 tensors are widened / rounded to F32.
 */
export function decodeCheckpoint(bytes: ArrayBuffer | Uint8Array, file = 'checkpoint'): DecodedCheckpoint {
  const { meta, entries } = readCheckpointHeader(bytes, file);
  const out: DecodedCheckpoint['tensors'] = {};
  for (const [name, entry] of Object.entries(entries)) {
    const t = readTensor(bytes, entry);
    const data = t.dtype === 'F32' ? (t.data as Float32Array) : t.dtype === 'F16' ? decodeFloat16(t.data as Uint16Array) : Float32Array.from(t.data);
    out[name] = { dtype: 'F32', shape: t.shape, data };
  }
  return { meta, tensors: out };
}
