// Distillation step cost on the active backend: the same student trained plainly, with a model
// teacher (a checkpoint: its eval forward runs in every step), and with a stored teacher (per-sample
// log-probs handed in per batch, as an imported output set is); plus the teacher's forward alone.
// Checked before timed: the KD op against the float64 reference at the benchmark's shape, and a
// student that is a copy of its teacher gets a KL of exactly 0 through the trainer.
// Driven by bench/run.mjs through kernels.html (window.ctcLab.benchDistill).

import * as tf from '@tensorflow/tfjs-core';
import { makeBatch } from '../src/data/batch';
import { kdLoss } from '../src/engine/distill/kd_loss';
import { kdLossReference } from '../src/engine/distill/kd_reference';
import { DISTILL_DEFAULTS } from '../src/engine/distill/settings';
import { modelTeacher, storedTeacher } from '../src/engine/distill/teacher';
import { createModel, modelConfig } from '../src/engine/model/registry';
import type { ArchKnobs } from '../src/engine/model/presets';
import { batchTensors, disposeBatchTensors } from '../src/engine/train/batch_tensors';
import { TRAIN_DEFAULTS, type TrainConfig } from '../src/engine/train/config';
import { Trainer, type TrainHooks } from '../src/engine/train/trainer';
import { syntheticDataset } from './train.bench';

export interface DistillBenchShape {
  name: string;
  B: number;
  T: number; // input frames per sample (±4)
  F: number;
  V: number; // vocabulary (classes V + 1)
  L: number; // tokens per transcript
  steps: number; // optimizer steps per run (the first 2 are warm-up; the rest timed, in each of DISTILL_ROUNDS rounds)
  student: ArchKnobs;
  teacher: ArchKnobs;
}

// PHOENIX-like shapes; the same ×4 tcn student with a BiLSTM teacher and with a transformer teacher.
const PHOENIX_LIKE = { name: 'PHOENIX-like', B: 8, T: 150, F: 512, V: 1296, L: 28, steps: 5 };
const TCN_X4_STUDENT: ArchKnobs = { preset: 'tcn', subsampling: 4, channels: 128, layers: 3, hidden: 0, heads: 0, dropout: 0.1 };

export const DEFAULT_DISTILL_SHAPES: DistillBenchShape[] = [
  { ...PHOENIX_LIKE, student: TCN_X4_STUDENT, teacher: { preset: 'tconv-bilstm', channels: 128, layers: 2, hidden: 128, heads: 0, dropout: 0 } },
  { ...PHOENIX_LIKE, student: TCN_X4_STUDENT, teacher: { preset: 'transformer', channels: 256, layers: 4, hidden: 0, heads: 4, dropout: 0 } },
];

export interface DistillBenchResult {
  shape: DistillBenchShape;
  backend: string;
  studentParams: number;
  teacherParams: number;
  plainMs: number; // median ms per step, student alone (CTC)
  modelTeacherMs: number; // ms per step, distillation with the teacher model run in the step
  storedTeacherMs: number; // ms per step, distillation with teacher log-probs given per batch
  teacherForwardMs: number; // the teacher's eval forward on one batch, read back
  kdOpRelErr: number; // KD op vs float64 reference at this shape, max abs difference / max value (checked < 2e-3)
  copiedStudentKd: number; // KL term of a student that is a copy of its teacher (checked = 0)
}

/** Each optimizer step's duration in ms, after 2 warm-up steps. */
async function stepTimes(trainer: Trainer, hooks: TrainHooks = {}): Promise<number[]> {
  const stamps: number[] = [];
  await trainer.run({ ...hooks, onStep: (st) => (hooks.onStep?.(st), void stamps.push(performance.now())) });
  return stamps.slice(2).map((t, i) => t - stamps[i + 1]);
}

const median = (xs: number[]) => {
  const a = [...xs].sort((x, y) => x - y);
  return a.length % 2 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
};

/** Rounds of the three runs, interleaved, so that a change in the machine's load falls on all three alike. */
export const DISTILL_ROUNDS = 2;

export async function benchDistill(s: DistillBenchShape): Promise<DistillBenchResult> {
  const { meta, samples } = syntheticDataset(s);
  const C = s.V + 1;
  const cfg: TrainConfig = { ...TRAIN_DEFAULTS, ...s.student, batchSize: s.B, accumulationSteps: 1, epochs: 1, warmupEpochs: 0, patience: 0 };
  const teacher = createModel(modelConfig(s.teacher, s.F, C), 7);
  const info = { kind: 'checkpoint' as const, id: 'bench', name: `${s.teacher.preset} teacher` };

  // Check 1: the KD op against the float64 reference on the teacher's outputs vs a student's, at this shape.
  const batch = makeBatch(samples.slice(0, s.B), meta);
  const t = batchTensors(teacher, batch);
  const studentModel = createModel(modelConfig(cfg, s.F, C), 3);
  const [tl, sl] = [teacher.apply(t, false), studentModel.apply(t, false)];
  const perT = kdLoss(sl, tl, t.mask, { ...DISTILL_DEFAULTS, reduction: 'none' });
  const [per, sData, tData] = await Promise.all([perT.data(), sl.data(), tl.data()]);
  const ref = kdLossReference({
    student: sData,
    teacher: tData,
    lengths: t.outFrames,
    B: s.B,
    T: t.maxOutFrames,
    C,
    temperature: DISTILL_DEFAULTS.temperature,
    excludeBlank: true,
  });
  // Relative to the largest per-sample value: near-uniform fresh models give small KLs, where float32 cancellation dominates a per-sample ratio.
  const kdOpRelErr = Math.max(...Array.from(per, (x, i) => Math.abs(x - ref.perSample[i]))) / Math.max(...Array.from(ref.perSample, Math.abs));
  // float32 log-probs of ≈ −log C carry ≈ 1e-6 absolute error; a fresh model's KL is small (≈ 1e-3 of that), hence 2e-3.
  if (!(kdOpRelErr < 2e-3)) throw new Error(`distill bench: KD op differs from the float64 reference by ${kdOpRelErr}`);
  tf.dispose([tl, sl, perT]);
  studentModel.dispose();

  // Teacher forward alone (eval, read back), median of 5 after a warm-up.
  const fwd: number[] = [];
  for (let r = 0; r < 6; r++) {
    const t0 = performance.now();
    const y = teacher.apply(t, false);
    await y.data();
    y.dispose();
    if (r > 0) fwd.push(performance.now() - t0);
  }
  const teacherForwardMs = fwd.sort((a, b) => a - b)[2];

  // Teacher log-probs per sample, for the stored-teacher run (what an output set holds).
  const rows = new Map<number, Float32Array>();
  for (let i = 0; i < samples.length; i += s.B) {
    const chunk = samples.slice(i, i + s.B);
    const bt = batchTensors(teacher, makeBatch(chunk, meta));
    const lp = tf.logSoftmax(teacher.apply(bt, false));
    const d = (await lp.data()) as Float32Array;
    chunk.forEach((x, k) => rows.set(x.index, d.slice(k * bt.maxOutFrames * C, (k * bt.maxOutFrames + bt.outFrames[k]) * C)));
    lp.dispose();
    disposeBatchTensors(bt);
  }
  disposeBatchTensors(t);

  // Check 2: a copy of the teacher as the student (same preset, weights copied, dropout 0) gets KL 0.
  const copyCfg: TrainConfig = { ...cfg, ...s.teacher, dropout: 0, epochs: 1 };
  const copy = new Trainer(meta, samples.slice(0, s.B), copyCfg, undefined, { teacher: modelTeacher(teacher, info, false), settings: DISTILL_DEFAULTS });
  copy.model.loadTensors(
    Object.fromEntries(await Promise.all([...teacher.params].map(async ([k, v]) => [k, { shape: v.shape, data: await v.data() }] as const))),
  );
  let copiedStudentKd = NaN;
  await copy.run({ onStep: (st) => void (copiedStudentKd = st.kd!) });
  copy.dispose();
  if (copiedStudentKd !== 0) throw new Error(`distill bench: a copied student's KL is ${copiedStudentKd}, expected 0`);

  // Median step time of each run over DISTILL_ROUNDS interleaved rounds (plain, teacher model, stored outputs).
  const times = { plain: [] as number[], model: [] as number[], stored: [] as number[] };
  let studentParams = 0;
  for (let round = 0; round < DISTILL_ROUNDS; round++) {
    const plain = new Trainer(meta, samples, cfg);
    studentParams = plain.model.paramCount();
    times.plain.push(...(await stepTimes(plain)));
    plain.dispose();
    const withModel = new Trainer(meta, samples, cfg, undefined, { teacher: modelTeacher(teacher, info, false), settings: DISTILL_DEFAULTS });
    times.model.push(...(await stepTimes(withModel)));
    withModel.dispose();
    const stored = storedTeacher(
      { kind: 'outputs', id: 'bench', name: 'stored log-probs' },
      C,
      (i) => rows.get(i)!.length / C,
      async (idx) => idx.map((i) => rows.get(i)!),
    );
    const withStored = new Trainer(meta, samples, cfg, undefined, { teacher: stored, settings: DISTILL_DEFAULTS });
    times.stored.push(...(await stepTimes(withStored)));
    withStored.dispose();
  }
  const [plainMs, modelTeacherMs, storedTeacherMs] = [median(times.plain), median(times.model), median(times.stored)];
  const teacherParams = teacher.paramCount();
  teacher.dispose();
  return {
    shape: s,
    backend: tf.getBackend(),
    studentParams,
    teacherParams,
    plainMs,
    modelTeacherMs,
    storedTeacherMs,
    teacherForwardMs,
    kdOpRelErr,
    copiedStudentKd,
  };
}
