// The teachers a dataset offers and how a chosen one becomes the trainer's TeacherSource: its
// stored checkpoints (the one checkpoint-fits-dataset rule, then the normalisation; run in eval
// mode on the student's batches) and the imported model-output sets attached to it (the rule for
// whether an output set can teach, and its columns in the lab's class order: blank 0, then the
// vocabulary; read from storage batch by batch). Storage comes in as `reads` (data/reads.ts).

import type { StoredReads } from '../../data/reads';
import type { DatasetMeta, OutputSetMeta } from '../../data/types';
import { bestValWer, checkpointForDataset, storedCheckpointFor } from '../checkpoint/fit';
import { subsamplingOf } from '../model/presets';
import type { ModelConfig } from '../model/registry';
import { paramShapes } from '../model/shapes';
import type { TeacherChoice, TeacherRecord, TeacherRef } from './settings';
import { checkpointTeacher, storedTeacher, type TeacherSource } from './teacher';

/** How an output set's classes meet a dataset's vocabulary: the facts both the listing and the refusals use. */
interface OutputSetFit {
  columns: number[]; // the set's column of each lab class (blank 0, then the vocabulary); -1: none
  missing: string[]; // vocabulary tokens the set has no class for
  extra: string[]; // the set's classes (not its blank) the vocabulary lacks
}

/** The parts of an output set's record the rules read. */
type OutputSetClasses = Pick<OutputSetMeta, 'name' | 'datasetId' | 'classes' | 'blank' | 'nonFinite'>;

function outputSetFit(set: OutputSetClasses, dataset: DatasetMeta): OutputSetFit {
  const columns = [set.blank, ...dataset.vocab.map((t) => set.classes.indexOf(t))];
  return {
    columns,
    missing: dataset.vocab.filter((_, i) => columns[i + 1] < 0),
    extra: set.classes.filter((c, i) => i !== set.blank && !dataset.vocab.includes(c)),
  };
}

const firsts = (xs: string[], n: number) => `${xs.slice(0, n).join(', ')}${xs.length > n ? ', …' : ''}`;

/**
 * The columns of an output set attached to this dataset, in the lab's class order. Refuses a set
 * of another dataset, one without a class for every vocabulary token, one with classes the
 * vocabulary lacks, and one whose samples hold NaN/Inf outputs.
 */
export function outputSetColumns(set: OutputSetClasses, dataset: DatasetMeta): number[] {
  const name = `output set '${set.name}'`;
  if (set.datasetId !== dataset.id)
    throw new Error(
      `${name} is not attached to dataset '${dataset.name}' (import it with the dataset selected, so its ids are matched to the dataset's samples)`,
    );
  const { columns, missing, extra } = outputSetFit(set, dataset);
  if (missing.length) throw new Error(`${name} has no class for ${missing.length} of the dataset's tokens: ${firsts(missing, 8)}`);
  if (extra.length)
    throw new Error(
      `${name} has ${extra.length} classes that are not in the dataset's vocabulary (${firsts(extra, 8)}): its distribution cannot be compared with the student's`,
    );
  if (set.nonFinite.length)
    throw new Error(
      `${name}: ${set.nonFinite.length} samples hold NaN/Inf outputs (first: ${set.nonFinite[0].id}, ${set.nonFinite[0].first}); a teacher's outputs must be finite`,
    );
  return columns;
}

/** Rows [outFrames, C] in the set's class order → [outFrames, columns.length] in the lab's (columns[c]: the set's column of lab class c). */
export function reorderColumns(src: Float32Array, outFrames: number, C: number, columns: number[]): Float32Array {
  const V = columns.length;
  const out = new Float32Array(outFrames * V);
  for (let t = 0; t < outFrames; t++) for (let c = 0; c < V; c++) out[t * V + c] = src[t * C + columns[c]];
  return out;
}

/** An output set attached to this dataset as a teacher (outputSetColumns' refusals first). */
async function outputsTeacher(dataset: DatasetMeta, setId: string, reads: StoredReads): Promise<TeacherSource> {
  const set = await reads.outputSet(setId);
  const columns = outputSetColumns(set, dataset);
  const C = set.classes.length;
  const V = dataset.vocab.length + 1;
  const byId = new Map((await reads.outputSampleInfos(setId)).map((s) => [s.id, s]));
  const ids = new Map((await reads.sampleInfos(dataset.id)).map((s) => [s.index, s.id]));
  const outOf = (index: number) => byId.get(ids.get(index) ?? '');
  const info: TeacherRecord<ModelConfig> = { kind: 'outputs', id: setId, name: set.name, ...(set.subsampling ? { subsampling: set.subsampling } : {}) };
  return storedTeacher(
    info,
    V,
    (i) => outOf(i)?.outFrames,
    async (indices) => {
      const recs = await reads.outputSamples(
        setId,
        indices.map((i) => outOf(i)!.index),
      );
      return recs.map((r) => reorderColumns(new Float32Array(r.logProbs), r.outFrames, C, columns));
    },
  );
}

/** A checkpoint of this dataset as a teacher (the one checkpoint-fits-dataset rule, then the normalisation). */
async function checkpointTeacherFor(dataset: DatasetMeta, checkpointId: string, reads: StoredReads): Promise<TeacherSource> {
  const ck = storedCheckpointFor(await reads.checkpoint(checkpointId), dataset);
  return checkpointTeacher(dataset, ck.meta, ck.tensors, { id: checkpointId, name: ck.record.fileName, valWer: bestValWer(ck.meta.history) });
}

/** The teacher a run asked for (or recorded in its checkpoint), built for this dataset. */
export function teacherFor(dataset: DatasetMeta, ref: TeacherRef, reads: StoredReads): Promise<TeacherSource> {
  return ref.kind === 'checkpoint' ? checkpointTeacherFor(dataset, ref.id, reads) : outputsTeacher(dataset, ref.id, reads);
}

/**
 * The dataset's stored checkpoints and the model-output sets attached to it, each with what it is
 * or why it cannot teach. Checkpoints are checked from their headers alone (no tensor is read).
 */
export async function teacherChoices(dataset: DatasetMeta, reads: StoredReads): Promise<TeacherChoice[]> {
  const out: TeacherChoice[] = [];
  for (const c of await reads.listCheckpoints(dataset.id)) {
    const label = `${c.kind === 'overfit' ? 'overfit test' : `${c.kind} of ${c.runId ?? 'a run'}`} · ${c.fileName}`;
    try {
      const record = await reads.checkpoint(c.id);
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
  for (const s of await reads.listOutputSets()) {
    if (s.datasetId !== dataset.id) continue;
    const label = `model outputs · ${s.name}${s.model ? ` (${s.model})` : ''}`;
    const { missing } = outputSetFit(s, dataset);
    const problem = missing.length
      ? `no class for ${missing.length} of the dataset's tokens (${missing.slice(0, 4).join(', ')})`
      : s.nonFinite.length
        ? `${s.nonFinite.length} samples hold NaN/Inf outputs`
        : null;
    out.push({ kind: 'outputs', id: s.id, label, preset: null, subsampling: s.subsampling, params: null, valWer: null, problem });
  }
  return out;
}
