// The PyTorch twin against the lab, driven from here: this file writes fixtures with the lab's own
// engine (TF.js cpu backend: checkpoints, logits for fixed inputs of unequal lengths, a dataset
// imported by the lab's importer, training runs, an overfit checkpoint and its log-probs), runs
// pytest on python/tests with them (the comparisons are there), then checks in the lab what Python
// wrote: round-tripped checkpoints, Python-trained and torchrun-trained checkpoints (they decode,
// load, resume and train on), and the model outputs zip (the lab's outputs importer reads it).
// Distillation: the lab's kdLoss on fixed inputs, and two distillation runs (a checkpoint teacher,
// and the same teacher's outputs exported by the lab's writer in another class order) whose
// Python continuations come back here with their teacher recorded and train on in the lab.
// Nothing binary is committed: every fixture is made here, in a temporary folder.
//
// Without Debian's python3-torch / numpy / pytest at /usr/bin/python3 (or CTC_LAB_PYTHON) the
// tests are skipped, except under CI=true where that is a failure.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync, zipSync } from 'fflate';
import { Rng } from '../src/lib/rng';
import { writeNpy, parseNpy } from '../src/data/npy';
import { prepareImport, type InputFile } from '../src/data/import';
import { bucketedBatches } from '../src/data/loader';
import { makeBatch } from '../src/data/batch';
import type { DatasetMeta, SampleRecord } from '../src/data/types';
import { prepareOutputsImport } from '../src/data/outputs_import';
import { memorySource } from '../src/data/source';
import { modelLogProbs } from '../src/engine/export/model_outputs';
import { createModel, modelConfig, type ModelConfig } from '../src/engine/model/registry';
import { PRESET_NAMES, type Preset } from '../src/engine/model/presets';
import type { ModelInput, SequenceModel } from '../src/engine/model/model';
import { checkpointMeta, decodeCheckpoint, encodeCheckpoint } from '../src/engine/checkpoint/checkpoint';
import { Adam } from '../src/engine/optim/adam';
import { TRAIN_DEFAULTS, type TrainConfig } from '../src/engine/train/config';
import { resumeStateFrom, Trainer } from '../src/engine/train/trainer';
import { runOverfitTest } from '../src/engine/train/overfit';
import { batchTensors, disposeBatchTensors } from '../src/engine/train/batch_tensors';
import { greedyDecode, idsToTokens } from '../src/engine/decode/greedy';
import { knobsOf } from '../src/engine/model/presets';
import { checkpointForDataset } from '../src/engine/checkpoint/fit';
import { outputSetColumns, reorderColumns } from '../src/engine/distill/teachers';
import { kdLoss } from '../src/engine/distill/kd_loss';
import type { Distillation, DistillSettings } from '../src/engine/distill/settings';
import { checkpointTeacher, storedTeacher, type TeacherSource } from '../src/engine/distill/teacher';
import { OutputsZipWriter } from '../src/data/outputs_write';

const HERE = dirname(fileURLToPath(import.meta.url)); // python/
const PY = process.env.CTC_LAB_PYTHON ?? '/usr/bin/python3';
const CI = process.env.CI === 'true';
const probe = spawnSync(PY, ['-c', 'import torch, numpy, pytest'], { encoding: 'utf8' });
const HAVE_TORCH = probe.status === 0;

const F = 6; // feature dim of every fixture
const TINY: Record<Preset, { channels: number; layers: number; hidden: number; heads: number }> = {
  tcn: { channels: 8, layers: 2, hidden: 8, heads: 2 },
  'tconv-bilstm': { channels: 8, layers: 2, hidden: 6, heads: 2 },
  transformer: { channels: 16, layers: 2, hidden: 8, heads: 2 },
};
const WORDS = ['HELLO', 'YES', 'NO', 'WATER', 'FRIEND'];

// ---------------------------------------------------------------- small helpers

const npy = (data: Float32Array | Float64Array, shape: number[]) => writeNpy(data, shape);
const put = (path: string, bytes: Uint8Array | string) => {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, bytes);
};
const json = (path: string, x: unknown) => put(path, JSON.stringify(x, null, 1));
/** A file's bytes as a plain Uint8Array: a Node Buffer's slice() is a view into a shared pool. */
const readBytes = (path: string) => new Uint8Array(readFileSync(path));

/** A padded batch of per-sample features [frames·F] at T = the longest, as the trainer builds it. */
function batchOf(model: SequenceModel, xs: Float32Array[]): ModelInput & { T: number } {
  const frames = xs.map((x) => x.length / F);
  const T = Math.max(...frames);
  const data = new Float32Array(xs.length * T * F);
  xs.forEach((x, b) => data.set(x, b * T * F));
  const Tout = model.outFrames(T);
  const mask = new Float32Array(xs.length * Tout);
  frames.forEach((n, b) => mask.fill(1, b * Tout, b * Tout + model.outFrames(n)));
  return { x: tf.tensor3d(data, [xs.length, T, F]), frames, mask: tf.tensor3d(mask, [xs.length, Tout, 1]), T };
}

/** N(0, 0.3²) weights, biases included: zero biases at init would hide masking bugs. */
function randomize(model: SequenceModel, seed: number): void {
  const rng = new Rng(seed);
  for (const v of model.params.values()) tf.tidy(() => v.assign(tf.tensor(Float32Array.from({ length: v.size }, () => 0.3 * rng.normal()), v.shape)));
}

function trainMeta(model: SequenceModel, vocab: string[], config: Record<string, unknown>) {
  return checkpointMeta({
    model: { ...model.config } as ModelConfig,
    subsampling: model.subsampling,
    vocab,
    normalisation: { mean: new Array(F).fill(0), std: new Array(F).fill(1) },
    training: { config: { mode: 'train', ...TRAIN_DEFAULTS, ...config } as TrainConfig & { mode: 'train' }, state: { epoch: 0, step: 0, seed: 1 } },
    history: [],
    dataset: { id: 'fixture', name: 'fixture' },
  });
}

// ---------------------------------------------------------------- fixtures

/** Per preset (and tcn ×4): a checkpoint with random weights, inputs of unequal lengths, the lab's logits. */
async function writeModelFixtures(dir: string): Promise<void> {
  const cases: { name: string; preset: Preset; subsampling?: 2 | 4 }[] = [...PRESET_NAMES.map((p) => ({ name: p, preset: p })), { name: 'tcn-x4', preset: 'tcn', subsampling: 4 }];
  const lengths = [13, 7, 1, 10, 4];
  const rng = new Rng(5);
  const xs = lengths.map((n) => Float32Array.from({ length: n * F }, () => rng.normal()));
  for (const c of cases) {
    const cfg = modelConfig({ preset: c.preset, ...TINY[c.preset], dropout: 0, ...(c.subsampling ? { subsampling: c.subsampling } : {}) }, F, WORDS.length + 1);
    const model = createModel(cfg, 3);
    const adam = new Adam(model.params);
    randomize(model, 11);
    const b = batchOf(model, xs);
    const y = model.apply(b, false);
    const out = join(dir, 'models', c.name);
    put(join(out, 'checkpoint.safetensors'), await encodeCheckpoint(new Map([...model.params, ...adam.slots]), trainMeta(model, WORDS, { preset: c.preset, ...TINY[c.preset], dropout: 0 })));
    put(join(out, 'x.npy'), npy((await b.x.data()) as Float32Array, b.x.shape));
    put(join(out, 'logits.npy'), npy((await y.data()) as Float32Array, y.shape));
    json(join(out, 'lengths.json'), lengths);
    tf.dispose([y, b.x, b.mask]);
    adam.dispose();
    model.dispose();
  }
}

/**
 * A dataset on disk in the lab's format, exercising the importer's rules: rows with and without a
 * split (seeded 90/10), per-sample .npy (float32, float64, a [T, 2, 3] array) and an .npz, one
 * sample with a NaN (left out). Then the lab's importer reads it: the facts Python must reproduce.
 */
async function writeDataset(dir: string): Promise<{ meta: DatasetMeta; samples: SampleRecord[] }> {
  const rng = new Rng(21);
  const tpl = WORDS.map(() => Array.from({ length: 3 + rng.int(0, 2) }, () => Float32Array.from({ length: F }, () => rng.normal())));
  const root = join(dir, 'dataset');
  const rows: Record<string, unknown>[] = [];
  const npz: Record<string, Uint8Array> = {};
  const files: InputFile[] = [];
  for (let i = 0; i < 44; i++) {
    const seq = Array.from({ length: 1 + rng.int(0, 2) }, () => rng.int(0, WORDS.length - 1));
    const frames: number[][] = [];
    for (const w of seq) {
      for (const fr of tpl[w]) frames.push(Array.from(fr, (v) => v + 0.2 * rng.normal()));
      for (let k = rng.int(1, 2); k > 0; k--) frames.push(Array.from({ length: F }, () => 0.2 * rng.normal()));
    }
    const T = frames.length;
    const flat = Float32Array.from(frames.flat());
    if (i === 7) flat[5] = NaN;
    const id = `utt${String(i).padStart(3, '0')}`;
    const row: Record<string, unknown> = { id, text: seq.map((w) => WORDS[w]).join(' ') };
    if (i < 4) row.split = 'val';
    if (i === 4) row.split = 'test';
    if (i % 3 === 0) npz[`${id}.npy`] = npy(flat, [T, F]);
    else {
      const path = `feats/${id}.npy`;
      const bytes = i % 5 === 1 ? npy(Float64Array.from(flat), [T, F]) : i % 5 === 2 ? npy(flat, [T, 2, 3]) : npy(flat, [T, F]);
      put(join(root, path), bytes);
      files.push({ path, blob: new Blob([bytes as BlobPart]) });
      row.features = path;
    }
    rows.push(row);
  }
  const npzBytes = zipSync(npz, { level: 6 });
  put(join(root, 'part1.npz'), npzBytes);
  const manifest = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
  put(join(root, 'manifest.jsonl'), manifest);
  files.push({ path: 'part1.npz', blob: new Blob([npzBytes as BlobPart]) }, { path: 'manifest.jsonl', blob: new Blob([manifest]) });
  const { dataset, report } = await prepareImport(files, 'fixture');
  const meta: DatasetMeta = { ...dataset.meta, id: 'fixture', createdAt: 0 };
  const samples: SampleRecord[] = dataset.samples.map((s, index) => ({ ...s, datasetId: 'fixture', index }));
  const frames = samples.map((s) => s.frames);
  json(join(dir, 'dataset_facts.json'), {
    samples: samples.map((s) => ({ id: s.id, split: s.split, frames: s.frames })),
    vocab: meta.vocab,
    norm: meta.norm,
    leftOut: report.nonFinite.map((n) => n.id),
    bucketed: { frames, batchSize: 4, seed: 7 * 100003 + 3, batches: bucketedBatches(frames, 4, 7 * 100003 + 3) },
  });
  return { meta, samples };
}

/** Training runs in the lab: checkpoint before, after epoch 1 (one optimizer step), after a resumed epoch 2. */
const TRAIN_CASES: { name: string; preset: Preset; config: Partial<TrainConfig> }[] = [
  { name: 'tcn-adam', preset: 'tcn', config: { optimizer: 'adam' } },
  { name: 'tcn4-adamw', preset: 'tcn', config: { optimizer: 'adamw', weightDecay: 0.05, subsampling: 4 } },
  { name: 'tcn-sgd', preset: 'tcn', config: { optimizer: 'sgd', momentum: 0.9, weightDecay: 0.001, lr: 0.05 } },
  { name: 'tconv-bilstm-adam', preset: 'tconv-bilstm', config: { optimizer: 'adam' } },
  { name: 'transformer-adam', preset: 'transformer', config: { optimizer: 'adam' } },
  { name: 'tcn-ema', preset: 'tcn', config: { optimizer: 'adam', emaDecay: 0.9 } }, // EMA (train/ema.ts): model.… the average, train.model.… the trained weights
];

function trainConfig(c: (typeof TRAIN_CASES)[number]): TrainConfig {
  // 8 training samples in 2 micro-batches of 4 (unequal lengths) = one optimizer step per epoch;
  // no warmup (the step moves the weights by ~lr), clipping at 0.25 (active at these gradient norms).
  return { ...TRAIN_DEFAULTS, preset: c.preset, ...TINY[c.preset], dropout: 0, batchSize: 4, accumulationSteps: 2, epochs: 1, lr: 1e-3, warmupEpochs: 0, clipNorm: 0.25, maxTrainSamples: 8, seed: 7, ...c.config };
}

/**
 * One run's checkpoints: before training (epoch0), after one epoch (epoch1), and resumed from it
 * with 2 planned epochs (epoch2: the schedule and the moments carry on). `distill`: a fresh teacher
 * for each trainer (each owns and disposes its own).
 */
async function writeRunFixture(out: string, meta: DatasetMeta, samples: SampleRecord[], cfg: TrainConfig, distill?: () => Distillation): Promise<void> {
  const t1 = new Trainer(meta, samples, cfg, undefined, distill?.());
  put(join(out, 'epoch0.safetensors'), await t1.checkpoint('fixture'));
  await t1.run();
  const ck1 = await t1.checkpoint('fixture');
  put(join(out, 'epoch1.safetensors'), ck1);
  t1.dispose();
  const { meta: m1, tensors } = decodeCheckpoint(ck1, 'epoch1');
  const t2 = new Trainer(meta, samples, { ...cfg, epochs: 2 }, { state: resumeStateFrom(m1), tensors }, distill?.());
  await t2.run();
  put(join(out, 'epoch2.safetensors'), await t2.checkpoint('fixture'));
  t2.dispose();
}

async function writeTrainFixtures(dir: string, meta: DatasetMeta, samples: SampleRecord[]): Promise<void> {
  for (const c of TRAIN_CASES) {
    const out = join(dir, 'train', c.name);
    const cfg = trainConfig(c);
    await writeRunFixture(out, meta, samples, cfg);
  }
}

/** A checkpoint taken mid-epoch (after step 1 of 2: training.state.position) and the epoch's end. */
async function writeMidEpochFixture(dir: string, meta: DatasetMeta, samples: SampleRecord[]): Promise<void> {
  const t = new Trainer(meta, samples, { ...trainConfig(TRAIN_CASES[0]), maxTrainSamples: 16 });
  let steps = 0;
  await t.run({
    afterStep: async () => {
      if (++steps === 1) put(join(dir, 'train', 'mid-epoch', 'step1.safetensors'), await t.checkpoint('fixture'));
    },
  });
  expect(steps).toBe(2);
  put(join(dir, 'train', 'mid-epoch', 'epoch1.safetensors'), await t.checkpoint('fixture'));
  t.dispose();
}

/** An overfit-test checkpoint (as the worker writes it) and the lab's log-probs of the val samples. */
async function writeOutputsFixture(dir: string, meta: DatasetMeta, samples: SampleRecord[]): Promise<void> {
  const train = samples.filter((s) => s.split === 'train').slice(0, 5);
  const cfg = { numSamples: 5, maxEpochs: 120, lr: 3e-3, seed: 1, preset: 'tcn' as const, ...TINY.tcn };
  const { result, model, optimizer } = await runOverfitTest(train, meta, cfg);
  const ckMeta = checkpointMeta({
    model: { ...model.config } as ModelConfig,
    subsampling: model.subsampling,
    vocab: meta.vocab,
    normalisation: meta.norm,
    training: { config: { mode: 'overfit', ...cfg, optimizer: 'adam', ...optimizer.config }, state: { epoch: result.epochs, step: optimizer.step, seed: cfg.seed } },
    history: result.history.map((h) => ({ epoch: h.epoch, loss: h.loss, wer: h.wer, seconds: h.seconds })),
    dataset: { id: meta.id, name: meta.name },
  });
  put(join(dir, 'outputs', 'overfit.safetensors'), await encodeCheckpoint(new Map([...model.params, ...optimizer.slots]), ckMeta));
  // The lab's log-probs as its Export model outputs computes them (modelLogProbs: padded batches of
  // up to 16, one read-back per batch), for the val split.
  const members: Record<string, Uint8Array> = {};
  const val = samples.filter((x) => x.split === 'val').map((x) => x.index);
  for await (const o of modelLogProbs(model, meta, memorySource(samples), val)) members[`${o.id}.npy`] = npy(o.logProbs, [o.outFrames, model.config.numClasses]);
  put(join(dir, 'outputs', 'lab_logprobs.npz'), zipSync(members, { level: 0 }));
  model.dispose();
  optimizer.dispose();
}

/**
 * The lab's kdLoss on fixed inputs [B 3, T 5, C 6] (lengths 5, 2, 0; a −Inf teacher log-prob on a
 * valid frame, NaN on a padded one): per-sample values and the gradient of the batch mean, with
 * the blank left out and kept in.
 */
async function writeKdLossFixture(dir: string): Promise<void> {
  const [B, T, C] = [3, 5, 6];
  const rng = new Rng(41);
  const student = Float32Array.from({ length: B * T * C }, () => 2 * rng.normal());
  const teacher = Float32Array.from({ length: B * T * C }, () => 2 * rng.normal());
  teacher[(0 * T + 1) * C + 3] = -Infinity; // a class the teacher rules out
  teacher[(1 * T + 3) * C + 2] = NaN; // padding (sample 1 has 2 frames)
  const lengths = [5, 2, 0];
  const mask = new Float32Array(B * T);
  lengths.forEach((n, b) => mask.fill(1, b * T, b * T + n));
  const out = join(dir, 'distill', 'kd_loss');
  put(join(out, 'student.npy'), npy(student, [B, T, C]));
  put(join(out, 'teacher.npy'), npy(teacher, [B, T, C]));
  const cases: Record<string, unknown> = { lengths, temperature: 2.5 };
  for (const excludeBlank of [true, false]) {
    const opts = { temperature: 2.5, excludeBlank };
    const [s, t, m] = [tf.tensor3d(student, [B, T, C]), tf.tensor3d(teacher, [B, T, C]), tf.tensor3d(mask, [B, T, 1])];
    const none = kdLoss(s, t, m, { ...opts, reduction: 'none' });
    const grad = tf.grad((x: tf.Tensor) => kdLoss(x as tf.Tensor3D, t, m, opts))(s);
    cases[excludeBlank ? 'excludeBlank' : 'includeBlank'] = Array.from(await none.data());
    put(join(out, `grad_${excludeBlank ? 'exclude' : 'include'}.npy`), npy((await grad.data()) as Float32Array, [B, T, C]));
    tf.dispose([s, t, m, none, grad]);
  }
  json(join(out, 'lab.json'), cases);
}

/** Distillation runs in the lab: a tcn ×4 student of a tconv-bilstm teacher (random weights, ×4), given as its checkpoint or as its outputs. */
const KD_CASES: { name: string; teacher: 'checkpoint' | 'outputs'; settings: DistillSettings }[] = [
  { name: 'kd-checkpoint', teacher: 'checkpoint', settings: { kdWeight: 2, ctcWeight: 1, temperature: 2, excludeBlank: true } },
  { name: 'kd-outputs', teacher: 'outputs', settings: { kdWeight: 5, ctcWeight: 0.5, temperature: 3, excludeBlank: false } },
];

function kdConfig(): TrainConfig {
  return { ...TRAIN_DEFAULTS, preset: 'tcn', ...TINY.tcn, subsampling: 4, dropout: 0, batchSize: 4, accumulationSteps: 2, epochs: 1, lr: 1e-3, warmupEpochs: 0, clipNorm: 0.25, maxTrainSamples: 8, seed: 7 };
}

/**
 * The teacher (dir/distill/teacher.safetensors, and its log-probs on every sample exported with the
 * lab's OutputsZipWriter in reversed class order, the blank last: dir/distill/teacher_outputs.zip),
 * then per case the student's checkpoints before, after one step, and after a resumed second one.
 * An output set is read back as the lab reads it: the lab's importer, attached to the dataset,
 * columns reordered to blank 0 then the vocabulary (engine/distill/teachers.ts outputSetColumns).
 */
async function writeDistillFixtures(dir: string, meta: DatasetMeta, samples: SampleRecord[]): Promise<void> {
  const V = meta.vocab.length + 1;
  const tcfg = modelConfig({ preset: 'tconv-bilstm', ...TINY['tconv-bilstm'], dropout: 0 }, F, V);
  const tm = createModel(tcfg, 3);
  randomize(tm, 31);
  const adam = new Adam(tm.params);
  const tmeta = checkpointMeta({
    model: { ...tm.config } as ModelConfig,
    subsampling: tm.subsampling,
    vocab: meta.vocab,
    normalisation: meta.norm,
    training: { config: { mode: 'train', ...TRAIN_DEFAULTS, preset: 'tconv-bilstm', ...TINY['tconv-bilstm'], dropout: 0 } as TrainConfig & { mode: 'train' }, state: { epoch: 0, step: 0, seed: 1 } },
    history: [],
    dataset: { id: meta.id, name: meta.name },
  });
  const teacherBytes = await encodeCheckpoint(new Map([...tm.params, ...adam.slots]), tmeta);
  put(join(dir, 'distill', 'teacher.safetensors'), teacherBytes);
  adam.dispose();
  // Reversed classes: file column V − 1 − c holds the lab's class c (the blank is the last column).
  const lab = ['<blank>', ...meta.vocab];
  const w = new OutputsZipWriter({ classes: lab.slice().reverse(), blank: V - 1, subsampling: tm.subsampling, frameShiftMs: null, model: 'fixture teacher (tconv-bilstm)' });
  for await (const o of modelLogProbs(tm, meta, memorySource(samples), samples.map((s) => s.index))) {
    const rev = new Float32Array(o.logProbs.length);
    for (let t = 0; t < o.outFrames; t++) for (let c = 0; c < V; c++) rev[t * V + (V - 1 - c)] = o.logProbs[t * V + c];
    w.add({ ...o, logProbs: rev });
  }
  const zipBytes = new Uint8Array(await w.finish().arrayBuffer());
  put(join(dir, 'distill', 'teacher_outputs.zip'), zipBytes);
  tm.dispose();
  const attach = { id: meta.id, name: meta.name, infos: samples.map((s) => ({ id: s.id, text: s.text, frames: s.frames })) };
  const set = await prepareOutputsImport([{ path: 'teacher_outputs.zip', blob: new Blob([zipBytes as BlobPart]) }], 'teacher_outputs.zip', { attach });
  const C = set.meta.classes.length;
  const cols = outputSetColumns(set.meta, meta);
  expect(cols).toEqual(lab.map((_, c) => V - 1 - c));
  const byId = new Map(set.samples.map((s) => [s.id, s]));
  const rowsOf = (index: number) => byId.get(samples[index].id);

  const teacherOf = (kind: 'checkpoint' | 'outputs'): TeacherSource => {
    if (kind === 'checkpoint') {
      const { meta: ck, tensors } = decodeCheckpoint(teacherBytes, 'teacher.safetensors');
      return checkpointTeacher(meta, ck, tensors, { id: 'teacher-ck', name: 'teacher.safetensors', valWer: null });
    }
    return storedTeacher(
      { kind: 'outputs', id: 'teacher-set', name: 'teacher_outputs.zip', ...(set.meta.subsampling ? { subsampling: set.meta.subsampling } : {}) },
      V,
      (i) => rowsOf(i)?.outFrames,
      async (indices) =>
        indices.map((i) => {
          const r = rowsOf(i)!;
          return reorderColumns(new Float32Array(r.logProbs), r.outFrames, C, cols);
        }),
    );
  };
  for (const c of KD_CASES) {
    const out = join(dir, 'train', c.name);
    const cfg = kdConfig();
    await writeRunFixture(out, meta, samples, cfg, () => ({ teacher: teacherOf(c.teacher), settings: c.settings }));
  }
}

// ---------------------------------------------------------------- the tests

const describeTwin = HAVE_TORCH ? describe : CI ? describe : describe.skip;

describeTwin('PyTorch twin (python/ctc_lab) against the lab', () => {
  let dir = '';
  let data: { meta: DatasetMeta; samples: SampleRecord[] };

  beforeAll(async () => {
    if (!HAVE_TORCH) return;
    await tf.setBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'ctc-lab-twin-'));
    await writeModelFixtures(dir);
    data = await writeDataset(dir);
    await writeTrainFixtures(dir, data.meta, data.samples);
    await writeMidEpochFixture(dir, data.meta, data.samples);
    await writeOutputsFixture(dir, data.meta, data.samples);
    await writeKdLossFixture(dir);
    await writeDistillFixtures(dir, data.meta, data.samples);
  }, 300_000);

  afterAll(() => {
    if (dir && !process.env.CTC_LAB_KEEP_FIXTURES) rmSync(dir, { recursive: true, force: true });
  });

  it('has python3 with torch, numpy and pytest (required under CI=true)', () => {
    expect(HAVE_TORCH, `${PY} -c "import torch, numpy, pytest" failed: ${probe.stderr || probe.error}`).toBe(true);
  });

  it('pytest python/tests passes on the lab-written fixtures (logits, training steps, dataset, outputs, torchrun)', () => {
    const r = spawnSync(PY, ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests'], {
      cwd: HERE,
      env: { ...process.env, CTC_LAB_FIXTURES: dir, CI: 'true', PYTHONDONTWRITEBYTECODE: '1' },
      encoding: 'utf8',
      timeout: 170_000,
    });
    const out = `${r.stdout}\n${r.stderr}`;
    expect(r.status, out.slice(-8000)).toBe(0);
    expect(out).not.toMatch(/\bskipped\b/); // with fixtures every test runs
  }, 180_000);

  it('a checkpoint round-tripped lab → PyTorch → lab is unchanged (tensors bit for bit, metadata; distillation runs too)', () => {
    for (const c of [...TRAIN_CASES, ...KD_CASES]) {
      const lab = decodeCheckpoint(readBytes(join(dir, 'train', c.name, 'epoch1.safetensors')), 'lab');
      const back = decodeCheckpoint(readBytes(join(dir, 'py', 'roundtrip', `${c.name}.safetensors`)), 'python');
      expect(back.meta, c.name).toEqual(lab.meta);
      expect(Object.keys(back.tensors).sort(), c.name).toEqual(Object.keys(lab.tensors).sort());
      for (const [name, t] of Object.entries(lab.tensors)) {
        expect(back.tensors[name].shape, name).toEqual(t.shape);
        expect(Array.from(back.tensors[name].data), `${c.name} ${name}`).toEqual(Array.from(t.data));
      }
    }
  });

  it('checkpoints trained in PyTorch import into the lab: validated, resumed, the next epoch trains', async () => {
    for (const c of TRAIN_CASES) {
      const file = join(dir, 'py', 'train', c.name, 'last.safetensors');
      // What the worker's Import checkpoint does: checked against the dataset, the stored config with the model's knobs, a trial Trainer.
      const { meta: ck, tensors } = checkpointForDataset(readBytes(file), file, data.meta);
      expect(ck.training.state.epoch).toBe(2);
      expect(ck.history.map((h) => h.epoch)).toEqual([1, 2]);
      const config = { ...TRAIN_DEFAULTS, ...(ck.training.config as Partial<TrainConfig>), ...knobsOf(ck.model), epochs: 3 } as TrainConfig;
      const t = new Trainer(data.meta, data.samples, config, { state: resumeStateFrom(ck), tensors });
      await t.run();
      expect(t.state.epoch).toBe(3);
      expect(Number.isFinite(t.state.history[2].trainLoss), c.name).toBe(true);
      t.dispose();
    }
  });

  it('distillation checkpoints trained in PyTorch import into the lab with their teacher recorded, and train on with it', async () => {
    const teacherBytes = readBytes(join(dir, 'distill', 'teacher.safetensors'));
    for (const c of KD_CASES) {
      const file = join(dir, 'py', 'train', c.name, 'last.safetensors');
      const lab = decodeCheckpoint(readBytes(join(dir, 'train', c.name, 'epoch2.safetensors')), 'lab');
      const { meta: ck, tensors } = checkpointForDataset(readBytes(file), file, data.meta);
      expect(ck.distillation, c.name).toEqual(lab.meta.distillation);
      expect(ck.distillation).toMatchObject({ ...c.settings, teacher: { kind: c.teacher } });
      expect(ck.history.map((h) => h.epoch)).toEqual([1, 2]);
      for (const h of ck.history) expect(h.trainKd, c.name).toBeGreaterThan(0);
      // The worker's resume of a distillation run: the stored config, the recorded settings, a teacher (here the checkpoint).
      const { meta: tck, tensors: tt } = decodeCheckpoint(teacherBytes, 'teacher.safetensors');
      const config = { ...TRAIN_DEFAULTS, ...(ck.training.config as Partial<TrainConfig>), ...knobsOf(ck.model), epochs: 3 } as TrainConfig;
      const { teacher: _t, ...settings } = ck.distillation!;
      const t = new Trainer(data.meta, data.samples, config, { state: resumeStateFrom(ck), tensors }, { teacher: checkpointTeacher(data.meta, tck, tt, { id: 't', name: 'teacher.safetensors' }), settings });
      await t.run();
      expect(t.state.epoch).toBe(3);
      expect(t.state.history[2].trainKd, c.name).toBeGreaterThan(0);
      t.dispose();
    }
  });

  it('the torchrun (2 processes, gloo) checkpoint decodes in the lab as PyTorch decoded it', async () => {
    const file = join(dir, 'py', 'ddp', 'last.safetensors');
    const { meta: ck, tensors } = decodeCheckpoint(readBytes(file), file);
    const model = createModel(ck.model as ModelConfig, 1);
    model.loadTensors(tensors, file);
    const want = JSON.parse(readFileSync(join(dir, 'py', 'ddp', 'decodes.json'), 'utf8')) as Record<string, string>;
    const val = data.samples.filter((s) => s.split === 'val');
    expect(Object.keys(want).sort()).toEqual(val.map((s) => s.id).sort());
    for (const s of val) {
      const t = batchTensors(model, makeBatch([s], data.meta));
      const best = tf.tidy(() => tf.argMax(model.apply(t, false), 2));
      const hyp = idsToTokens(greedyDecode(await best.data(), t.maxOutFrames, t.outFrames)[0], ck.vocab).join(' ');
      expect(hyp, s.id).toBe(want[s.id]);
      best.dispose();
      disposeBatchTensors(t);
    }
    model.dispose();
  });

  it("python -m ctc_lab outputs writes a zip the lab's Import model outputs reads, log-probs as PyTorch wrote them", async () => {
    const bytes = readBytes(join(dir, 'py', 'outputs', 'val.zip'));
    const { meta, samples, report } = await prepareOutputsImport([{ path: 'val.zip', blob: new Blob([bytes]) }], 'python');
    expect(meta.kind.declared).toBe('log_probs');
    expect(report.subsampling).toBe(2);
    const val = data.samples.filter((s) => s.split === 'val');
    expect(samples.map((s) => s.id).sort()).toEqual(val.map((s) => s.id).sort());
    const npz = unzipSync(unzipSync(bytes)['posteriors.npz']);
    for (const s of samples) {
      const mine = parseNpy(npz[`${s.id}.npy`], s.id);
      const got = new Float32Array(s.logProbs);
      expect(got.length).toBe(mine.data.length);
      got.forEach((v, i) => expect(Math.abs(v - mine.data[i])).toBeLessThan(1e-5));
    }
  });
});

if (!existsSync(join(HERE, 'tests'))) throw new Error('python/tests is missing');
