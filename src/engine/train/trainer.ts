// Full training: length-bucketed batches, gradient accumulation, clipping, LR schedule, per-epoch
// validation (loss, WER, CER with S/D/I, blank rate, greedy decoding), early stopping, and
// checkpoints that resume exactly (weights, optimizer slots, step, early-stopping state, history;
// shuffling and dropout are functions of (seed, epoch, step), so no RNG state needs saving).
// A checkpoint can be taken between any two steps: `state.position` holds the unfinished epoch's
// place (next micro-batch, its shuffle seed, its partial sums), so a resume mid-epoch continues exactly.
// With a teacher (distillation) the loss is ctcWeight·CTC + kdWeight·τ²·KL (../distill/), the KL
// term and the student–teacher agreement are tracked, and checkpoints record the teacher.

import * as tf from '@tensorflow/tfjs-core';
import { makeBatch, tokenIndex } from '../../data/batch';
import { batchTensors, disposeBatchTensors } from './batch_tensors';
import { bucketedBatches, paddingEfficiency } from '../../data/loader';
import type { DatasetMeta, EpochRecord, HistoryRow, SampleRecord } from '../../data/types';
import { asSource, type SampleInfo, type SampleSource } from '../../data/source';
import { throwOnGpuErrors } from '../backend';
import { checkpointMeta, encodeCheckpoint, type CheckpointMeta } from '../checkpoint/checkpoint';
import type { StTensor } from '../checkpoint/safetensors';
import type { EpochPosition } from '../checkpoint/schema';
import { ctcLoss, ctcNll } from '../ctc/ctc_loss';
import { ctcMinFrames } from '../ctc/ctc_reference';
import { greedyDecode, idsToTokens } from '../decode/greedy';
import { cer, wer } from '../metrics/wer';
import type { SequenceModel } from '../model/model';
import { createModel, modelConfig, type ModelConfig } from '../model/registry';
import { Adam } from '../optim/adam';
import { globalNorm } from '../optim/norm';
import { learningRate } from '../optim/schedule';
import { Sgd } from '../optim/sgd';
import type { TrainConfig } from './config';
import { EarlyStopping, type EarlyStoppingState } from './early_stopping';
import { distillationLoss } from '../distill/loss';
import { distillSettingsProblems, type DistillationRecord, type Distillation } from '../distill/settings';
import { teacherProblems, type TeacherSource } from '../distill/teacher';

/** One epoch's metrics: the run's history row, declared once (data/types.ts). */
export type EpochMetrics = EpochRecord;

export type { Distillation }; // a teacher and how to learn from it; the trainer owns the teacher (disposes it)

export interface StepMetrics {
  step: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  skipped: boolean;
  kd?: number; // distillation: the step's τ²·KL term (unweighted)
}

export interface TrainState {
  epoch: number; // completed epochs
  step: number; // optimizer updates done
  earlyStopping: EarlyStoppingState;
  history: HistoryRow[]; // this run's EpochMetrics, after those a resumed checkpoint recorded
  position?: EpochPosition; // between two steps of an unfinished epoch; undefined at epoch boundaries
}

export interface TrainHooks {
  onStep?: (s: StepMetrics) => void;
  onEpoch?: (m: EpochMetrics, info: { improved: boolean; stop: boolean; earlyStopping: EarlyStoppingState }) => Promise<void> | void;
  shouldStop?: () => boolean;
  waitWhilePaused?: () => Promise<void>;
  afterStep?: () => Promise<void> | void; // after each step, state.position current: where a mid-epoch checkpoint is taken
}

export class Trainer {
  readonly model: SequenceModel;
  readonly optimizer: Adam | Sgd;
  readonly state: TrainState;
  readonly early: EarlyStopping;
  private readonly source: SampleSource;
  private readonly train: SampleInfo[];
  private readonly val: SampleInfo[];
  private readonly index: Map<string, number>;
  private best: Map<string, tf.Tensor> | null = null;
  readonly excluded: { id: string; reason: string }[] = [];
  readonly distill: Distillation | null;
  private readonly teacherHyps = new Map<number, string>(); // dataset index → teacher's greedy decode (the teacher is fixed)

  constructor(
    readonly meta: DatasetMeta,
    samples: SampleRecord[] | SampleSource,
    readonly config: TrainConfig,
    resume?: { state: TrainState; tensors: Record<string, StTensor>; best?: Record<string, StTensor> }, // best: the best checkpoint's tensors (restoreBest)
    distill?: Distillation,
  ) {
    this.distill = distill ?? null;
    this.index = tokenIndex(meta.vocab);
    this.model = createModel(modelConfig(config, meta.featureDim, meta.vocab.length + 1), config.seed);
    this.source = asSource(samples);
    const ok = (s: SampleInfo, split: string) => {
      if (s.split !== split) return false;
      const ids = s.text.split(' ').map((t) => this.index.get(t));
      if (ids.some((i) => i === undefined)) {
        // Only val/test can hold unknown tokens (the vocabulary covers training); CTC cannot score them.
        this.excluded.push({ id: s.id, reason: 'token not in the vocabulary' });
        return false;
      }
      if (this.model.outLength(s.frames) < ctcMinFrames(ids as number[])) {
        this.excluded.push({ id: s.id, reason: 'CTC-infeasible at this subsampling' });
        return false;
      }
      return true;
    };
    const train = this.source.infos.filter((s) => ok(s, 'train'));
    this.train = config.maxTrainSamples > 0 ? train.slice(0, config.maxTrainSamples) : train;
    this.val = this.source.infos.filter((s) => ok(s, 'val'));
    if (this.train.length === 0) throw new Error('no trainable samples in the training split');
    if (distill) {
      const problems = [...distillSettingsProblems(distill.settings), ...teacherProblems(distill.teacher, this.model, [...this.train, ...this.val])];
      if (problems.length) {
        this.model.dispose();
        throw new Error(`distillation cannot start: ${problems.join('; ')}`);
      }
    }
    this.optimizer =
      config.optimizer === 'sgd'
        ? new Sgd(this.model.params, { lr: config.lr, momentum: config.momentum, weightDecay: config.weightDecay })
        : new Adam(this.model.params, { lr: config.lr, weightDecay: config.optimizer === 'adamw' ? config.weightDecay : 0 });
    this.early = new EarlyStopping(
      { patience: config.patience, minDelta: config.minDelta, monitor: config.monitor, restoreBest: config.restoreBest },
      resume?.state.earlyStopping,
    );
    this.state = resume ? { ...resume.state, history: [...resume.state.history] } : { epoch: 0, step: 0, earlyStopping: this.early.state, history: [] };
    this.state.earlyStopping = this.early.state;
    if (resume) this.load(resume.tensors);
    if (resume?.best && config.restoreBest) this.loadBest(resume.best);
  }

  get trainCount(): number {
    return this.train.length;
  }

  get valCount(): number {
    return this.val.length;
  }

  get stepsPerEpoch(): number {
    return Math.ceil(Math.ceil(this.train.length / this.config.batchSize) / this.config.accumulationSteps);
  }

  lr(step = this.state.step): number {
    const c = this.config;
    return learningRate(
      { lr: c.lr, warmupEpochs: c.warmupEpochs, decay: c.decay, epochs: c.epochs, minLrRatio: 0.01, stepEvery: 30, stepGamma: 0.5 },
      step,
      this.stepsPerEpoch,
    );
  }

  private load(tensors: Record<string, StTensor>): void {
    this.model.loadTensors(tensors);
    for (const [name, v] of this.optimizer.slots) {
      const t = tensors[name];
      if (!t) throw new Error(`checkpoint: optimizer slot ${name} is missing (was it saved with another optimizer?)`);
      tf.tidy(() => v.assign(tf.tensor(Float32Array.from(t.data), t.shape)));
    }
    this.optimizer.step = this.state.step;
  }

  /** The best epoch's weights, kept for restoreBest across a resume (they live in the run's best checkpoint). */
  private loadBest(tensors: Record<string, StTensor>): void {
    for (const [name, v] of this.model.params) {
      const t = tensors[name];
      if (!t || t.shape.join() !== v.shape.join())
        throw new Error(`best checkpoint: tensor ${name} is ${t ? `[${t.shape}]` : 'missing'}, the model needs [${v.shape}]`);
    }
    this.best = new Map([...this.model.params].map(([name, v]) => [name, tf.tensor(Float32Array.from(tensors[name].data), v.shape)]));
  }

  /** One epoch of training; returns its metrics (without validation). */
  private async trainEpoch(
    epoch: number,
    hooks: TrainHooks,
  ): Promise<Omit<EpochMetrics, 'valLoss' | 'valWer' | 'valCer' | 'S' | 'D' | 'I' | 'N' | 'blankRate' | 'seconds'> | null> {
    const c = this.config;
    const frames = this.train.map((s) => s.frames);
    const shuffleSeed = c.seed * 100003 + epoch;
    const batches = bucketedBatches(frames, c.batchSize, shuffleSeed);
    // Resuming mid-epoch: the same batch list (checked by its seed), from the next micro-batch, with the epoch's partial sums.
    const pos = this.state.position?.epoch === epoch ? this.state.position : undefined;
    if (pos && pos.shuffleSeed !== shuffleSeed)
      throw new Error(`checkpoint: training.state.position.shuffleSeed ${pos.shuffleSeed} is not this run's (${shuffleSeed}); the config changed mid-epoch`);
    if (pos && (pos.batch > batches.length || (pos.batch % c.accumulationSteps && pos.batch !== batches.length))) {
      throw new Error(`checkpoint: training.state.position.batch ${pos.batch} is not a step boundary of this epoch's ${batches.length} micro-batches`);
    }
    const first = pos?.batch ?? 0;
    const t0 = performance.now() - (pos?.seconds ?? 0) * 1000;
    const vars = [...this.model.params.values()];
    const byTfName = new Map([...this.model.params].map(([name, v]) => [v.name, name]));
    let lossSum = pos?.lossSum ?? 0,
      lossCount = pos?.lossCount ?? 0,
      normSum = pos?.normSum ?? 0,
      skipped = pos?.skipped ?? 0;
    const A = c.accumulationSteps;
    // Features are loaded (IndexedDB in the worker) and assembled per step, one step ahead.
    const assemble = (from: number) => {
      const p = Promise.all(
        batches.slice(from, from + A).map(async (idx) => makeBatch(await this.source.load(idx.map((j) => this.train[j].index)), this.meta, this.index)),
      );
      p.catch(() => {}); // a read error surfaces where the batch is awaited, not as an unhandled rejection
      return p;
    };
    let next = assemble(first);
    // Distillation: the teacher's data for the same batches (storage reads), one step ahead too.
    const teach = (from: number) => {
      const d = this.distill;
      const p = d ? Promise.all(batches.slice(from, from + A).map((idx) => d.teacher.fetch(idx.map((j) => this.train[j].index)))) : Promise.resolve([]);
      p.catch(() => {});
      return p;
    };
    let nextTeacher = teach(first);
    let kdSum = pos?.kdSum ?? 0;
    for (let i = first; i < batches.length; i += A) {
      if (hooks.shouldStop?.()) return null;
      await hooks.waitWhilePaused?.();
      const group = await next;
      const teacherGroup = await nextTeacher;
      // Accumulate the gradient of the mean loss over the group's micro-batches.
      let acc: Record<string, tf.Tensor> | null = null;
      let lossT: tf.Tensor = tf.scalar(0);
      let kdT: tf.Tensor = tf.scalar(0);
      for (const [k, b] of group.entries()) {
        const t = batchTensors(this.model, b);
        const seed = c.seed * 7919 + this.state.step * 131 + k;
        // The teacher runs outside the tape and on none of `vars`: no gradient reaches it.
        const teacherLogits = this.distill ? this.distill.teacher.logits(t, teacherGroup[k]) : null;
        const kept: tf.Tensor[] = [];
        const { value, grads } = tf.variableGrads(() => {
          const logits = this.model.apply(t, true, seed);
          if (!teacherLogits) return tf.div(ctcLoss(logits, t.labels, t.xl, t.yl), group.length) as tf.Scalar;
          const l = distillationLoss(logits, teacherLogits, t, this.distill!.settings);
          kept.push(tf.keep(l.kd));
          return tf.div(l.total, group.length) as tf.Scalar;
        }, vars);
        disposeBatchTensors(t);
        teacherLogits?.dispose();
        for (const kd of kept) {
          const prevKd = kdT;
          kdT = tf.tidy(() => tf.add(prevKd, tf.div(kd, group.length)));
          tf.dispose([prevKd, kd]);
        }
        const prevLoss = lossT;
        lossT = tf.add(lossT, value);
        prevLoss.dispose();
        value.dispose();
        if (!acc) acc = grads;
        else {
          const next: Record<string, tf.Tensor> = {};
          for (const key of Object.keys(grads)) next[key] = tf.add(acc[key], grads[key]);
          tf.dispose([...Object.values(acc), ...Object.values(grads)]);
          acc = next;
        }
      }
      const gradsAcc = acc!;
      const norm = globalNorm(Object.values(gradsAcc));
      // One asynchronous read per step: the loss and the norm decide whether the step is applied.
      const both = tf.stack(this.distill ? [lossT, norm, kdT] : [lossT, norm]);
      const read = both.data(); // submits the step's GPU work
      // Prefetch: the next step's batches are read and assembled while the GPU runs this one.
      next = i + A < batches.length ? assemble(i + A) : Promise.resolve([]);
      nextTeacher = i + A < batches.length ? teach(i + A) : Promise.resolve([]);
      const [loss, gn, kdv] = await read;
      tf.dispose([both, lossT, kdT]);
      const lr = this.lr();
      const finite = Number.isFinite(loss) && Number.isFinite(gn);
      if (finite) {
        const scale = c.clipNorm > 0 && gn > c.clipNorm ? c.clipNorm / gn : 1;
        const named: Record<string, tf.Tensor> = {};
        for (const [tfName, g] of Object.entries(gradsAcc)) named[byTfName.get(tfName)!] = scale === 1 ? g : tf.mul(g, scale);
        this.optimizer.apply(this.model.params, named, lr);
        if (scale !== 1) tf.dispose(Object.values(named));
        lossSum += loss;
        lossCount++;
        normSum += gn;
        if (this.distill) kdSum += kdv;
      } else {
        skipped++; // a non-finite batch never reaches the weights
      }
      tf.dispose([norm, ...Object.values(gradsAcc)]);
      this.state.step++;
      throwOnGpuErrors(`training step ${this.state.step}`);
      hooks.onStep?.({ step: this.state.step, epoch, loss, lr, gradNorm: gn, skipped: !finite, ...(this.distill ? { kd: kdv } : {}) });
      this.state.position = {
        epoch,
        batch: Math.min(i + A, batches.length),
        shuffleSeed,
        lossSum,
        lossCount,
        normSum,
        skipped,
        ...(this.distill ? { kdSum } : {}),
        seconds: (performance.now() - t0) / 1000,
      };
      await hooks.afterStep?.();
    }
    return {
      epoch,
      trainLoss: lossCount ? lossSum / lossCount : NaN,
      lr: this.lr(),
      gradNorm: lossCount ? normSum / lossCount : NaN,
      skippedBatches: skipped,
      paddingEfficiency: paddingEfficiency(frames, batches),
      ...(this.distill ? { trainKd: lossCount ? kdSum / lossCount : NaN } : {}),
    };
  }

  /**
   * Validation: mean per-token CTC loss (PyTorch 'mean'), greedy WER/CER with S/D/I, blank rate;
   * with a teacher also its greedy decodes (computed once: it does not change), its WER and the
   * agreement (share of samples whose decodes are equal).
   */
  async evaluate(samples = this.val, batchSize = 16) {
    if (samples.length === 0) return null;
    const order = samples.map((_, i) => i).sort((a, b) => samples[a].frames - samples[b].frames);
    const refs: string[] = [],
      hyps: string[] = [],
      evaluated: number[] = [];
    let lossSum = 0,
      blanks = 0,
      frames = 0;
    for (let i = 0; i < order.length; i += batchSize) {
      const chunkIdx = order.slice(i, i + batchSize).map((j) => samples[j].index);
      const chunk = await this.source.load(chunkIdx);
      const b = makeBatch(chunk, this.meta, this.index);
      const t = batchTensors(this.model, b);
      if (this.distill) await this.decodeTeacher(chunkIdx, t);
      evaluated.push(...chunkIdx);
      const [nllT, bestT] = tf.tidy(() => {
        const logits = this.model.apply(t, false);
        return [ctcNll(logits, t.labels, t.xl, t.yl, { zeroInfinity: true }), tf.argMax(logits, 2)];
      });
      const [nll, best] = await Promise.all([nllT.data(), bestT.data()]);
      tf.dispose([nllT, bestT]);
      disposeBatchTensors(t);
      for (let k = 0; k < b.B; k++) lossSum += nll[k] / Math.max(b.labelLengths[k], 1);
      t.outLens.forEach((n, k) => {
        for (let f = 0; f < n; f++) if (best[k * t.Tout + f] === 0) blanks++;
        frames += n;
      });
      greedyDecode(best, t.Tout, t.outLens).forEach((ids, k) => {
        hyps.push(idsToTokens(ids, this.meta.vocab).join(' '));
        refs.push(b.texts[k]);
      });
    }
    const w = wer(refs, hyps);
    const teacherHyps = this.distill ? evaluated.map((j) => this.teacherHyps.get(j)!) : null;
    const teacher = teacherHyps
      ? { teacherHyps, teacherWer: wer(refs, teacherHyps).rate, agreement: hyps.filter((h, k) => h === teacherHyps[k]).length / hyps.length }
      : {};
    return {
      loss: lossSum / samples.length,
      wer: w.rate,
      cer: cer(refs, hyps).rate,
      S: w.S,
      D: w.D,
      I: w.I,
      N: w.N,
      blankRate: blanks / frames,
      refs,
      hyps,
      ...teacher,
    };
  }

  /** The teacher's greedy decodes of these samples, into the cache (those not there yet). */
  private async decodeTeacher(indices: number[], t: ReturnType<typeof batchTensors>): Promise<void> {
    if (!this.distill || indices.every((j) => this.teacherHyps.has(j))) return;
    const fetched = await this.distill.teacher.fetch(indices);
    const bestT = tf.tidy(() => tf.argMax(this.distill!.teacher.logits(t, fetched), 2));
    const best = await bestT.data();
    bestT.dispose();
    greedyDecode(best, t.Tout, t.outLens).forEach((ids, k) => this.teacherHyps.set(indices[k], idsToTokens(ids, this.meta.vocab).join(' ')));
  }

  /** Trains until the configured epochs, early stopping, or a stop request. */
  async run(hooks: TrainHooks = {}): Promise<{ reason: string }> {
    const c = this.config;
    while (this.state.epoch < c.epochs) {
      const epoch = this.state.epoch + 1;
      const t0 = performance.now() - (this.state.position?.epoch === epoch ? this.state.position.seconds * 1000 : 0); // a resumed epoch's time so far
      const tr = await this.trainEpoch(epoch, hooks);
      if (!tr) return { reason: `stopped by the user during epoch ${epoch}` };
      this.state.position = undefined;
      const doEval = epoch % c.evalEvery === 0 || epoch === c.epochs;
      const ev = doEval ? await this.evaluate() : null;
      const m: EpochMetrics = {
        ...tr,
        valLoss: ev?.loss ?? null,
        valWer: ev?.wer ?? null,
        valCer: ev?.cer ?? null,
        S: ev?.S ?? null,
        D: ev?.D ?? null,
        I: ev?.I ?? null,
        N: ev?.N ?? null,
        blankRate: ev?.blankRate ?? null,
        seconds: (performance.now() - t0) / 1000,
        ...(this.distill ? { agreement: ev?.agreement ?? null, teacherValWer: ev?.teacherWer ?? null } : {}),
      };
      this.state.epoch = epoch;
      this.state.history.push(m);
      let improved = false,
        stop = false;
      if (ev) {
        ({ improved, stop } = this.early.update(epoch, c.monitor === 'val_wer' ? ev.wer : ev.loss));
        if (improved && c.restoreBest) this.keepBest();
      }
      await hooks.onEpoch?.(m, { improved, stop, earlyStopping: { ...this.early.state } });
      if (stop) {
        this.restoreBestIfSet();
        return {
          reason: `early stopping: no ${c.monitor} improvement > ${c.minDelta} for ${c.patience} epochs (best ${this.early.state.best?.toFixed(4)} at epoch ${this.early.state.bestEpoch})`,
        };
      }
      if (hooks.shouldStop?.()) return { reason: `stopped by the user after epoch ${epoch}` };
    }
    this.restoreBestIfSet();
    return { reason: `finished ${c.epochs} epochs` };
  }

  private keepBest(): void {
    if (this.best) tf.dispose([...this.best.values()]);
    this.best = new Map([...this.model.params].map(([k, v]) => [k, tf.clone(v)]));
  }

  private restoreBestIfSet(): void {
    if (!this.config.restoreBest || !this.best) return;
    for (const [k, v] of this.model.params) v.assign(this.best.get(k)!);
  }

  /** The run as a checkpoint (DESIGN.md format). */
  async checkpoint(datasetName: string): Promise<Uint8Array> {
    const meta = checkpointMeta({
      model: { ...this.model.config },
      subsampling: this.model.subsampling,
      vocab: this.meta.vocab,
      normalisation: this.meta.norm,
      training: {
        config: { mode: 'train', ...this.config },
        state: {
          epoch: this.state.epoch,
          step: this.state.step,
          seed: this.config.seed,
          earlyStopping: { ...this.early.state },
          ...(this.state.position ? { position: { ...this.state.position } } : {}),
        },
      },
      history: this.state.history,
      dataset: { id: this.meta.id, name: datasetName },
      ...(this.distill ? { distillation: this.distillRecord()! } : {}), // the teacher and the KD settings: a resume rebuilds the same loss
    });
    return encodeCheckpoint(new Map([...this.model.params, ...this.optimizer.slots]), meta);
  }

  /**
   * Inference time of a model (this student by default, or a teacher) in ms per sample: eval
   * forward, argmax and its read-back over up to `maxSamples` validation samples in batches, the
   * features assembled beforehand (not timed), after one warm-up batch. null without validation samples.
   */
  async inferenceMsPerSample(model: SequenceModel = this.model, maxSamples = 64, batchSize = 16): Promise<number | null> {
    const samples = [...this.val].sort((a, b) => a.frames - b.frames).slice(0, maxSamples);
    if (samples.length === 0) return null;
    const inputs: ReturnType<typeof batchTensors>[] = [];
    for (let i = 0; i < samples.length; i += batchSize) {
      const chunk = await this.source.load(samples.slice(i, i + batchSize).map((s) => s.index));
      inputs.push(batchTensors(model, makeBatch(chunk, this.meta, this.index)));
    }
    const once = async (t: ReturnType<typeof batchTensors>) => {
      const best = tf.tidy(() => tf.argMax(model.apply(t, false), 2));
      await best.data();
      best.dispose();
    };
    try {
      await once(inputs[0]); // warm-up: shader compilation, first allocations
      const t0 = performance.now();
      for (const t of inputs) await once(t);
      return (performance.now() - t0) / samples.length;
    } finally {
      inputs.forEach(disposeBatchTensors);
    }
  }

  /** What a checkpoint records about this run's teacher (null without one). */
  distillRecord(): DistillationRecord<ModelConfig> | null {
    return this.distill ? { ...this.distill.settings, teacher: { ...this.distill.teacher.info } } : null;
  }

  dispose(): void {
    this.distill?.teacher.dispose();
    this.model.dispose();
    this.optimizer.dispose();
    if (this.best) tf.dispose([...this.best.values()]);
  }
}

/** Rebuilds a Trainer's resume input from a decoded checkpoint. */
export function resumeStateFrom(meta: CheckpointMeta): TrainState {
  const st = meta.training.state;
  return {
    epoch: st.epoch,
    step: st.step,
    earlyStopping: st.earlyStopping ?? { best: null, bestEpoch: 0, counter: 0 },
    history: meta.history,
    ...(st.position ? { position: { ...st.position } } : {}),
  };
}
