// The trainer worker: owns TF.js, the GPU device and IndexedDB writes for long work. One per tab.

import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo } from '../engine/backend';
import { checkpointMeta, decodeCheckpoint, encodeCheckpoint } from '../engine/checkpoint/checkpoint';
import { diagnose, DIAGNOSE_DEFAULTS } from '../engine/diagnose/run';
import { TrainingDoctor } from '../engine/diagnose/doctor';
import type { SequenceModel } from '../engine/model/model';
import { createModel, modelConfig, parseModelConfig } from '../engine/model/registry';
import { knobsOf, presetSize } from '../engine/model/presets';
import { OVERFIT_DEFAULTS, overfitSamples, runOverfitTest } from '../engine/train/overfit';
import { generateDemo } from '../data/demo';
import { streamImport } from '../data/import';
import { stagingSink } from '../data/staging';
import { FLOAT16_MAX } from '../data/float16';
import { normalised } from '../data/norm';
import type { DatasetMeta } from '../data/types';
import * as store from '../data/store';
import type { CheckpointInfo, LabApi, TrainEvent, TrainOutcome } from './api';
import { TRAIN_DEFAULTS, type TrainConfig } from '../engine/train/config';
import { resumeStateFrom, Trainer } from '../engine/train/trainer';
import { ctcLabFileName } from './names';

let backend: BackendInfo | null = null;
const pending = new Map<string, { meta: DatasetMeta; staged: store.Encoding; release: () => void }>(); // staged imports awaiting the user's decision
let currentImport: AbortController | null = null;

const lockManager = () => (globalThis.navigator as Navigator & { locks?: LockManager }).locks;

/** Holds a Web Lock while an import is staged, so another tab's orphan cleanup leaves it alone. */
async function holdImportLock(id: string): Promise<() => void> {
  const locks = lockManager();
  if (!locks) return () => {};
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await new Promise<void>((acquired) => {
    void locks.request(`ctc-lab-import:${id}`, () => {
      acquired();
      return held;
    });
  });
  return release;
}

/** Removes samples of imports that a reload or crash interrupted (not those another tab is staging). */
async function cleanUpInterruptedImports(): Promise<void> {
  const locks = lockManager();
  const held = new Set((await locks?.query())?.held?.map((l) => l.name) ?? []);
  const orphans = await store.removeOrphanSamples((id) => held.has(`ctc-lab-import:${id}`));
  if (orphans.length) console.info(`[ctc-lab] removed the staged samples of ${orphans.length} interrupted import(s)`);
}
let stopRequested = false;
let busy = false;
let paused = false;
let unpauseWaiters: (() => void)[] = [];

/** Runs the trainer to its end, saving best/last checkpoints and the run record after every epoch. */
async function drive(trainer: Trainer, run: store.RunRecord, onEvent: (e: TrainEvent) => void): Promise<TrainOutcome> {
  const doctor = new TrainingDoctor();
  const save = async (improved: boolean) => {
    const bytes = (await trainer.checkpoint(run.datasetName)).buffer as ArrayBuffer;
    const base = { datasetId: run.datasetId, runId: run.id, createdAt: Date.now() };
    const cks: store.CheckpointRecord[] = [{ ...base, id: `${run.id}-last`, kind: 'last', fileName: ctcLabFileName(run, 'last', trainer.state.epoch), bytes }];
    if (improved) cks.push({ ...base, id: `${run.id}-best`, kind: 'best', fileName: ctcLabFileName(run, 'best', trainer.state.epoch), bytes });
    run.lastCheckpointId = `${run.id}-last`;
    if (improved) run.bestCheckpointId = `${run.id}-best`;
    run.history = trainer.state.history as unknown as store.RunRecord['history'];
    run.updatedAt = Date.now();
    await store.saveRunProgress(run, cks);
  };
  onEvent({ type: 'start', run, stepsPerEpoch: trainer.stepsPerEpoch, trainSamples: trainer.trainCount, valSamples: trainer.valCount, excluded: trainer.excluded.length, paramCount: trainer.model.paramCount(), preset: trainer.model.config.preset, subsampling: trainer.model.subsampling });
  let lastPost = 0;
  try {
    const { reason } = await trainer.run({
      shouldStop: () => stopRequested,
      waitWhilePaused: () => (paused ? new Promise<void>((r) => unpauseWaiters.push(r)) : Promise.resolve()),
      onStep: (st) => {
        const t = performance.now();
        if (t - lastPost > 100) {
          lastPost = t;
          onEvent({ type: 'step', step: st });
        }
      },
      onEpoch: async (m, info) => {
        await save(info.improved);
        onEvent({ type: 'epoch', metrics: m, improved: info.improved, earlyStopping: info.earlyStopping });
        const fired = doctor.observe({
          epoch: m.epoch, loss: m.trainLoss, wer: m.valWer, blankRate: m.blankRate, gradNorm: m.gradNorm,
          earlyStopping: info.stop || trainer.config.patience === 0 ? null : { counter: info.earlyStopping.counter, patience: trainer.config.patience },
        });
        if (fired.length) onEvent({ type: 'alerts', alerts: fired });
      },
    });
    run.status = reason.startsWith('early stopping') ? 'early-stopped' : reason.startsWith('stopped') ? 'stopped' : 'finished';
    run.reason = reason;
  } catch (e) {
    run.status = 'failed';
    run.reason = e instanceof Error ? e.message : String(e);
  }
  run.updatedAt = Date.now();
  await store.putRun(run);
  return { run, alerts: doctor.alerts };
}

/** Runs a GPU job if none is running in this tab (the overfit test, diagnostics, training). */
async function exclusive<T>(job: () => Promise<T>): Promise<T> {
  if (busy) throw new Error('the trainer is already running a job in this tab');
  busy = true;
  stopRequested = false;
  paused = false;
  try {
    return await job();
  } finally {
    busy = false;
  }
}

/** A training job: one at a time in this tab, one tab at a time (lock), trainer disposed at the end. */
async function trainingJob(
  setup: () => Promise<{ trainer: Trainer; run: store.RunRecord }>,
  onEvent: (e: TrainEvent) => void,
): Promise<TrainOutcome> {
  return exclusive(() =>
    withTrainingLock(async () => {
      await ready();
      const { trainer, run } = await setup();
      try {
        await store.putRun(run);
        return await drive(trainer, run, onEvent);
      } finally {
        trainer.dispose();
      }
    }),
  );
}

/** One training job per browser: a second tab is told so instead of both writing the same store. */
async function withTrainingLock<T>(job: () => Promise<T>): Promise<T> {
  const locks = lockManager();
  if (!locks) return job();
  return (await locks.request('ctc-lab-training', { ifAvailable: true }, async (lock) => {
    if (!lock) throw new Error('another tab of CTC Lab is training; only one tab can train at a time');
    return job();
  })) as T;
}

async function ready(): Promise<BackendInfo> {
  if (!backend) {
    await cleanUpInterruptedImports();
    backend = await initBackend();
  }
  return backend;
}

const api: LabApi = {
  async init() {
    return ready();
  },

  async describeModel(datasetId, knobs) {
    await ready();
    const meta = await store.getDataset(datasetId);
    const model = createModel(modelConfig(knobs, meta.featureDim, meta.vocab.length + 1), 1);
    try {
      return { preset: model.config.preset, paramCount: model.paramCount(), subsampling: model.subsampling };
    } finally {
      model.dispose();
    }
  },

  listDatasets: () => store.listDatasets(),

  async createDemoDataset(seed = 42) {
    return store.saveDataset(generateDemo({ seed }));
  },

  async analyseImport(files, name, subsampling, storage, onProgress) {
    if (currentImport) throw new Error('an import is already running in this tab');
    const id = store.newId('ds');
    const abort = new AbortController();
    currentImport = abort;
    const release = await holdImportLock(id);
    try {
      const sink = stagingSink(id, { encoding: storage });
      const { meta, report } = await streamImport(files, name, sink, {
        subsampling, onProgress: (p) => onProgress(p), signal: abort.signal, maxAbs: storage === 'float16' ? FLOAT16_MAX : Infinity,
      });
      await sink.flush();
      pending.set(id, { meta: { ...meta, id, createdAt: Date.now(), bytes: sink.bytes }, staged: storage, release });
      return { pendingId: id, report: { ...report, stagedAs: storage } };
    } catch (e) {
      await store.discardStaged(id);
      release();
      if (abort.signal.aborted) throw new Error('import aborted; nothing was stored');
      throw e;
    } finally {
      currentImport = null;
    }
  },

  abortImport() {
    currentImport?.abort();
  },

  async commitImport(pendingId, storage) {
    const p = pending.get(pendingId);
    if (!p) throw new Error('this import was cancelled or already stored; choose the files again');
    pending.delete(pendingId);
    try {
      return await store.commitStaged(p.meta, { staged: p.staged, storage });
    } catch (e) {
      await store.discardStaged(pendingId);
      throw e;
    } finally {
      p.release();
    }
  },

  async cancelImport(pendingId) {
    const p = pending.get(pendingId);
    pending.delete(pendingId);
    await store.discardStaged(pendingId);
    p?.release();
  },

  deleteDataset: (id) => store.deleteDataset(id),

  renameDataset: (id, name) => store.renameDataset(id, name),

  async getSample(datasetId, index) {
    const [meta, s] = await Promise.all([store.getDataset(datasetId), store.getSample(datasetId, index)]);
    const z = normalised(new Float32Array(s.features), meta.norm);
    return Comlink.transfer({ index, id: s.id, text: s.text, split: s.split, frames: s.frames, featureDim: meta.featureDim, normalised: z }, [z.buffer]);
  },

  runOverfitTest(datasetId, partial, onEpoch, onAlerts) {
    return exclusive(async () => {
      const be = await ready();
      const cfg = { ...OVERFIT_DEFAULTS, ...presetSize(partial.preset ?? OVERFIT_DEFAULTS.preset), ...partial };
      const meta = await store.getDataset(datasetId);
      const chosen = overfitSamples(await store.sampleInfos(datasetId), cfg.numSamples);
      const samples = await store.getSamples(datasetId, chosen.map((s) => s.index));
      let lastPost = 0;
      const doctor = new TrainingDoctor();
      const { result, model, optimizer } = await runOverfitTest(samples, meta, cfg, {
        shouldStop: () => stopRequested,
        onEpoch: (e) => {
          const fired = doctor.observe({ ...e, earlyStopping: null });
          if (fired.length) onAlerts(fired);
          // Throttle messages to the page (~20/s); the last epoch always arrives with the result.
          const t = performance.now();
          if (t - lastPost > 50) {
            lastPost = t;
            onEpoch(e);
          }
        },
      });
      try {
        const ckMeta = checkpointMeta({
          model: { ...model.config },
          subsampling: model.subsampling,
          vocab: meta.vocab,
          normalisation: meta.norm,
          training: {
            config: { mode: 'overfit', ...cfg, optimizer: 'adam', ...optimizer.config },
            state: { epoch: result.epochs, step: optimizer.step, seed: cfg.seed },
          },
          history: result.history.map((h) => ({ epoch: h.epoch, loss: h.loss, wer: h.wer, seconds: h.seconds })),
          dataset: { id: meta.id, name: meta.name },
        });
        const bytes = await encodeCheckpoint(new Map([...model.params, ...optimizer.slots]), ckMeta);
        const rec = await store.saveCheckpoint({
          datasetId,
          kind: 'overfit',
          fileName: `ctc-lab-overfit-${meta.name.replace(/[^A-Za-z0-9_-]+/g, '_')}-epoch${result.epochs}.safetensors`,
          bytes: bytes.buffer as ArrayBuffer,
          overfit: { passed: result.passed, epochs: result.epochs, seconds: result.seconds, finalLoss: result.finalLoss, finalWer: result.finalWer },
        });
        const { bytes: _b, ...checkpoint } = rec;
        return { result, checkpoint, preset: model.config.preset, paramCount: model.paramCount(), subsampling: model.subsampling, backend: be.name, alerts: doctor.alerts };
      } finally {
        model.dispose();
        optimizer.dispose();
      }
    });
  },

  runDiagnostics(datasetId, req) {
    return exclusive(async () => {
      let model: SequenceModel | null = null;
      try {
        const be = await ready();
        const meta = await store.getDataset(datasetId);
        const samples = await store.datasetSource(datasetId);
        let source = 'fresh model (untrained, seed 1)';
        let trainedSteps = 0;
        if (req.checkpointId) {
          const rec = await store.getCheckpoint(req.checkpointId);
          const { meta: ck, tensors } = decodeCheckpoint(rec.bytes, rec.fileName);
          const cfg = parseModelConfig(ck.model, rec.fileName);
          if (cfg.featureDim !== meta.featureDim || cfg.numClasses !== meta.vocab.length + 1) {
            throw new Error(`${rec.fileName}: the model takes ${cfg.featureDim} features and ${cfg.numClasses} classes; dataset "${meta.name}" has ${meta.featureDim} and ${meta.vocab.length + 1}`);
          }
          model = createModel(cfg, 1);
          model.loadTensors(tensors, rec.fileName);
          source = rec.fileName;
          trainedSteps = ck.training.state.step;
        } else {
          model = createModel(modelConfig({ preset: 'tcn', ...presetSize('tcn'), dropout: 0 }, meta.featureDim, meta.vocab.length + 1), 1);
        }
        const overfitRecs = (await store.listCheckpoints(datasetId)).filter((c) => c.kind === 'overfit' && c.overfit);
        const last = overfitRecs.at(-1);
        return await diagnose(model, meta, samples, {
          ...DIAGNOSE_DEFAULTS,
          patience: req.patience,
          minDelta: req.minDelta,
          maxEpochs: req.maxEpochs,
          overfit: last?.overfit ? { ...last.overfit, when: new Date(last.createdAt).toISOString() } : null,
          trainedSteps,
          modelSource: source,
          backend: be.name,
        });
      } finally {
        model?.dispose();
      }
    });
  },

  startTraining(datasetId, partial, onEvent) {
    return trainingJob(async () => {
      const cfg: TrainConfig = { ...TRAIN_DEFAULTS, ...partial };
      const meta = await store.getDataset(datasetId);
      const trainer = new Trainer(meta, await store.datasetSource(datasetId), cfg);
      const run: store.RunRecord = {
        id: store.newId('run'), datasetId, datasetName: meta.name, createdAt: Date.now(), updatedAt: Date.now(),
        config: { ...cfg }, status: 'running', reason: '', history: [], bestCheckpointId: null, lastCheckpointId: null,
      };
      return { trainer, run };
    }, onEvent);
  },

  resumeRun(runId, onEvent) {
    return trainingJob(async () => {
      const run = await store.getRun(runId);
      if (!run.lastCheckpointId) throw new Error(`run ${runId} has no checkpoint to resume from (it stopped before its first epoch ended)`);
      const rec = await store.getCheckpoint(run.lastCheckpointId);
      const { meta: ck, tensors } = decodeCheckpoint(rec.bytes, rec.fileName);
      const meta = await store.getDataset(run.datasetId);
      const trainer = new Trainer(meta, await store.datasetSource(run.datasetId), run.config as unknown as TrainConfig, { state: resumeStateFrom(ck), tensors });
      return { trainer, run: { ...run, status: 'running', reason: '' } };
    }, onEvent);
  },

  pause() {
    paused = true;
  },

  unpause() {
    paused = false;
    const w = unpauseWaiters;
    unpauseWaiters = [];
    w.forEach((r) => r());
  },

  listRuns: (datasetId) => store.listRuns(datasetId),

  async importCheckpoint(datasetId, file) {
    const bytes = await file.arrayBuffer();
    const { meta: ck, tensors } = decodeCheckpoint(bytes, file.name);
    const meta = await store.getDataset(datasetId);
    const cfg = { ...TRAIN_DEFAULTS, ...(ck.training.config as Partial<TrainConfig>) };
    const model = parseModelConfig(ck.model, file.name);
    if (model.featureDim !== meta.featureDim) throw new Error(`${file.name}: the model takes ${model.featureDim} features per frame; dataset "${meta.name}" has ${meta.featureDim}`);
    if (ck.vocab.length !== meta.vocab.length || ck.vocab.some((t, i) => t !== meta.vocab[i])) {
      const diff = ck.vocab.findIndex((t, i) => t !== meta.vocab[i]);
      throw new Error(`${file.name}: its vocabulary (${ck.vocab.length} tokens) differs from dataset "${meta.name}" (${meta.vocab.length} tokens), first at class ${diff + 1}: '${ck.vocab[diff] ?? '∅'}' vs '${meta.vocab[diff] ?? '∅'}'`);
    }
    // Trial-load into a model and optimizer of the recorded config: every tensor present and shaped right.
    const config: TrainConfig = { ...cfg, ...knobsOf(model) };
    const trial = new Trainer(meta, await store.datasetSource(datasetId), config, { state: resumeStateFrom(ck), tensors });
    trial.dispose();
    const run: store.RunRecord = {
      id: store.newId('run'), datasetId, datasetName: meta.name, createdAt: Date.now(), updatedAt: Date.now(),
      config: { ...config },
      status: 'stopped', reason: `imported from ${file.name} at epoch ${ck.training.state.epoch}`,
      history: resumeStateFrom(ck).history as unknown as store.RunRecord['history'],
      bestCheckpointId: null, lastCheckpointId: null,
    };
    run.lastCheckpointId = `${run.id}-last`;
    await store.saveRunProgress(run, [{ id: run.lastCheckpointId, datasetId, runId: run.id, kind: 'last', createdAt: Date.now(), fileName: file.name, bytes }]);
    return run;
  },

  stop() {
    stopRequested = true;
    if (paused) api.unpause();
  },

  listCheckpoints: (datasetId) => store.listCheckpoints(datasetId) as Promise<CheckpointInfo[]>,

  async getCheckpointBytes(id) {
    const rec = await store.getCheckpoint(id);
    return Comlink.transfer({ fileName: rec.fileName, bytes: rec.bytes }, [rec.bytes]);
  },
};

// Surfaces the number of live tensors for tests and the page's debug line.
(globalThis as unknown as { __tfMemory: () => tf.MemoryInfo }).__tfMemory = () => tf.memory();

Comlink.expose(api);
