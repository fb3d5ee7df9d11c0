// The speed report's measurements (issue #20 part 3; the report itself is speed.ts): one profiled
// training step split into stages, the device's own matmul and dispatch rates (once per session),
// and the FLOPs of the options the advice weighs.
//
// The profiled step is a probe beside training, not one of its steps: it runs on the run's model
// with a batch of median length and updates a scratch copy of the weights and optimizer state, so
// the run's weights, optimizer, RNG and checkpoints are untouched (a resumed run still repeats the
// uninterrupted one exactly). Two passes:
//   1. timers: each stage awaited and the queue drained before the next (only on this probe, so
//      normal steps are not slowed): data (read + makeBatch), upload, forward, CTC, the taped
//      forward + CTC + backward (backward = it − forward − CTC), optimiser (norm, clipping, update),
//      read-back (the step's one read). Dispatches counted, activation bytes taken inside the tape.
//   2. where the adapter offers 'timestamp-query': the same step under tf.time, nested per stage
//      (tfjs-backend-webgpu times every program with timestamp queries), for the GPU time per stage.
//      Missing or failing queries leave the timers' result (the note says which and why).
// Gradient accumulation: one micro-batch is profiled; its stages × A make the step.

import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { makeBatch, tokenIndex } from '../../data/batch';
import type { DatasetMeta, HistoryRow } from '../../data/types';
import type { SampleInfo, SampleSource } from '../../data/source';
import { ctcMinFrames } from '../../lib/ctc_frames';
import { throwOnGpuErrors } from '../backend';
import { ctcLoss } from '../ctc/ctc_loss';
import { watchDispatches } from '../dispatches';
import { forecast } from '../forecast/fit';
import type { SequenceModel } from '../model/model';
import { subsamplingOf } from '../model/presets';
import { modelConfig, type ModelConfig } from '../model/registry';
import { paramShapes } from '../model/shapes';
import { Adam } from '../optim/adam';
import { globalNorm } from '../optim/norm';
import { Sgd } from '../optim/sgd';
import { batchTensors, disposeBatchTensors, type BatchTensors } from './batch_tensors';
import type { TrainConfig } from './config';
import { speedReport, STAGES, type Candidates, type DeviceRates, type SpeedReport, type Stage, type StepProfile, type TargetEta } from './speed';

const now = () => performance.now();
const zeroStages = (): Record<Stage, number> => Object.fromEntries(STAGES.map((s) => [s, 0])) as Record<Stage, number>;

/** Waits until the work queued so far has run: the WebGPU queue drained, or a one-element read of `t` elsewhere (cpu: ops are synchronous). */
async function settle(t?: tf.Tensor): Promise<void> {
  if (tf.getBackend() === 'webgpu') {
    const be = tf.backend() as WebGPUBackend;
    // As the backend's own read does: end the open compute pass, then submit what is recorded.
    be.ensureCommandEncoderReady();
    be.endComputePassEncoder();
    be.submitQueue();
    await be.device.queue.onSubmittedWorkDone();
    return;
  }
  if (t && tf.getBackend() !== 'cpu') {
    const one = tf.tidy(() => tf.slice(tf.reshape(t, [-1]), 0, 1));
    await one.data();
    one.dispose();
  }
}

/** The batch's tensors on the device now (tfjs uploads lazily, at first use). */
function upload(t: BatchTensors): void {
  if (tf.getBackend() !== 'webgpu') return;
  const be = tf.backend() as WebGPUBackend;
  for (const x of [t.x, t.mask, t.labels, t.xl, t.yl]) be.uploadToGPU(x.dataId);
}

/** A scratch copy of the parameters (sharing their data until assigned) and a fresh optimizer of the run's kind over them. */
function scratchOptimizer(model: SequenceModel, optimizer: Adam | Sgd): { params: Map<string, tf.Variable>; opt: Adam | Sgd; dispose: () => void } {
  const params = new Map([...model.params].map(([k, v]) => [k, tf.variable(v, false)]));
  const opt = optimizer instanceof Sgd ? new Sgd(params, { ...optimizer.config }) : new Adam(params, { ...optimizer.config });
  return { params, opt, dispose: () => (opt.dispose(), tf.dispose([...params.values()])) };
}

export interface ProbeInput {
  model: SequenceModel;
  optimizer: Adam | Sgd;
  load: () => Promise<{ batch: ReturnType<typeof makeBatch> }>; // the data stage: storage read + batch assembly
  microBatches: number; // the run's accumulation steps
  lr: number;
  clipNorm: number;
  dropoutSeed: number;
}

/** Pass 1: timers around awaited stages (see the header). One micro-batch; stages × A for the step. */
async function timedPass(p: ProbeInput): Promise<Omit<StepProfile, 'method' | 'note' | 'gpuMs'>> {
  const { model } = p;
  const A = p.microBatches;
  const w = zeroStages();
  let t0 = now();
  const { batch } = await p.load();
  w.data = now() - t0;
  t0 = now();
  const bt = batchTensors(model, batch);
  upload(bt);
  await settle(bt.x);
  w.upload = now() - t0;
  const vars = [...model.params.values()];
  const byTfName = new Map([...model.params].map(([name, v]) => [v.name, name]));
  const scratch = scratchOptimizer(model, p.optimizer);
  const dispatches = watchDispatches();
  try {
    // Forward and CTC alone, each drained: their wall times.
    t0 = now();
    const logits = model.apply(bt, true, p.dropoutSeed);
    await settle(logits);
    w.forward = now() - t0;
    t0 = now();
    const l0 = ctcLoss(logits, bt.labels, bt.xl, bt.yl);
    await settle(l0);
    w.ctc = now() - t0;
    tf.dispose([logits, l0]);
    // The step as training runs it (step.ts), counted from here.
    const counted = dispatches.count.total;
    const before = tf.memory().numBytes;
    let activationBytes = 0;
    t0 = now();
    const { value, grads } = tf.variableGrads(() => {
      const lg = model.apply(bt, true, p.dropoutSeed);
      const loss = tf.div(ctcLoss(lg, bt.labels, bt.xl, bt.yl), A) as tf.Scalar;
      activationBytes = tf.memory().numBytes - before; // what the tape keeps for the backward
      return loss;
    }, vars);
    await settle(value);
    w.backward = Math.max(0, now() - t0 - w.forward - w.ctc);
    const microDispatches = dispatches.count.total - counted;
    t0 = now();
    const norm = globalNorm(Object.values(grads));
    await settle(norm);
    w.optimizer = now() - t0;
    t0 = now();
    const head = tf.stack([value, norm]);
    const [, gn] = (await head.data()) as Float32Array;
    w.readback = now() - t0;
    t0 = now();
    const scale = p.clipNorm > 0 && gn > p.clipNorm ? p.clipNorm / gn : 1;
    tf.tidy(() => {
      const named: Record<string, tf.Tensor> = {};
      for (const [tfName, g] of Object.entries(grads)) named[byTfName.get(tfName)!] = scale === 1 ? g : tf.mul(g, scale);
      scratch.opt.apply(scratch.params, named, p.lr);
    });
    await settle(scratch.params.values().next().value);
    w.optimizer += now() - t0;
    const restDispatches = dispatches.count.total - counted - microDispatches;
    tf.dispose([value, norm, head, ...Object.values(grads)]);
    // A micro-batches per step: the micro-batch stages repeat, the optimiser and the read-back do not.
    for (const s of ['data', 'upload', 'forward', 'ctc', 'backward'] as const) w[s] *= A;
    const paramBytes = 4 * model.paramCount();
    const webgpu = tf.getBackend() === 'webgpu';
    return {
      wallMs: w,
      microBatches: A,
      batch: { B: batch.B, T: batch.T },
      // A micro-batches' forward + CTC + backward, then the step's norm, read and update.
      dispatches: webgpu ? A * microDispatches + restDispatches : null,
      dispatchesPerMicroBatch: webgpu ? microDispatches : null,
      flops: 3 * A * Array.from(batch.frames).reduce((a, f) => a + model.forwardFlops(f), 0),
      activationBytes: Math.max(0, activationBytes),
      paramBytes,
      slotBytes: paramBytes * (p.optimizer instanceof Sgd ? 1 : 2),
    };
  } finally {
    dispatches.stop();
    scratch.dispose();
    disposeBatchTensors(bt);
  }
}

type TimingInfo = Awaited<ReturnType<typeof tf.time>>;

/** Pass 2: GPU time per stage from timestamp queries (tf.time on the webgpu backend), same batch and step. */
async function gpuPass(p: ProbeInput): Promise<Record<Stage, number>> {
  const { model } = p;
  const A = p.microBatches;
  const { batch } = await p.load();
  const bt = batchTensors(model, batch);
  const vars = [...model.params.values()];
  const byTfName = new Map([...model.params].map(([name, v]) => [v.name, name]));
  const scratch = scratchOptimizer(model, p.optimizer);
  const held: tf.Tensor[] = [];
  try {
    let fwd: Promise<TimingInfo> | null = null;
    let ctc: Promise<TimingInfo> | null = null;
    let grads: Record<string, tf.Tensor> = {};
    let value: tf.Scalar | null = null;
    // tf.time runs its function at once (the timing resolves later), so the nested timers split the taped
    // step; tfjs-backend-webgpu leaves a nested timer's programs out of the outer one's kernelMs.
    const taped = tf.time(() => {
      const r = tf.variableGrads(() => {
        let lg: tf.Tensor3D | null = null;
        let loss: tf.Scalar | null = null;
        fwd = tf.time(() => void (lg = model.apply(bt, true, p.dropoutSeed)));
        ctc = tf.time(() => void (loss = tf.div(ctcLoss(lg!, bt.labels, bt.xl, bt.yl), A) as tf.Scalar));
        return loss!;
      }, vars);
      grads = r.grads;
      value = r.value;
    });
    held.push(value!, ...Object.values(grads));
    let norm: tf.Scalar | null = null;
    const normT = tf.time(() => void (norm = globalNorm(Object.values(grads))));
    held.push(norm!);
    let head: tf.Tensor | null = null;
    const readT = tf.time(() => void (head = tf.stack([value!, norm!])));
    held.push(head!);
    const [, gn] = (await head!.data()) as Float32Array;
    const scale = p.clipNorm > 0 && gn > p.clipNorm ? p.clipNorm / gn : 1;
    const applyT = tf.time(() =>
      tf.tidy(() => {
        const named: Record<string, tf.Tensor> = {};
        for (const [tfName, g] of Object.entries(grads)) named[byTfName.get(tfName)!] = scale === 1 ? g : tf.mul(g, scale);
        scratch.opt.apply(scratch.params, named, p.lr);
      }),
    );
    const [all, f, c, n, r, a] = await Promise.all([taped, fwd!, ctc!, normT, readT, applyT]);
    const ms = (x: TimingInfo) => {
      if (typeof x.kernelMs !== 'number' || !Number.isFinite(x.kernelMs)) throw new Error(`the backend gave no kernel time (${JSON.stringify(x.kernelMs)})`);
      return x.kernelMs;
    };
    throwOnGpuErrors('the speed profile');
    const g = zeroStages();
    g.forward = A * ms(f);
    g.ctc = A * ms(c);
    g.backward = A * ms(all); // a nested timer's programs are its own: the outer one times the rest, the backward
    g.optimizer = ms(n) + ms(a);
    g.readback = ms(r);
    return g;
  } finally {
    tf.dispose(held);
    scratch.dispose();
    disposeBatchTensors(bt);
  }
}

/** One profiled step: timers always; GPU time per stage where timestamp queries work (see the header). */
export async function profileStep(p: ProbeInput, opts: { timestamps?: boolean } = {}): Promise<StepProfile> {
  const timed = await timedPass(p);
  const timers = 'wall time per stage from timers around awaited stages (the queue drained between stages on this profiled step only)';
  if (tf.getBackend() !== 'webgpu')
    return { ...timed, method: 'timers', note: `${timers}; the ${tf.getBackend()} backend has no timestamp queries`, gpuMs: null };
  const be = tf.backend() as WebGPUBackend;
  if (!be.device.features.has('timestamp-query') || opts.timestamps === false) {
    return { ...timed, method: 'timers', note: `${timers}; this WebGPU adapter does not offer 'timestamp-query'`, gpuMs: null };
  }
  try {
    const gpuMs = await gpuPass(p);
    return { ...timed, method: 'timestamp-query', note: `${timers}; GPU time per stage from WebGPU timestamp queries`, gpuMs };
  } catch (e) {
    // Never breaks training: the timers' result stands.
    console.warn(`[ctc-lab] speed profile: timestamp queries failed, timers only (${e instanceof Error ? e.message : String(e)})`);
    return { ...timed, method: 'timers', note: `${timers}; timestamp queries failed (${e instanceof Error ? e.message : String(e)})`, gpuMs: null };
  }
}

let rates: { backend: string; rates: DeviceRates } | null = null;

/**
 * The device's own matmul rate and the cost of an empty dispatch, measured once per session (per
 * backend): a square float32 matmul from `minN` (512: smaller ones measure launch overhead, not
 * arithmetic — at 128² SwiftShader's rate gave MFUs above 100%) grown until one takes ≥ 10 ms (at
 * most 2048), timed over repeats to ≥ 50 ms; 64 tiny adds queued back to back.
 */
export async function deviceRates(minN = 512): Promise<DeviceRates> {
  if (rates?.backend === tf.getBackend()) return rates.rates;
  const timeMatmuls = async (a: tf.Tensor2D, reps: number): Promise<number> => {
    const t0 = now();
    let c: tf.Tensor2D | null = null;
    for (let i = 0; i < reps; i++) {
      c?.dispose();
      c = tf.matMul(a, a);
    }
    await settle(c!);
    const one = tf.slice(c!, [0, 0], [1, 1]);
    await one.data();
    tf.dispose([c!, one]);
    return now() - t0;
  };
  let n = minN;
  let a = tf.randomNormal([n, n]) as tf.Tensor2D;
  await timeMatmuls(a, 1); // compile
  let ms = await timeMatmuls(a, 1);
  while (ms < 10 && n < 2048) {
    a.dispose();
    n *= 2;
    a = tf.randomNormal([n, n]) as tf.Tensor2D;
    await timeMatmuls(a, 1);
    ms = await timeMatmuls(a, 1);
  }
  const reps = Math.max(1, Math.min(20, Math.ceil(50 / Math.max(ms, 1e-3))));
  ms = await timeMatmuls(a, reps);
  a.dispose();
  const matmulFlops = (2 * n ** 3 * reps) / (ms / 1000);
  // Empty dispatches: a chain of tiny adds (one program each on WebGPU).
  const chain = async (k: number) => {
    let x: tf.Tensor = tf.scalar(0);
    const t0 = now();
    for (let i = 0; i < k; i++) {
      const y = tf.add(x, 1);
      x.dispose();
      x = y;
    }
    await settle(x);
    await x.data();
    x.dispose();
    return now() - t0;
  };
  await chain(4);
  const dispatchMs = Math.max(0, (await chain(65)) - (await chain(1))) / 64;
  rates = { backend: tf.getBackend(), rates: { matmulFlops, matmulN: n, dispatchMs } };
  return rates.rates;
}

/**
 * FLOPs of one sample under another model config, by the model's own `forwardFlops` (it reads
 * only the config, the subsampling and outFrames, never the weights), without building the model.
 */
export function flopsAs(model: SequenceModel, config: ModelConfig, frames: number): number {
  const proto = Object.getPrototypeOf(model) as SequenceModel;
  const other = Object.create(proto, {
    config: { value: config },
    subsampling: { value: subsamplingOf({ preset: config.preset, subsampling: config.preset === 'tcn' ? config.subsampling : undefined }) },
  }) as SequenceModel;
  return other.forwardFlops(frames);
}

/** The training split as the trainer takes it (tokens in the vocabulary, CTC-feasible at the model's rate, maxTrainSamples). */
export function trainableInfos(
  infos: SampleInfo[],
  index: Map<string, number>,
  model: SequenceModel,
  maxTrainSamples: number,
): { info: SampleInfo; ids: number[] }[] {
  const out: { info: SampleInfo; ids: number[] }[] = [];
  for (const s of infos) {
    if (s.split !== 'train') continue;
    const ids = s.text.split(' ').map((t) => index.get(t));
    if (ids.some((i) => i === undefined)) continue;
    if (model.outFrames(s.frames) < ctcMinFrames(ids as number[])) continue;
    out.push({ info: s, ids: ids as number[] });
  }
  return maxTrainSamples > 0 ? out.slice(0, maxTrainSamples) : out;
}

/** Samples that would be CTC-infeasible at ×4 subsampling (T' = ceil(ceil(T/2)/2)). */
export function infeasibleAt4(train: { info: SampleInfo; ids: number[] }[]): { count: number; examples: string[] } {
  const bad = train.filter(({ info, ids }) => Math.ceil(Math.ceil(info.frames / 2) / 2) < ctcMinFrames(ids));
  return {
    count: bad.length,
    examples: bad.slice(0, 3).map(({ info, ids }) => `${info.id}: ${Math.ceil(Math.ceil(info.frames / 2) / 2)} frames < ${ctcMinFrames(ids)} needed`),
  };
}

/** B samples around the median length (the profiled batch). */
export function medianBatch(train: { info: SampleInfo }[], B: number): SampleInfo[] {
  const sorted = train.map((x) => x.info).sort((a, b) => a.frames - b.frames);
  const n = Math.min(B, sorted.length);
  const from = Math.max(0, Math.min(sorted.length - n, (sorted.length >> 1) - (n >> 1)));
  return sorted.slice(from, from + n);
}

/** What the report needs of a run (the Trainer has all of it). */
export interface ProfiledRun {
  model: SequenceModel;
  optimizer: Adam | Sgd;
  config: TrainConfig;
  meta: DatasetMeta;
  stepsPerEpoch: number;
  trainCount: number;
  state: { step: number; epoch: number; history: HistoryRow[]; position?: { batch: number } };
  lr(): number;
}

/**
 * The speed report of a run now: a profiled step on its model, the device's rates, the options'
 * FLOPs, and the projection (with the forecast's target epoch when the config has a target WER).
 * stepMs: the run's measured step time (mean of recent steps), null before there are some.
 */
export async function measureRunSpeed(
  run: ProfiledRun,
  source: SampleSource,
  stepMs: number | null,
  opts: { timestamps?: boolean; matmulMinN?: number } = {}, // matmulMinN: deviceRates' first size (tests on the cpu backend: small)
): Promise<SpeedReport> {
  const { model, config: c, meta } = run;
  const index = tokenIndex(meta.vocab);
  const train = trainableInfos(source.infos, index, model, c.maxTrainSamples);
  if (train.length === 0) throw new Error('speed profile: no trainable samples in the training split');
  const picked = medianBatch(train, c.batchSize);
  const profile = await profileStep(
    {
      model,
      optimizer: run.optimizer,
      load: async () => ({ batch: makeBatch(await source.load(picked.map((s) => s.index)), meta, index) }),
      microBatches: c.accumulationSteps,
      lr: run.lr(),
      clipNorm: c.clipNorm,
      dropoutSeed: c.seed * 7919 + 17,
    },
    opts,
  );
  const device = await deviceRates(opts.matmulMinN);
  // The options' FLOPs on the profiled batch (× 3 for forward + backward, × micro-batches).
  const stepFlops = (cfg: ModelConfig) => 3 * c.accumulationSteps * picked.reduce((a, s) => a + flopsAs(model, cfg, s.frames), 0);
  const knobs = { preset: c.preset, channels: c.channels, layers: c.layers, hidden: c.hidden, heads: c.heads, dropout: c.dropout, subsampling: c.subsampling };
  const numClasses = meta.vocab.length + 1;
  const cfgOf = (k: Partial<typeof knobs>) => modelConfig({ ...knobs, ...k }, meta.featureDim, numClasses);
  // Halving must keep a transformer's d_model even and divisible by its heads.
  const halfC = Math.floor(c.channels / 2);
  const halfOk = halfC >= 8 && (c.preset !== 'transformer' || (halfC % 2 === 0 && halfC % c.heads === 0));
  const halfH = Math.max(8, Math.floor(c.hidden / 2));
  const half = c.preset === 'tconv-bilstm' ? { channels: halfC, hidden: halfH } : { channels: halfC };
  const studentLayers = Math.max(1, Math.ceil(c.layers / 2));
  const studentCfg = cfgOf({ ...half, layers: studentLayers });
  const candidates: Candidates = {
    halfChannels: halfOk ? { channels: halfC, flops: stepFlops(cfgOf(half)) } : null,
    fewerLayers: c.layers > 1 ? { layers: c.layers - 1, flops: stepFlops(cfgOf({ layers: c.layers - 1 })) } : null,
    subsample4: c.preset === 'tcn' && model.subsampling === 2 ? { flops: stepFlops(cfgOf({ subsampling: 4 })), infeasible: infeasibleAt4(train) } : null,
    student:
      halfOk && (studentLayers < c.layers || halfC < c.channels)
        ? {
            channels: halfC,
            layers: studentLayers,
            flops: stepFlops(studentCfg),
            params: [...paramShapes(studentCfg).values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0),
          }
        : null,
  };
  // The config's target val WER is in percent, 0 = none (the forecast takes a fraction).
  const targetPct = 'targetWer' in c && typeof c.targetWer === 'number' ? c.targetWer : 0;
  const targetWer = targetPct > 0 ? targetPct / 100 : null;
  let target: TargetEta | null = null;
  if (targetWer !== null) {
    const f = forecast(run.state.history, c.epochs, targetWer);
    if (f.kind === 'withheld') target = { kind: 'withheld', targetWer, message: f.message };
    else if (f.target?.kind === 'reached') target = { kind: 'reached', targetWer, epoch: f.target.epoch, lo: f.target.lo, hi: f.target.hi };
    else if (f.target?.kind === 'already') target = { kind: 'already', targetWer, epoch: f.target.epoch };
    else if (f.target?.kind === 'not-within') target = { kind: 'not-within', targetWer, plannedEpochs: f.plannedEpochs };
  }
  const A = c.accumulationSteps;
  return speedReport({
    profile,
    device,
    stepMs,
    run: {
      preset: c.preset,
      channels: c.channels,
      layers: c.layers,
      params: model.paramCount(),
      batchSize: c.batchSize,
      accumulationSteps: A,
      trainSamples: run.trainCount,
      stepsPerEpoch: run.stepsPerEpoch,
      epochsDone: run.state.epoch,
      stepsIntoEpoch: run.state.position ? Math.ceil(run.state.position.batch / A) : 0,
      plannedEpochs: c.epochs,
      evalEvery: c.evalEvery,
      epochSeconds: run.state.history.map((h) => h.seconds).filter((x): x is number => typeof x === 'number'),
    },
    candidates,
    memoryBudgetBytes: null,
    target,
  });
}

/** Profile schedule: after the warm-up steps (shaders compiled), then every `everyMs`, or when asked. */
export const SPEED_PROFILE = { firstAfterSteps: 3, everyMs: 10 * 60_000 };

export function profileDue(stepsThisSession: number, lastProfileAt: number | null, nowMs: number, requested: boolean): boolean {
  if (stepsThisSession < SPEED_PROFILE.firstAfterSteps) return false;
  return requested || lastProfileAt === null || nowMs - lastProfileAt >= SPEED_PROFILE.everyMs;
}
