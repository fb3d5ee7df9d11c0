// Distillation through the Trainer (cpu backend): a copied student learns nothing (loss and gradient
// 0), refusals before a run starts, exact resume, the checkpoint's record of the teacher, and an
// overfit teacher's 5 samples distilled into a student that decodes them as the teacher does.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { makeBatch } from '../../data/batch';
import type { SampleRecord } from '../../data/types';
import { decodeCheckpoint } from '../checkpoint/checkpoint';
import type { StoredTensor } from '../model/model';
import { createModel, modelConfig } from '../model/registry';
import { batchTensors, disposeBatchTensors } from '../train/batch_tensors';
import { TRAIN_DEFAULTS, type TrainConfig } from '../train/config';
import { overfitSamples, runOverfitTest, OVERFIT_DEFAULTS } from '../train/overfit';
import { resumeStateFrom, Trainer, type StepMetrics } from '../train/trainer';
import { demoRecords as demo, expectResumedSteps, SMALL_TRAIN as small } from '../train/test_setup';
import { distillationLoss } from './loss';
import { distillationSummary } from './summary';
import { DISTILL_DEFAULTS, type DistillSettings } from './settings';
import { checkpointTeacher, modelTeacher, storedTeacher, teacherProblems } from './teacher';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const info = (name = 'teacher.safetensors') => ({ kind: 'checkpoint' as const, id: 'ck-1', name });
const stored = (params: Map<string, tf.Variable>): Record<string, StoredTensor> =>
  Object.fromEntries([...params].map(([k, v]) => [k, { shape: v.shape, data: v.dataSync().slice() }]));

describe('distillation loss on a student identical to its teacher', () => {
  it('kdWeight only: the loss and every parameter gradient are exactly 0 (blank included or excluded)', () => {
    const { meta, samples } = demo();
    const cfg = modelConfig({ ...small, dropout: 0 }, meta.featureDim, meta.vocab.length + 1);
    const teacher = createModel(cfg, 11);
    const student = createModel(cfg, 12); // another init, then the teacher's weights copied in
    student.loadTensors(stored(teacher.params));
    const t = batchTensors(student, makeBatch(samples.filter((s) => s.split === 'train').slice(0, 6), meta));
    for (const excludeBlank of [false, true]) {
      const settings: DistillSettings = { kdWeight: 25, ctcWeight: 0, temperature: 8, excludeBlank };
      const tl = teacher.apply(t, false);
      const { value, grads } = tf.variableGrads(() => distillationLoss(student.apply(t, true, 3), tl, t, settings).total, [...student.params.values()]);
      expect(value.dataSync()[0]).toBe(0);
      for (const [name, v] of student.params)
        expect(
          grads[v.name].dataSync().every((g) => g === 0),
          name,
        ).toBe(true);
      tf.dispose([tl, value, ...Object.values(grads)]);
    }
    disposeBatchTensors(t);
    teacher.dispose();
    student.dispose();
  });

  it('through the Trainer: every step reports loss 0 and KL 0, and the weights do not move', async () => {
    const { meta, samples } = demo();
    const cfg: TrainConfig = { ...small, dropout: 0, epochs: 1 };
    const teacherModel = createModel(modelConfig(cfg, meta.featureDim, meta.vocab.length + 1), 21);
    const t = new Trainer(meta, samples, cfg, undefined, {
      teacher: modelTeacher(teacherModel, info()),
      settings: { kdWeight: 25, ctcWeight: 0, temperature: 8, excludeBlank: false },
    });
    t.model.loadTensors(stored(teacherModel.params));
    const before = stored(t.model.params);
    const steps: StepMetrics[] = [];
    await t.run({ onStep: (s) => void steps.push(s) });
    expect(steps.length).toBeGreaterThan(0);
    for (const s of steps) {
      expect(s.loss).toBe(0);
      expect(s.kd).toBe(0);
      expect(s.gradNorm).toBe(0);
    }
    expect(stored(t.model.params)).toEqual(before);
    const ev = await t.evaluate();
    expect(ev!.agreement).toBe(1);
    expect(ev!.teacherWer).toBe(ev!.wer);
    const summary = (await distillationSummary(t))!;
    expect(summary).toMatchObject({
      samples: t.valCount,
      agreement: 1,
      student: { preset: 'tcn', subsampling: 2, params: teacherModel.paramCount(), valWer: ev!.wer },
      teacher: { params: teacherModel.paramCount(), valWer: ev!.wer, info: info() },
    });
    expect(summary.student.msPerSample).toBeGreaterThan(0);
    expect(summary.teacher.msPerSample).toBeGreaterThan(0);
    t.dispose();
  }, 60_000);

  it('the same student with CTC weighted in does learn (the test above can fail)', async () => {
    const { meta, samples } = demo();
    const cfg: TrainConfig = { ...small, dropout: 0, epochs: 3, accumulationSteps: 1, maxTrainSamples: 8 };
    const teacherModel = createModel(modelConfig(cfg, meta.featureDim, meta.vocab.length + 1), 21);
    const t = new Trainer(meta, samples, cfg, undefined, {
      teacher: modelTeacher(teacherModel, info()),
      settings: { kdWeight: 25, ctcWeight: 1, temperature: 8, excludeBlank: false },
    });
    t.model.loadTensors(stored(teacherModel.params));
    const steps: StepMetrics[] = [];
    await t.run({ onStep: (s) => void steps.push(s) });
    expect(steps[0].loss).toBeGreaterThan(0);
    expect(steps[0].kd).toBe(0); // first step: still identical
    expect(steps.at(-1)!.kd).toBeGreaterThan(0); // moved away from the teacher by the CTC term
    t.dispose();
  }, 60_000);
});

describe('a distillation run refuses to start', () => {
  it("when teacher frames differ from the student's output frames, naming the samples and by how much", () => {
    const { meta, samples } = demo();
    const teacherModel = createModel(modelConfig({ ...small, subsampling: 4 }, meta.featureDim, meta.vocab.length + 1), 1);
    const make = () =>
      new Trainer(meta, samples, small, undefined, { teacher: modelTeacher(teacherModel, { ...info(), subsampling: 4 }, false), settings: DISTILL_DEFAULTS });
    const first = samples.filter((s) => s.split === 'train')[0];
    const [T4, T2] = [Math.ceil(first.frames / 4), Math.ceil(first.frames / 2)];
    expect(make).toThrow(`distillation cannot start: teacher frames differ from the student's output frames for`);
    expect(make).toThrow(`${first.id} (teacher ${T4}, student ${T2}: ${T2 - T4} fewer)`);
    expect(make).toThrow(/, and \d+ more — choose a student with the teacher's time subsampling \(×4\)/);
    // a ×4 tcn student fits the ×4 teacher
    const ok = new Trainer(meta, samples, { ...small, subsampling: 4 }, undefined, {
      teacher: modelTeacher(teacherModel, info(), false),
      settings: DISTILL_DEFAULTS,
    });
    expect(ok.model.subsampling).toBe(4);
    ok.dispose();
    teacherModel.dispose();
  });

  it('when a stored teacher lacks samples or has another class count', () => {
    const { meta, samples } = demo();
    const student = createModel(modelConfig(small, meta.featureDim, meta.vocab.length + 1), 1);
    const infos = samples.map(({ index, id, text, split, frames }) => ({ index, id, text, split, frames }));
    const teacher = storedTeacher(
      { kind: 'outputs', id: 'o1', name: 'pytorch-outputs' },
      meta.vocab.length + 2,
      (i) => (i === 3 || i === 7 ? undefined : Math.ceil(samples[i].frames / 2)),
      async () => [],
    );
    const problems = teacherProblems(teacher, student, infos);
    expect(problems[0]).toBe(
      `the teacher 'pytorch-outputs' has ${meta.vocab.length + 2} output classes, the student ${meta.vocab.length + 1} (blank + vocabulary)`,
    );
    expect(problems[1]).toBe(`the teacher 'pytorch-outputs' has no outputs for 2 of ${infos.length} samples: ${samples[3].id}, ${samples[7].id}`);
    expect(problems).toHaveLength(2);
    student.dispose();
  });

  it('with settings that cannot train (both weights 0; CTC off with the blank excluded)', () => {
    const { meta, samples } = demo();
    const mk = (settings: DistillSettings) => () =>
      new Trainer(meta, samples, small, undefined, {
        teacher: modelTeacher(createModel(modelConfig(small, meta.featureDim, meta.vocab.length + 1), 1), info()),
        settings,
      });
    expect(mk({ ...DISTILL_DEFAULTS, kdWeight: 0, ctcWeight: 0 })).toThrow('kdWeight and ctcWeight are both 0');
    expect(mk({ ...DISTILL_DEFAULTS, ctcWeight: 0 })).toThrow('ctcWeight 0 with the blank excluded from the KL leaves the blank with no training signal');
    expect(mk({ ...DISTILL_DEFAULTS, temperature: 0 })).toThrow('temperature must be a number > 0, got 0');
  });

  it('with a checkpoint of another vocabulary or normalisation (checkpointTeacher)', async () => {
    const { meta, samples } = demo();
    const a = new Trainer(meta, samples, { ...small, epochs: 1, maxTrainSamples: 8 });
    await a.run();
    const { meta: ck, tensors } = decodeCheckpoint(await a.checkpoint('demo'), 'teacher.safetensors');
    a.dispose();
    const ok = checkpointTeacher(meta, ck, tensors, { id: 'ck-1', name: 'teacher.safetensors' });
    expect(ok.info).toMatchObject({ kind: 'checkpoint', subsampling: 2, params: ok.model!.paramCount(), model: { preset: 'tcn', channels: 32 } });
    ok.dispose();
    const otherVocab = { ...meta, vocab: [...meta.vocab.slice(0, 2), 'zebra', ...meta.vocab.slice(3)] };
    expect(() => checkpointTeacher(otherVocab, ck, tensors, { id: 'ck-1', name: 'teacher.safetensors' })).toThrow(
      `teacher.safetensors: the teacher's vocabulary differs from dataset '${meta.name}' (${meta.vocab.length} vs ${meta.vocab.length} tokens; first difference at class 3: '${meta.vocab[2]}' vs 'zebra')`,
    );
    const otherNorm = { ...meta, norm: { ...meta.norm, std: meta.norm.std.map((s, i) => (i === 4 ? s * 2 : s)) } };
    expect(() => checkpointTeacher(otherNorm, ck, tensors, { id: 'ck-1', name: 'teacher.safetensors' })).toThrow(
      /teacher\.safetensors: the teacher was trained with another feature normalisation than dataset '.*' \(std of dim 4: /,
    );
  }, 60_000);
});

describe('distillation runs', () => {
  it('resumed from its checkpoint gives the same next-step losses and KL terms as uninterrupted; the checkpoint records the teacher', async () => {
    const { meta, samples } = demo();
    const teacherModel = createModel(modelConfig({ ...small, channels: 16, subsampling: 2 }, meta.featureDim, meta.vocab.length + 1), 5);
    const distill = () => ({ teacher: modelTeacher(teacherModel, { ...info(), params: teacherModel.paramCount() }, false), settings: DISTILL_DEFAULTS });
    const straight: StepMetrics[] = [];
    const a = new Trainer(meta, samples, small, undefined, distill());
    await a.run({ onStep: (s) => void straight.push(s) });
    expect(a.state.history.every((h) => typeof h.trainKd === 'number' && typeof h.agreement === 'number' && typeof h.teacherValWer === 'number')).toBe(true);
    a.dispose();

    const b = new Trainer(meta, samples, { ...small, epochs: 1 }, undefined, distill());
    await b.run();
    const { meta: ck, tensors } = decodeCheckpoint(await b.checkpoint('demo'), 'student.safetensors');
    b.dispose();
    expect(ck.distillation).toEqual({
      ...DISTILL_DEFAULTS,
      teacher: { kind: 'checkpoint', id: 'ck-1', name: 'teacher.safetensors', params: teacherModel.paramCount() },
    });
    const resumed: StepMetrics[] = [];
    const c = new Trainer(meta, samples, small, { state: resumeStateFrom(ck), tensors }, { teacher: distill().teacher, settings: ck.distillation! });
    await c.run({ onStep: (s) => void resumed.push(s) });
    c.dispose();
    for (const [s, t] of expectResumedSteps(resumed, straight, 2)) {
      expect(s.kd!).toBeCloseTo(t.kd!, 5);
      expect(s.kd!).toBeGreaterThan(0);
    }
    teacherModel.dispose();
  }, 120_000);

  it("stopped mid-epoch and resumed from that checkpoint: the same next-step losses and KL terms, and the epoch's mean KL (its partial sum came through the checkpoint)", async () => {
    const { meta, samples } = demo();
    const cfg: TrainConfig = { ...small, batchSize: 4, accumulationSteps: 2, epochs: 2 }; // 32 samples: 4 steps per epoch
    const teacherModel = createModel(modelConfig({ ...cfg, channels: 16 }, meta.featureDim, meta.vocab.length + 1), 6);
    const distill = () => ({ teacher: modelTeacher(teacherModel, info(), false), settings: DISTILL_DEFAULTS });
    const straight: StepMetrics[] = [],
      straightEpochs: number[] = [];
    const a = new Trainer(meta, samples, cfg, undefined, distill());
    await a.run({ onStep: (s) => void straight.push(s), onEpoch: (m) => void straightEpochs.push(m.trainKd!) });
    a.dispose();
    const b = new Trainer(meta, samples, cfg, undefined, distill());
    await b.run({ shouldStop: () => b.state.step >= 6 });
    const { meta: ck, tensors } = decodeCheckpoint(await b.checkpoint('demo'), 'mid.safetensors');
    b.dispose();
    expect(ck.training.state.position).toMatchObject({ epoch: 2, batch: 4, lossCount: 2 });
    expect(ck.training.state.position!.kdSum).toBeGreaterThan(0);
    const resumed: StepMetrics[] = [],
      resumedEpochs: number[] = [];
    const c = new Trainer(meta, samples, cfg, { state: resumeStateFrom(ck), tensors }, { teacher: distill().teacher, settings: ck.distillation! });
    await c.run({ onStep: (s) => void resumed.push(s), onEpoch: (m) => void resumedEpochs.push(m.trainKd!) });
    c.dispose();
    const rest = straight.filter((s) => s.step > 6);
    expect(resumed.map((s) => s.step)).toEqual(rest.map((s) => s.step));
    resumed.forEach((s, i) => {
      expect(s.loss).toBeCloseTo(rest[i].loss, 5);
      expect(s.kd!).toBeCloseTo(rest[i].kd!, 5);
    });
    expect(resumedEpochs).toHaveLength(1);
    expect(resumedEpochs[0]).toBeCloseTo(straightEpochs[1], 5);
    teacherModel.dispose();
  }, 120_000);

  it('tf.memory().numTensors is flat over 30 distillation steps with validation every epoch', async () => {
    const { meta, samples } = demo();
    const cfg: TrainConfig = { ...small, channels: 8, epochs: 100, accumulationSteps: 1, batchSize: 4, maxTrainSamples: 8, evalEvery: 1, restoreBest: false };
    const teacher = createModel(modelConfig(cfg, meta.featureDim, meta.vocab.length + 1), 3);
    const t = new Trainer(meta, samples, cfg, undefined, { teacher: modelTeacher(teacher, info()), settings: DISTILL_DEFAULTS });
    const counts = new Map<number, number>();
    await t.run({ onStep: (s) => void counts.set(s.step, tf.memory().numTensors), shouldStop: () => t.state.step >= 30 });
    expect(counts.get(30)).toBe(counts.get(10));
    t.dispose();
  }, 120_000);

  it('a stored teacher (per-sample log-probs read per batch) gives the same steps as the model it was computed from', async () => {
    const { meta, samples } = demo();
    const cfg: TrainConfig = { ...small, epochs: 1, maxTrainSamples: 24 };
    const teacherModel = createModel(modelConfig({ ...cfg, channels: 16 }, meta.featureDim, meta.vocab.length + 1), 9);
    // each sample alone through the teacher: its log-probs [T', C], as an output set holds them
    const rows = new Map<number, Float32Array>();
    for (const s of samples) {
      const t = batchTensors(teacherModel, makeBatch([s], meta));
      rows.set(
        s.index,
        tf.tidy(() => tf.logSoftmax(teacherModel.apply(t, false)).dataSync() as Float32Array),
      );
      disposeBatchTensors(t);
    }
    const C = meta.vocab.length + 1;
    let reads = 0;
    const stored = storedTeacher(
      { kind: 'outputs', id: 'o1', name: 'outputs' },
      C,
      (i) => rows.get(i)!.length / C,
      async (idx) => (reads++, idx.map((i) => rows.get(i)!)),
    );
    const fromModel: StepMetrics[] = [],
      fromStore: StepMetrics[] = [];
    const a = new Trainer(meta, samples, cfg, undefined, { teacher: modelTeacher(teacherModel, info(), false), settings: DISTILL_DEFAULTS });
    await a.run({ onStep: (s) => void fromModel.push(s) });
    const evA = await a.evaluate();
    a.dispose();
    const b = new Trainer(meta, samples, cfg, undefined, { teacher: stored, settings: DISTILL_DEFAULTS });
    await b.run({ onStep: (s) => void fromStore.push(s) });
    const evB = await b.evaluate();
    const summary = (await distillationSummary(b))!;
    expect(summary.teacher).toEqual({ info: { kind: 'outputs', id: 'o1', name: 'outputs' }, params: null, valWer: evA!.teacherWer, msPerSample: null });
    b.dispose();
    expect(reads).toBeGreaterThan(fromStore.length); // per micro-batch, plus the validation batches
    expect(fromStore.length).toBe(fromModel.length);
    fromStore.forEach((s, i) => {
      expect(s.loss).toBeCloseTo(fromModel[i].loss, 4);
      expect(s.kd!).toBeCloseTo(fromModel[i].kd!, 4);
    });
    expect(evB!.teacherHyps).toEqual(evA!.teacherHyps);
    expect(evB!.agreement).toBe(evA!.agreement);
    teacherModel.dispose();
  }, 120_000);

  it('a tcn ×4 student checkpoint passes validation and loads into a ×4 model', async () => {
    const { meta, samples } = demo();
    const teacher = createModel(
      modelConfig({ ...small, preset: 'tconv-bilstm', channels: 8, layers: 1, hidden: 8 }, meta.featureDim, meta.vocab.length + 1),
      2,
    );
    const t = new Trainer(meta, samples, { ...small, epochs: 1, maxTrainSamples: 8, subsampling: 4 }, undefined, {
      teacher: modelTeacher(teacher, { ...info(), subsampling: 4 }),
      settings: DISTILL_DEFAULTS,
    });
    await t.run();
    const { meta: ck, tensors } = decodeCheckpoint(await t.checkpoint('demo'), 'student.safetensors');
    expect(ck.subsampling).toBe(4);
    expect(ck.model).toMatchObject({ preset: 'tcn', subsampling: 4 });
    expect(ck.distillation?.teacher.subsampling).toBe(4);
    const again = createModel(ck.model, 1);
    again.loadTensors(tensors);
    expect(again.subsampling).toBe(4);
    again.dispose();
    t.dispose();
  }, 60_000);

  it('a plain run (no teacher) reports no distillation fields and records no teacher', async () => {
    const { meta, samples } = demo();
    const t = new Trainer(meta, samples, { ...small, epochs: 1, maxTrainSamples: 8 });
    const steps: StepMetrics[] = [];
    await t.run({ onStep: (s) => void steps.push(s) });
    expect(await distillationSummary(t)).toBeNull();
    expect(steps.every((s) => !('kd' in s))).toBe(true);
    expect(Object.keys(t.state.history[0])).not.toContain('trainKd');
    expect(decodeCheckpoint(await t.checkpoint('demo')).meta.distillation).toBeUndefined();
    t.dispose();
  }, 60_000);

  it("an overfit teacher's 5 samples, distilled with kdWeight only (no CTC), give a student whose greedy decodes equal the teacher's", async () => {
    const { meta, samples } = demo();
    const five = overfitSamples(samples, 5);
    const { result, model: teacherModel, optimizer } = await runOverfitTest(five, meta, { ...OVERFIT_DEFAULTS, maxEpochs: 600 });
    optimizer.dispose();
    expect(result.passed).toBe(true);
    // The 5 samples are the student's training set and, as copies, its validation set.
    const set: SampleRecord[] = [
      ...five.map((s, i) => ({ ...s, index: i })),
      ...five.map((s, i) => ({ ...s, id: `${s.id}-val`, split: 'val' as const, index: 5 + i })),
    ];
    const cfg: TrainConfig = {
      ...TRAIN_DEFAULTS,
      channels: 32,
      layers: 2,
      dropout: 0,
      batchSize: 5,
      accumulationSteps: 1,
      epochs: 400,
      lr: 3e-3,
      warmupEpochs: 0,
      decay: 'none',
      patience: 0,
      evalEvery: 5,
      clipNorm: 0,
    };
    const t = new Trainer(meta, set, cfg, undefined, {
      teacher: modelTeacher(teacherModel, info()),
      settings: { kdWeight: 1, ctcWeight: 0, temperature: 1, excludeBlank: false },
    });
    let agreement = 0,
      epochs = 0;
    await t.run({ onEpoch: (m) => void ((agreement = m.agreement ?? agreement), (epochs = m.epoch)), shouldStop: () => agreement === 1 });
    const ev = await t.evaluate();
    console.log(
      `[distill] overfit teacher ${result.epochs} epochs, ${result.seconds.toFixed(1)} s; student ${t.model.paramCount()} params vs teacher ${teacherModel.paramCount()}: agreement ${ev!.agreement} after ${epochs} epochs, KL ${t.state.history.at(-1)!.trainKd?.toFixed(4)}, student WER ${ev!.wer}, teacher WER ${ev!.teacherWer}`,
    );
    expect(ev!.agreement).toBe(1);
    expect(ev!.hyps).toEqual(ev!.teacherHyps);
    expect(ev!.teacherWer).toBe(0);
    expect(t.model.paramCount()).toBeLessThan(teacherModel.paramCount());
    t.dispose();
  }, 300_000);
});
