// Distillation in the worker: the teachers a dataset offers (its stored checkpoints, and the
// imported model-output sets attached to it), each checked against the dataset; a chosen teacher
// as the trainer's TeacherSource (a checkpoint runs in eval mode on the student's batches; an
// output set's log-probs are read from IndexedDB batch by batch, in the lab's class order).

import type { DatasetMeta } from '../data/types';
import type { SampleSource } from '../data/source';
import * as store from '../data/store';
import * as outputStore from '../data/store_outputs';
import { checkpointTeacher, storedTeacher, type TeacherSource } from '../engine/distill/teacher';
import type { DistillSettings, TeacherInfo } from '../engine/distill/settings';
import type { TrainConfig } from '../engine/train/config';
import { Trainer } from '../engine/train/trainer';
import { paramShapes } from '../engine/model/shapes';
import { subsamplingOf } from '../engine/model/presets';
import type { DistillApi, TeacherChoice, TeacherRef } from './api';
import { checkpointForDataset, storedCheckpointFor } from './checkpoints';

/** A checkpoint of this dataset as a teacher (the one checkpoint-fits-dataset rule, then the normalisation). */
async function checkpointTeacherFor(dataset: DatasetMeta, checkpointId: string): Promise<TeacherSource> {
  const ck = await storedCheckpointFor(checkpointId, dataset);
  return checkpointTeacher(dataset, ck.meta, ck.tensors, { id: checkpointId, name: ck.record.fileName, valWer: bestValWer(ck.meta.history) });
}

/** A training checkpoint's best validation WER (an overfit test's rows measure its training samples only: none). */
function bestValWer(history: Record<string, number | null>[]): number | null {
  const w = history.map((h) => h.valWer).filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return w.length ? Math.min(...w) : null;
}

/**
 * An output set attached to this dataset as a teacher: every vocabulary token must be one of its
 * classes (columns are reordered to blank 0, then the vocabulary), it may have no class the
 * vocabulary lacks, and none of the dataset's samples may hold NaN/Inf outputs.
 */
async function outputsTeacherFor(dataset: DatasetMeta, setId: string): Promise<TeacherSource> {
  const set = await outputStore.getOutputSet(setId);
  const name = `output set '${set.name}'`;
  if (set.datasetId !== dataset.id)
    throw new Error(
      `${name} is not attached to dataset '${dataset.name}' (import it with the dataset selected, so its ids are matched to the dataset's samples)`,
    );
  const cols = [set.blank, ...dataset.vocab.map((t) => set.classes.indexOf(t))];
  const missing = dataset.vocab.filter((_, i) => cols[i + 1] < 0);
  if (missing.length)
    throw new Error(`${name} has no class for ${missing.length} of the dataset's tokens: ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}`);
  const extra = set.classes.filter((c, i) => i !== set.blank && !dataset.vocab.includes(c));
  if (extra.length)
    throw new Error(
      `${name} has ${extra.length} classes that are not in the dataset's vocabulary (${extra.slice(0, 8).join(', ')}${extra.length > 8 ? ', …' : ''}): its distribution cannot be compared with the student's`,
    );
  if (set.nonFinite.length)
    throw new Error(
      `${name}: ${set.nonFinite.length} samples hold NaN/Inf outputs (first: ${set.nonFinite[0].id}, ${set.nonFinite[0].first}); a teacher's outputs must be finite`,
    );
  const C = set.classes.length;
  const V = dataset.vocab.length + 1;
  const byId = new Map((await outputStore.outputSampleInfos(setId)).map((s) => [s.id, s]));
  const ids = new Map((await store.sampleInfos(dataset.id)).map((s) => [s.index, s.id]));
  const outOf = (index: number) => byId.get(ids.get(index) ?? '');
  const info: TeacherInfo = { kind: 'outputs', id: setId, name: set.name, ...(set.subsampling ? { subsampling: set.subsampling } : {}) };
  return storedTeacher(
    info,
    V,
    (i) => outOf(i)?.outFrames,
    async (indices) => {
      const recs = await outputStore.getOutputSamples(
        setId,
        indices.map((i) => outOf(i)!.index),
      );
      return recs.map((r) => {
        const src = new Float32Array(r.logProbs);
        const out = new Float32Array(r.outFrames * V);
        for (let t = 0; t < r.outFrames; t++) for (let c = 0; c < V; c++) out[t * V + c] = src[t * C + cols[c]];
        return out;
      });
    },
  );
}

/** The teacher a run asked for (or recorded in its checkpoint), built for this dataset. */
export function teacherFor(dataset: DatasetMeta, ref: TeacherRef): Promise<TeacherSource> {
  return ref.kind === 'checkpoint' ? checkpointTeacherFor(dataset, ref.id) : outputsTeacherFor(dataset, ref.id);
}

export const distill: DistillApi = {
  async listTeachers(datasetId) {
    const dataset = await store.getDataset(datasetId);
    const out: TeacherChoice[] = [];
    for (const c of await store.listCheckpoints(datasetId)) {
      const label = `${c.kind === 'overfit' ? 'overfit test' : `${c.kind} of ${c.runId ?? 'a run'}`} · ${c.fileName}`;
      try {
        const record = await store.getCheckpoint(c.id);
        const ck = checkpointForDataset(record.bytes, record.fileName, dataset, 'header'); // the one rule, no tensor decoded
        const params = [...paramShapes(ck.model).values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
        out.push({
          kind: 'checkpoint',
          id: c.id,
          label,
          preset: ck.model.preset,
          subsampling: subsamplingOf(ck.model),
          params,
          valWer: bestValWer(ck.meta.history),
          problem: null,
        });
      } catch (e) {
        out.push({
          kind: 'checkpoint',
          id: c.id,
          label,
          preset: null,
          subsampling: null,
          params: null,
          valWer: null,
          problem: e instanceof Error ? e.message : String(e),
        });
      }
    }
    for (const s of await outputStore.listOutputSets()) {
      if (s.datasetId !== datasetId) continue;
      const label = `model outputs · ${s.name}${s.model ? ` (${s.model})` : ''}`;
      const cols = dataset.vocab.filter((t) => !s.classes.includes(t));
      const problem = cols.length
        ? `no class for ${cols.length} of the dataset's tokens (${cols.slice(0, 4).join(', ')})`
        : s.nonFinite.length
          ? `${s.nonFinite.length} samples hold NaN/Inf outputs`
          : null;
      out.push({ kind: 'outputs', id: s.id, label, preset: null, subsampling: s.subsampling, params: null, valWer: null, problem });
    }
    return out;
  },
};

/**
 * A Trainer for a run, with its teacher when it has one (a new run's request, or the record a
 * run or its checkpoint keeps). The trainer owns the teacher; if it refuses to start (frames
 * differ, settings unusable), the teacher is disposed again and the refusal passed on.
 */
export async function studentTrainer(
  dataset: DatasetMeta,
  source: SampleSource,
  config: TrainConfig,
  resume: ConstructorParameters<typeof Trainer>[3],
  distillation: ({ teacher: TeacherRef & { name?: string }; settings?: DistillSettings } & Partial<DistillSettings>) | null | undefined,
): Promise<Trainer> {
  if (!distillation) return new Trainer(dataset, source, config, resume);
  const t = distillation.teacher;
  const s = distillation.settings ?? distillation;
  const settings: DistillSettings = {
    kdWeight: s.kdWeight ?? NaN,
    ctcWeight: s.ctcWeight ?? NaN,
    temperature: s.temperature ?? NaN,
    excludeBlank: s.excludeBlank ?? true,
  };
  let teacher: TeacherSource;
  try {
    teacher = await teacherFor(dataset, t);
  } catch (e) {
    throw new Error(
      `the teacher (${t.kind === 'checkpoint' ? 'checkpoint' : 'model outputs'} ${t.name ?? t.id}) cannot be used: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  try {
    return new Trainer(dataset, source, config, resume, { teacher, settings });
  } catch (e) {
    teacher.dispose();
    throw e;
  }
}
