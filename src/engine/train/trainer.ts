// Full training: length-bucketed batches, gradient accumulation, clipping, LR schedule, per-epoch
// validation (loss, WER, CER with S/D/I, blank rate, greedy decoding), early stopping, and
// checkpoints that resume exactly (weights, optimizer slots, step, early-stopping state, history;
// shuffling and dropout are functions of (seed, epoch, step), so no RNG state needs saving).
// A checkpoint can be taken between any two steps: `state.position` holds the unfinished epoch's
// place (next micro-batch, its shuffle seed, its partial sums), so a resume mid-epoch continues exactly.
// With a teacher (distillation) the loss is ctcWeight·CTC + kdWeight·τ²·KL (../distill/), the KL
// term and the student–teacher agreement are tracked, and checkpoints record the teacher.
// This file is the run (construction, the epoch loop, early stopping, the best weights); one step is
// step.ts, validation evaluate.ts, the checkpoint run_checkpoint.ts, inference timing inference_time.ts.

import * as tf from '@tensorflow/tfjs-core';
import { makeBatch, tokenIndex } from '../../data/batch';
import { augmentedBatchTensors } from '../augment/augment';
import { augmentProblems } from '../augment/settings';
import { bucketedBatches, paddingEfficiency } from '../../data/loader';
import type { DatasetMeta, EpochRecord, HistoryRow, SampleRecord } from '../../data/types';
import { asSource, type SampleInfo, type SampleSource } from '../../data/source';
import { throwOnGpuErrors } from '../backend';
import type { StTensor } from '../checkpoint/safetensors';
import type { EpochPosition } from '../checkpoint/schema';
import { ctcMinFrames } from '../ctc/ctc_reference';
import type { SequenceModel } from '../model/model';
import { createModel, modelConfig, type ModelConfig } from '../model/registry';
import { Adam } from '../optim/adam';
import { learningRate } from '../optim/schedule';
import { Sgd } from '../optim/sgd';
import type { TrainConfig } from './config';
import { EarlyStopping, type EarlyStoppingState } from './early_stopping';
import type { StallJudgement } from '../forecast/stopping';
import { distillSettingsProblems, type DistillationRecord, type Distillation } from '../distill/settings';
import { teacherProblems } from '../distill/teacher';
import { Evaluator, type Evaluation } from './evaluate';
import { inferenceMsPerSample } from './inference_time';
import { runCheckpoint } from './run_checkpoint';
import { trainStep } from './step';
import { emaDecayProblem, TRAIN_WEIGHTS_PREFIX, WeightEma, withWeights } from './ema';
import { averageBestProblem, BestWeights, type KeptEpoch, type KeptSlot } from './average';

export { resumeStateFrom } from './run_checkpoint';

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

/**
 * Where a resumed trainer starts: the checkpoint's state and tensors, the best checkpoint's tensors
 * (restoreBest), and the weight sets averageBest had kept (each with its slot, epoch and metric).
 */
export interface TrainerResume {
  state: TrainState;
  tensors: Record<string, StTensor>;
  best?: Record<string, StTensor>;
  kept?: (KeptSlot & { tensors: Record<string, StTensor> })[];
}

export interface TrainHooks {
  onStep?: (s: StepMetrics) => void;
  // stopping: the plateau-aware judgement of an evaluated epoch without improvement (forecast/stopping.ts), else null
  onEpoch?: (
    m: EpochMetrics,
    // kept: averageBest took this epoch's weights into that slot (the caller stores the set with the epoch's checkpoint)
    info: { improved: boolean; stop: boolean; earlyStopping: EarlyStoppingState; stopping: StallJudgement | null; kept?: KeptSlot | null },
  ) => Promise<void> | void;
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
  private readonly evaluator: Evaluator;
  readonly ema: WeightEma | null = null; // emaDecay > 0: the average validation, best and checkpoints use (ema.ts)
  private readonly bestSets: BestWeights | null = null; // averageBest > 0: the N best evaluated weight sets (average.ts)
  private ended = false; // the run finished: the model holds its final weights (best, or the average)
  private trainedAtEnd: Map<string, tf.Tensor> | null = null; // EMA runs that ended: the trained weights, for a checkpoint's train.model.… (resume stays exact)

  constructor(
    readonly meta: DatasetMeta,
    samples: SampleRecord[] | SampleSource,
    readonly config: TrainConfig,
    resume?: TrainerResume,
    distill?: Distillation,
  ) {
    const augmentBad = augmentProblems(config.augment);
    if (augmentBad.length) throw new Error(`training settings: ${augmentBad.join('; ')}`);
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
      if (this.model.outFrames(s.frames) < ctcMinFrames(ids as number[])) {
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
    const avgProblem = emaDecayProblem(config.emaDecay) ?? (config.averageBest !== 0 ? averageBestProblem(config.averageBest, this.model.paramCount()) : null);
    if (avgProblem) {
      this.model.dispose();
      this.optimizer.dispose();
      throw new Error(avgProblem);
    }
    if (config.emaDecay > 0) this.ema = new WeightEma(this.model.params, config.emaDecay);
    if (config.averageBest > 0) this.bestSets = new BestWeights(config.averageBest);
    try {
      for (const k of resume?.kept ?? []) this.bestSets?.restore(k, k.tensors, this.model.params);
    } catch (e) {
      this.dispose();
      throw e;
    }
    this.early = new EarlyStopping(
      { patience: config.patience, minDelta: config.minDelta, monitor: config.monitor, restoreBest: config.restoreBest },
      resume?.state.earlyStopping,
    );
    this.state = resume ? { ...resume.state, history: [...resume.state.history] } : { epoch: 0, step: 0, earlyStopping: this.early.state, history: [] };
    this.state.earlyStopping = this.early.state;
    if (resume) this.load(resume.tensors);
    if (resume?.best && config.restoreBest) this.loadBest(resume.best);
    this.evaluator = new Evaluator(this.model, this.source, meta, this.index, distill?.teacher ?? null);
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
    // EMA runs: "model.…" is the average, "train.model.…" the trained weights (a checkpoint without them: the average starts at its weights).
    const trained = this.ema && Object.hasOwn(tensors, TRAIN_WEIGHTS_PREFIX + [...this.model.params.keys()][0]);
    this.model.loadTensors(trained ? Object.fromEntries([...this.model.params.keys()].map((n) => [n, tensors[TRAIN_WEIGHTS_PREFIX + n]])) : tensors);
    this.ema?.load(tensors);
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
      const d = this.distill;
      const lr = this.lr();
      const {
        loss,
        gradNorm: gn,
        kd: kdv,
        applied: finite,
      } = await trainStep(
        this.model,
        this.optimizer,
        group.map((b, k) => () => {
          const t = augmentedBatchTensors(this.model, b, c.augment, { seed: c.seed, epoch, batch: i + k, batchSize: c.batchSize }); // ../augment/: off = batchTensors
          return { t, dropoutSeed: c.seed * 7919 + this.state.step * 131 + k, teacherLogits: d ? d.teacher.logits(t, teacherGroup[k]) : null };
        }),
        {
          lr,
          clipNorm: c.clipNorm,
          distill: d?.settings,
          whileRunning: () => {
            // Prefetch: the next step's batches are read and assembled while the GPU runs this one.
            next = i + A < batches.length ? assemble(i + A) : Promise.resolve([]);
            nextTeacher = i + A < batches.length ? teach(i + A) : Promise.resolve([]);
          },
        },
      );
      if (finite) {
        this.ema?.update(this.model.params);
        lossSum += loss;
        lossCount++;
        normSum += gn;
        if (this.distill) kdSum += kdv!;
      } else {
        skipped++; // a non-finite batch never reaches the weights
      }
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

  /** Validation of the model as it is now (evaluate.ts); by default on the run's val samples. */
  evaluate(samples = this.val, batchSize = 16): Promise<Evaluation | null> {
    const run = () => this.evaluator.evaluate(samples, batchSize);
    return this.ema && !this.ended ? this.ema.swapped(this.model.params, run) : run();
  }

  /** The weights validation measures: the EMA while it runs, else the model's. */
  private get measured(): Map<string, tf.Variable> {
    return this.ema && !this.ended ? this.ema.average : this.model.params;
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
        stop = false,
        stopping: StallJudgement | null = null,
        kept: KeptSlot | null = null;
      if (ev) {
        ({ improved, stop, judgement: stopping } = this.early.update(epoch, c.monitor === 'val_wer' ? ev.wer : ev.loss, this.state.history));
        if (improved && c.restoreBest) this.keepBest();
        kept = this.bestSets?.offer(epoch, c.monitor === 'val_wer' ? ev.wer : ev.loss, this.measured) ?? null;
      }
      await hooks.onEpoch?.(m, { improved, stop, earlyStopping: { ...this.early.state }, stopping, kept });
      if (stop) {
        this.finish();
        return { reason: this.early.reason(stopping) };
      }
      if (hooks.shouldStop?.()) return { reason: `stopped by the user after epoch ${epoch}` };
    }
    this.finish();
    return { reason: `finished ${c.epochs} epochs` };
  }

  private keepBest(): void {
    if (this.best) tf.dispose([...this.best.values()]);
    this.best = new Map([...this.measured].map(([k, v]) => [k, tf.clone(v)]));
  }

  /** The run's end: the model takes its final weights (the best epoch's with restoreBest, else the EMA when on). */
  private finish(): void {
    if (this.ema) this.trainedAtEnd = new Map([...this.model.params].map(([k, v]) => [k, tf.clone(v)]));
    if (this.config.restoreBest && this.best) this.restoreBestIfSet();
    else if (this.ema) for (const [k, v] of this.model.params) v.assign(this.ema.average.get(k)!);
    this.ended = true;
  }

  /** The epochs the averaged model is made of, best first (averageBest; empty when off or none evaluated). */
  get averagedEpochs(): KeptEpoch[] {
    return this.bestSets?.epochs ?? [];
  }

  /** averageBest: the kept weight sets' slots, best first (what a checkpoint's run record lists). */
  get keptSlots(): KeptSlot[] {
    return this.bestSets?.slots ?? [];
  }

  /** averageBest: the weight set kept in `slot`, as the file a resumed run restores it from. */
  keptBytes(slot: number): Promise<Uint8Array> {
    if (!this.bestSets) throw new Error('this run keeps no weight sets (averageBest is off)');
    return this.bestSets.bytes(slot);
  }

  /**
   * averageBest: the mean of the N best evaluated weight sets, evaluated on the val samples and as a
   * checkpoint (its "model.…" tensors the mean; the rest this run's); null when off or none was kept.
   */
  async averagedCheckpoint(datasetName: string): Promise<{ bytes: Uint8Array; evaluation: Evaluation | null; epochs: KeptEpoch[] } | null> {
    const avg = this.bestSets?.average();
    if (!avg) return null;
    try {
      const epochs = this.averagedEpochs;
      return await withWeights(this.model.params, avg, async () => {
        const evaluation = await this.evaluator.evaluate(this.val);
        const bytes = runCheckpoint(
          {
            ...this.runParts(),
            weights: avg,
            averaged: { epochs: epochs.map((e) => e.epoch), valWer: evaluation?.wer ?? null, valLoss: evaluation?.loss ?? null },
          },
          datasetName,
        );
        return { bytes: await bytes, evaluation, epochs };
      });
    } finally {
      tf.dispose([...avg.values()]);
    }
  }

  private restoreBestIfSet(): void {
    if (!this.config.restoreBest || !this.best) return;
    for (const [k, v] of this.model.params) v.assign(this.best.get(k)!);
  }

  /** The run as a checkpoint (docs/ARCHITECTURE.md "Checkpoint format"; run_checkpoint.ts). */
  checkpoint(datasetName: string): Promise<Uint8Array> {
    return runCheckpoint(this.runParts(), datasetName);
  }

  private runParts() {
    return {
      model: this.model,
      optimizer: this.optimizer,
      meta: this.meta,
      config: this.config,
      state: this.state,
      earlyStopping: this.early.state,
      distillation: this.distillRecord(),
      ema: this.ema,
      trained: this.trainedAtEnd ?? undefined,
    };
  }

  /** Inference time of a model (this student by default, or a teacher) in ms per sample on the val samples (inference_time.ts). */
  inferenceMsPerSample(model: SequenceModel = this.model, maxSamples = 64, batchSize = 16): Promise<number | null> {
    return inferenceMsPerSample(model, { source: this.source, meta: this.meta, index: this.index }, this.val, maxSamples, batchSize);
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
    this.ema?.dispose();
    this.bestSets?.dispose();
    if (this.trainedAtEnd) tf.dispose([...this.trainedAtEnd.values()]);
  }
}
