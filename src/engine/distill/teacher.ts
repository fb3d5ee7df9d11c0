// Where a distillation run's teacher outputs come from, per batch:
//   modelTeacher    a model (a stored checkpoint) run in eval mode on the student's batch, no gradient
//   storedTeacher   per-sample log-probs read from storage (an imported model-output set), padded
// The trainer asks for a batch's teacher data one step ahead (with the features), then for the
// [B, T', C] tensor inside the step. Teacher frames must equal the student's output frames per
// sample: teacherProblems() says which samples differ and by how much before a run starts.

import * as tf from '@tensorflow/tfjs-core';
import type { SampleInfo } from '../../data/source';
import type { DatasetMeta, TeacherRecord } from '../../data/types';
import type { StTensor } from '../checkpoint/safetensors';
import type { CheckpointMeta } from '../checkpoint/checkpoint';
import type { SequenceModel } from '../model/model';
import { createModel, parseModelConfig, type ModelConfig } from '../model/registry';
import type { BatchTensors } from '../train/batch_tensors';

export interface TeacherSource<P = unknown> {
  readonly info: TeacherRecord<ModelConfig>;
  /** Output classes (blank at 0, then the dataset's vocabulary). */
  readonly numClasses: number;
  /** The teacher as a model, when it is one (timing, parameter count). */
  readonly model?: SequenceModel;
  /** Output frames the teacher gives this sample; undefined when it has no outputs for it. */
  outFrames(s: SampleInfo): number | undefined;
  /** Reads what a batch needs (storage), one step ahead; samples by dataset index, in batch order. */
  fetch(indices: number[]): Promise<P>;
  /** Teacher logits or log-probs [B, t.maxOutFrames, C] for the batch (padded frames: any finite value). */
  logits(t: BatchTensors, fetched: P): tf.Tensor3D;
  dispose(): void;
}

/** A model (eval mode, no dropout) as the teacher; it is run on the student's own batch. */
export function modelTeacher(model: SequenceModel, info: TeacherRecord<ModelConfig>, ownsModel = true): TeacherSource<null> {
  return {
    info,
    numClasses: model.config.numClasses,
    model,
    outFrames: (s) => model.outFrames(s.frames),
    fetch: async () => null,
    // Called outside tf.variableGrads' tape and on no variable of the student: nothing flows back.
    logits: (t) => model.apply(t, false),
    dispose: () => {
      if (ownsModel) model.dispose();
    },
  };
}

/**
 * A stored checkpoint of this dataset as the teacher: same vocabulary and feature dim, same
 * normalisation (the student's batch is normalised with the dataset's statistics).
 */
export function checkpointTeacher(
  dataset: DatasetMeta,
  ck: CheckpointMeta,
  tensors: Record<string, StTensor>,
  info: Omit<TeacherRecord<ModelConfig>, 'kind' | 'model' | 'subsampling' | 'params'>,
  file = info.name,
): TeacherSource<null> {
  const cfg = parseModelConfig(ck.model, file);
  if (ck.vocab.length !== dataset.vocab.length || ck.vocab.some((t, i) => t !== dataset.vocab[i])) {
    const i = ck.vocab.findIndex((t, j) => t !== dataset.vocab[j]);
    throw new Error(
      `${file}: the teacher's vocabulary differs from dataset '${dataset.name}' (${ck.vocab.length} vs ${dataset.vocab.length} tokens${i >= 0 ? `; first difference at class ${i + 1}: '${ck.vocab[i]}' vs '${dataset.vocab[i] ?? '(none)'}'` : ''})`,
    );
  }
  if (cfg.featureDim !== dataset.featureDim)
    throw new Error(`${file}: the teacher reads ${cfg.featureDim} feature dims, dataset '${dataset.name}' has ${dataset.featureDim}`);
  const norm = ck.normalisation;
  for (const key of ['mean', 'std'] as const) {
    const d = norm?.[key]?.findIndex((v, i) => Math.abs(v - dataset.norm[key][i]) > 1e-6 * Math.max(1, Math.abs(v)));
    if (!norm?.[key] || norm[key].length !== dataset.norm[key].length || (d !== undefined && d >= 0)) {
      throw new Error(
        `${file}: the teacher was trained with another feature normalisation than dataset '${dataset.name}' (${key}${d !== undefined && d >= 0 ? ` of dim ${d}: ${norm[key][d]} vs ${dataset.norm[key][d]}` : ' missing or of another length'}); use a checkpoint of this dataset`,
      );
    }
  }
  const model = createModel({ ...cfg, dropout: 0 }, 1);
  try {
    model.loadTensors(tensors, file);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return modelTeacher(model, { ...info, kind: 'checkpoint', model: { ...cfg }, subsampling: model.subsampling, params: model.paramCount() });
}

/**
 * Per-sample teacher outputs from storage. `frames(index)`: the stored T' of a dataset sample
 * (undefined: not in the set); `read(indices)`: their rows [T' · C] float32 (log-probs or logits,
 * in the lab's class order: blank 0, then the vocabulary), in the order asked.
 */
export function storedTeacher(
  info: TeacherRecord<ModelConfig>,
  numClasses: number,
  frames: (index: number) => number | undefined,
  read: (indices: number[]) => Promise<Float32Array[]>,
): TeacherSource<{ rows: Float32Array[]; indices: number[] }> {
  const C = numClasses;
  return {
    info,
    numClasses,
    outFrames: (s) => frames(s.index),
    fetch: async (indices) => {
      const rows = await read(indices);
      rows.forEach((r, k) => {
        const n = frames(indices[k]);
        if (n === undefined || r.length !== n * C) {
          throw new Error(`${info.name}: outputs of sample #${indices[k]} hold ${r.length} values, expected ${n ?? '?'} frames × ${C} classes`);
        }
      });
      return { rows, indices };
    },
    logits: (t, { rows }) => {
      // Padded to the batch's T' with zeros (a uniform row; masked out of the KL anyway).
      const out = new Float32Array(rows.length * t.maxOutFrames * C);
      rows.forEach((r, b) => out.set(r.subarray(0, Math.min(r.length, t.maxOutFrames * C)), b * t.maxOutFrames * C));
      return tf.tensor3d(out, [rows.length, t.maxOutFrames, C]);
    },
    dispose: () => {},
  };
}

/**
 * Why this teacher cannot teach this student on these samples (empty when it can): class count,
 * samples it has no outputs for, and samples whose frames differ from the student's output frames.
 */
export function teacherProblems(
  teacher: TeacherSource,
  student: { outFrames(frames: number): number; config: { numClasses: number } },
  samples: SampleInfo[],
  show = 8,
): string[] {
  const out: string[] = [];
  if (teacher.numClasses !== student.config.numClasses) {
    out.push(`the teacher '${teacher.info.name}' has ${teacher.numClasses} output classes, the student ${student.config.numClasses} (blank + vocabulary)`);
  }
  const missing: string[] = [];
  const differ: string[] = [];
  let differCount = 0;
  for (const s of samples) {
    const t = teacher.outFrames(s);
    const mine = student.outFrames(s.frames);
    if (t === undefined) missing.push(s.id);
    else if (t !== mine) {
      differCount++;
      if (differ.length < show) differ.push(`${s.id} (teacher ${t}, student ${mine}: ${t > mine ? `${t - mine} more` : `${mine - t} fewer`})`);
    }
  }
  const more = (n: number) => (n > show ? `, and ${n - show} more` : '');
  if (missing.length)
    out.push(
      `the teacher '${teacher.info.name}' has no outputs for ${missing.length} of ${samples.length} samples: ${missing.slice(0, show).join(', ')}${more(missing.length)}`,
    );
  if (differCount) {
    out.push(
      `teacher frames differ from the student's output frames for ${differCount} of ${samples.length} samples: ${differ.join(', ')}${more(differCount)} — choose a student with the teacher's time subsampling (×${teacher.info.subsampling ?? '?'})`,
    );
  }
  return out;
}
