// Full training in the worker: start, resume (after a reload, a stop or a crash) and checkpoint
// import as a resumable run. The last checkpoint is written with the run record in one transaction
// at every epoch's end (with the best one when it improved) and also mid-epoch: every
// checkpointMinutes, on pause and on stop, so a crash or reload loses minutes, not an epoch. A lost
// GPU device is replaced and the run resumes from its last checkpoint by itself (3 attempts). A run
// never outlives its dataset: deleting it in another tab stops the training cleanly.

import { deviceLost, NoGpuAdapterError } from '../engine/backend';
import { checkpointForDataset } from '../engine/checkpoint/fit';
import { parseRunRecord } from '../engine/checkpoint/schema';
import { TrainingDoctor } from '../engine/diagnose/doctor';
import { forecast } from '../engine/forecast/fit';
import { viewOf } from '../engine/forecast/view';
import { studentTrainer } from '../engine/distill/student';
import { distillationSummary } from '../engine/distill/summary';
import { importedRunConfig, isInterrupted, newRun, runAveraged, runProgress, trainerForRun } from '../engine/run/run';
import { TRAIN_DEFAULTS, type TrainConfig } from '../engine/train/config';
import { augmentActive } from '../engine/augment/settings';
import { resumeStateFrom, Trainer } from '../engine/train/trainer';
import type { KeptSlot } from '../engine/train/average';
import { measureRunSpeed, profileDue } from '../engine/train/profile';
import type { SampleSource } from '../data/source';
import { storedReads } from '../data/reads';
import * as store from '../data/store';
import type { RunRecord } from '../data/types';
import type { DamagedRun, RunInfo, TrainEvent, TrainOutcome, TrainingApi, TrialJudge, TrialRunner } from './api';
import { announce, onChange } from './changes';
import { control, exclusive, runLocksHeld, withRunLock, withTrainingLock } from './jobs';
import { ready, recover } from './runtime';

const MAX_GPU_RECOVERIES = 3;

let speedRequested = false; // the page asked for a speed profile of the running training (profileSpeed)

/** How a drive ended: with the run's outcome, or with the GPU device lost mid-run. */
type DriveEnd = { kind: 'done'; outcome: TrainOutcome } | { kind: 'device-lost'; error: string };

/**
 * Runs the trainer to its end. Checkpoints go through one queue, so a slower older write never
 * lands after a newer one; a mid-epoch one is a snapshot (encodeCheckpoint clones the tensors by
 * reference) written while training goes on.
 */
async function drive(trainer: Trainer, run: RunRecord, onEvent: (e: TrainEvent) => void, judge?: TrialJudge): Promise<DriveEnd> {
  const cfg = trainer.config;
  const targetWer = cfg.targetWer > 0 ? cfg.targetWer / 100 : null; // the config's percent, the forecast's fraction
  const doctor = new TrainingDoctor({
    optimizer: cfg.optimizer,
    clipNorm: cfg.clipNorm,
    targetWer,
    patience: cfg.patience,
    minDelta: cfg.minDelta,
    monitor: cfg.monitor,
    evalEvery: cfg.evalEvery,
    augment: augmentActive(cfg.augment),
  });
  let queue: Promise<void> = Promise.resolve();
  let saveError: unknown = null;
  let datasetGone = false;
  let judged: string | null = null; // a sweep's trial: why the sweep stopped it after an epoch (judge)
  let savedStep = trainer.state.step;
  let lastSave = performance.now();
  const everyMs = trainer.config.checkpointMinutes * 60_000;
  // Step end times, to measure what a checkpoint costs training: the 3 steps after it (they run
  // while it is read back and written) against the median of the 20 steps before it.
  const stepEnds: number[] = [];
  let probe: { step: number; median: number; last: number; steps: number[] } | null = null;
  const unwatch = onChange((c) => {
    if (c.kind === 'dataset-deleted' && c.datasetId === run.datasetId) datasetGone = true;
  });
  // Speed report (engine/train/profile.ts): a profiled probe step after the warm-up steps, then every
  // 10 minutes or on request. Step times between two steps (no epoch end, pause or probe in between)
  // give the measured step time. A failed profile is reported and training goes on.
  const speed = { steps: 0, last: null as number | null, prevEnd: null as number | null, gaps: [] as number[], source: null as SampleSource | null };
  const profileSpeed = async (): Promise<void> => {
    speedRequested = false;
    speed.last = performance.now();
    try {
      speed.source ??= await store.datasetSource(run.datasetId);
      const g = speed.gaps.slice(-20);
      const report = await measureRunSpeed(trainer, speed.source, g.length >= 2 ? g.reduce((a, b) => a + b, 0) / g.length : null);
      console.info(
        `[ctc-lab] speed profile at step ${trainer.state.step} (${report.method}): ${report.stages.map((x) => `${x.stage} ${x.ms.toFixed(1)}`).join(', ')} ms`,
      );
      onEvent({ type: 'speed', report, error: null });
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      console.warn(`[ctc-lab] speed profile failed (training goes on): ${error}`);
      onEvent({ type: 'speed', report: null, error });
    }
    speed.prevEnd = null; // the next step's time does not include the probe
  };

  /** Takes the checkpoint now (the caller is between two steps) and queues its write; returns when written. */
  const save = (improved: boolean, midEpoch: boolean, kept: KeptSlot | null = null): Promise<void> => {
    const t0 = performance.now();
    const bytesP = trainer.checkpoint(run.datasetName);
    const keptP = kept ? trainer.keptBytes(kept.slot) : null; // averageBest took this epoch's weights: stored with the checkpoint
    const keptAll = trainer.keptSlots;
    const heldMs = performance.now() - t0; // what this snapshot held training up by (metadata + clones)
    const { epoch, step } = trainer.state;
    const before = stepEnds.slice(-21);
    const gaps = before
      .slice(1)
      .map((t, i) => t - before[i])
      .sort((a, b) => a - b);
    if (midEpoch && gaps.length >= 5) probe = { step, median: gaps[gaps.length >> 1], last: t0, steps: [] };
    const history = [...trainer.state.history];
    savedStep = step;
    lastSave = performance.now();
    queue = queue.then(async () => {
      const bytes = (await bytesP).buffer as ArrayBuffer;
      const keptSet = kept && keptP ? { set: kept, bytes: (await keptP).buffer as ArrayBuffer, all: keptAll } : undefined;
      const { run: next, checkpoints: cks } = runProgress(run, { bytes, epoch, step, midEpoch, improved, history, kept: keptSet });
      await store.saveRunProgress(next, cks);
      Object.assign(run, next);
      announce({ kind: 'runs', datasetId: run.datasetId });
      console.info(
        `[ctc-lab] checkpoint at step ${step} (epoch ${epoch}${midEpoch ? ', mid-epoch' : ''}): training held ${heldMs.toFixed(1)} ms, written ${(performance.now() - t0).toFixed(0)} ms after, ${(bytes.byteLength / 2 ** 20).toFixed(2)} MB`,
      );
      onEvent({ type: 'saved', step, epoch, midEpoch, heldMs });
    });
    const written = queue;
    queue = queue.catch((e) => void (saveError ??= e)); // a failed write stops the run (shouldStop), reported below
    return written;
  };
  /** Mid-epoch: a snapshot when checkpointMinutes have passed since the last one. */
  const midEpochDue = () => everyMs > 0 && trainer.state.step !== savedStep && performance.now() - lastSave >= everyMs;

  onEvent({
    type: 'start',
    run,
    stepsPerEpoch: trainer.stepsPerEpoch,
    trainSamples: trainer.trainCount,
    valSamples: trainer.valCount,
    excluded: trainer.excluded.length,
    paramCount: trainer.model.paramCount(),
    preset: trainer.model.config.preset,
    subsampling: trainer.model.subsampling,
    resumedFrom: trainer.state.step > 0 ? { step: trainer.state.step, epoch: trainer.state.epoch, midEpoch: trainer.state.position !== undefined } : null,
  });
  let lastPost = 0;
  try {
    let { reason } = await trainer.run({
      shouldStop: () => control.shouldStop() || saveError !== null || datasetGone || judged !== null,
      waitWhilePaused: async () => {
        if (!control.isPaused()) return;
        speed.prevEnd = null;
        if (trainer.state.step !== savedStep) await save(false, true).catch(() => {}); // on pause: Resume after a crash continues from here
        await control.waitWhilePaused();
      },
      afterStep: () => {
        const now = performance.now();
        stepEnds.push(now);
        if (stepEnds.length > 200) stepEnds.splice(0, 100);
        if (probe) {
          probe.steps.push(now - probe.last);
          probe.last = now;
          if (probe.steps.length === 3) {
            const extra = probe.steps.reduce((a, d) => a + Math.max(0, d - probe!.median), 0);
            console.info(
              `[ctc-lab] cost of the checkpoint at step ${probe.step}: the next 3 steps took ${probe.steps.map((d) => d.toFixed(0)).join(', ')} ms against a median step of ${probe.median.toFixed(0)} ms (${extra.toFixed(0)} ms extra, ${(extra / probe.median).toFixed(2)} steps)`,
            );
            probe = null;
          }
        }
        if (midEpochDue()) void save(false, true).catch(() => {});
        speed.steps++;
        if (speed.prevEnd !== null) speed.gaps.push(now - speed.prevEnd);
        if (speed.gaps.length > 200) speed.gaps.splice(0, 100);
        speed.prevEnd = now;
        if (profileDue(speed.steps, speed.last, now, speedRequested)) return profileSpeed();
      },
      onStep: (st) => {
        const t = performance.now();
        if (t - lastPost > 100) {
          lastPost = t;
          onEvent({ type: 'step', step: st });
        }
      },
      onEpoch: async (m, info) => {
        speed.prevEnd = null; // validation and the epoch's checkpoint are not a step
        await save(info.improved, false, info.kept ?? null);
        const patiencePaused = info.stopping?.paused ? info.stopping.message : null;
        // The learning-curve forecast after an evaluated epoch: for the doctor, and drawn by the page.
        const f = m.valWer !== null ? forecast(trainer.state.history, cfg.epochs, targetWer) : null;
        onEvent({
          type: 'epoch',
          metrics: m,
          improved: info.improved,
          earlyStopping: info.earlyStopping,
          patiencePaused,
          forecast: f ? viewOf(f, targetWer) : null,
        });
        const fired = doctor.observe({
          epoch: m.epoch,
          loss: m.trainLoss,
          wer: m.valWer,
          blankRate: m.blankRate,
          gradNorm: m.gradNorm,
          earlyStopping: info.stop || trainer.config.patience === 0 ? null : { counter: info.earlyStopping.counter, patience: trainer.config.patience },
          patiencePaused,
          forecast: f,
          best: info.earlyStopping.best,
          valLoss: m.valLoss,
        });
        if (fired.length) onEvent({ type: 'alerts', alerts: fired });
        if (judge) judged = await judge({ epoch: m.epoch, valWer: m.valWer, valLoss: m.valLoss });
      },
    });
    if (datasetGone || !(await datasetStored(run.datasetId))) throw new store.DatasetGoneError(run.datasetId, run.datasetName);
    // Stopped mid-epoch: the place is saved, so Resume continues from this step, not the epoch's start.
    if (trainer.state.position && trainer.state.step !== savedStep && !saveError) {
      await save(false, true).catch(() => {});
      reason += ` (at step ${trainer.state.step}; Resume continues from there)`;
    }
    await queue;
    if (saveError) throw saveError;
    run.status = judged ? 'stopped' : reason.startsWith('early stopping') ? 'early-stopped' : reason.startsWith('stopped') ? 'stopped' : 'finished';
    run.reason = judged ?? reason;
    // averageBest: a run that ended (not stopped) averages its N best weight sets into its "averaged" checkpoint.
    if (run.status !== 'stopped' && trainer.config.averageBest > 0) await saveAveraged(trainer, run);
    // A student run ends with the distillation summary (teacher vs student on the validation split), kept with the run.
    const summary = trainer.distill ? await distillationSummary(trainer) : null;
    if (summary && run.distillation) run.distillation = { ...run.distillation, summary };
  } catch (e) {
    await queue;
    const lost = await deviceLost();
    if (lost) {
      unwatch();
      return { kind: 'device-lost', error: e instanceof Error ? e.message : String(e) };
    }
    if (e instanceof store.DatasetGoneError || datasetGone || !(await datasetStored(run.datasetId))) {
      // Nothing is written: the dataset, its runs and checkpoints were deleted on purpose.
      unwatch();
      const gone = new store.DatasetGoneError(run.datasetId, run.datasetName);
      return { kind: 'done', outcome: { run: { ...run, status: 'stopped', reason: gone.message }, alerts: doctor.alerts } };
    }
    run.status = 'failed';
    run.reason = e instanceof Error ? e.message : String(e);
  }
  unwatch();
  run.updatedAt = Date.now();
  await store.saveRunProgress(run, []).catch((e) => console.error(`[ctc-lab] run ${run.id}: ${String(e)}`));
  announce({ kind: 'runs', datasetId: run.datasetId });
  return { kind: 'done', outcome: { run, alerts: doctor.alerts } };
}

/** Evaluates and stores the run's averaged checkpoint (averageBest), and notes it in the run's reason. */
async function saveAveraged(trainer: Trainer, run: RunRecord): Promise<void> {
  const avg = await trainer.averagedCheckpoint(run.datasetName);
  if (!avg) return;
  const averaged = { epochs: avg.epochs.map((e) => e.epoch), valWer: avg.evaluation?.wer ?? null, valLoss: avg.evaluation?.loss ?? null };
  const { run: next, checkpoints, remove } = runAveraged(run, avg.bytes.buffer as ArrayBuffer, averaged);
  Object.assign(run, next);
  delete run.kept; // the kept sets are averaged: their records go in the same transaction
  await store.saveRunProgress(run, checkpoints, remove);
  const wer = averaged.valWer === null ? '' : `, val WER ${(averaged.valWer * 100).toFixed(1)}%`;
  run.reason += `; averaged the ${averaged.epochs.length} best epochs (${averaged.epochs.join(', ')})${wer}`;
}

async function datasetStored(id: string): Promise<boolean> {
  return store.getDataset(id).then(
    () => true,
    () => false,
  );
}

/**
 * A training job: one at a time in this tab, one tab at a time (lock), the run's own lock held
 * while it trains (else it shows as interrupted). A lost GPU device ends the drive; the backend is
 * replaced and the run resumes from its last checkpoint, up to MAX_GPU_RECOVERIES times.
 */
function trainingJob(setup: () => Promise<{ trainer: Trainer; run: RunRecord }>, onEvent: (e: TrainEvent) => void, judge?: TrialJudge): Promise<TrainOutcome> {
  return exclusive(() =>
    withTrainingLock(async () => {
      await ready();
      let { trainer, run } = await setup();
      return withRunLock(run.id, async () => {
        try {
          await store.saveRunProgress(run, []);
          announce({ kind: 'runs', datasetId: run.datasetId });
          for (let attempt = 1; ; attempt++) {
            const end = await drive(trainer, run, onEvent, judge);
            if (end.kind === 'done') return end.outcome;
            console.error(`[ctc-lab] GPU device lost during run ${run.id} (${end.error}); recovery attempt ${attempt} of ${MAX_GPU_RECOVERIES}`);
            try {
              trainer.dispose(); // its tensors lived on the lost device
            } catch {
              // nothing to free on a device that is gone
            }
            if (attempt > MAX_GPU_RECOVERIES) {
              run = {
                ...run,
                status: 'failed',
                reason: `the GPU was reset ${MAX_GPU_RECOVERIES + 1} times during this run; stopped (last error: ${end.error})`,
                updatedAt: Date.now(),
              };
              await store.saveRunProgress(run, []).catch(() => {});
              return { run, alerts: [] };
            }
            let backend;
            try {
              backend = await recover();
            } catch (e) {
              const msg = e instanceof NoGpuAdapterError ? e.message : `the GPU was reset and could not be started again (${String(e)})`;
              onEvent({ type: 'gpu-lost', message: msg });
              run = { ...run, status: 'failed', reason: msg, updatedAt: Date.now() };
              await store.saveRunProgress(run, []).catch(() => {});
              return { run, alerts: [] };
            }
            run = { ...(await store.getRun(run.id)), status: 'running', reason: '' };
            trainer = await trainerForRun(run, storedReads);
            onEvent({ type: 'recovered', step: trainer.state.step, attempt, backend });
          }
        } finally {
          try {
            trainer.dispose();
          } catch (e) {
            console.warn(`[ctc-lab] disposing the trainer: ${String(e)}`);
          }
          announce({ kind: 'runs', datasetId: run.datasetId });
        }
      });
    }),
  );
}

/** A new run's trainer and record (`runId`: a sweep's trial names its run before it starts). */
async function newRunSetup(datasetId: string, partial: Partial<TrainConfig>, distill: Parameters<TrainingApi['startTraining']>[3], runId?: string) {
  const cfg: TrainConfig = { ...TRAIN_DEFAULTS, ...partial };
  const meta = await store.getDataset(datasetId);
  const trainer = await studentTrainer(meta, await store.datasetSource(datasetId), cfg, undefined, distill, storedReads);
  const run = newRun(runId ?? store.newId('run'), meta, cfg, 'running', '');
  const record = trainer.distillRecord();
  if (record) run.distillation = record;
  return { trainer, run };
}

/** A stored run's trainer at its last checkpoint. */
async function resumeSetup(runId: string) {
  const run = parseRunRecord(await store.getRun(runId));
  if (!run.lastCheckpointId) throw new Error(`run ${runId} has no checkpoint to resume from (it stopped before its first checkpoint was written)`);
  return { trainer: await trainerForRun(run, storedReads), run: { ...run, status: 'running' as const, reason: '' } };
}

/** A sweep's trials (worker/sweep.ts, handed over in lab.worker.ts): normal runs, judged after each epoch. */
export const trials: TrialRunner = {
  start: (datasetId, cfg, runId, judge, onEvent) => trainingJob(() => newRunSetup(datasetId, cfg, null, runId), onEvent, judge),
  resume: (runId, judge, onEvent) => trainingJob(() => resumeSetup(runId), onEvent, judge),
};

export const training: TrainingApi = {
  startTraining(datasetId, partial, onEvent, distill) {
    return trainingJob(() => newRunSetup(datasetId, partial, distill), onEvent);
  },

  profileSpeed() {
    speedRequested = true;
  },

  resumeRun(runId, onEvent) {
    return trainingJob(() => resumeSetup(runId), onEvent);
  },

  async listRuns(datasetId) {
    const held = await runLocksHeld();
    const runs: RunInfo[] = [];
    const damaged: DamagedRun[] = [];
    for (const raw of await store.listRuns(datasetId)) {
      try {
        const r = parseRunRecord(raw);
        runs.push(isInterrupted(r, held(r.id)) ? { ...r, status: 'interrupted' } : r);
      } catch (e) {
        damaged.push({ id: typeof raw?.id === 'string' ? raw.id : '?', problem: e instanceof Error ? e.message : String(e) });
      }
    }
    return { runs, damaged };
  },

  async deleteRun(runId) {
    if ((await runLocksHeld())(runId)) throw new Error(`run ${runId} is training (in this or another tab); stop it first`);
    const raw = await store.getRun(runId).catch(() => null);
    await store.deleteRun(runId);
    if (raw && typeof raw.datasetId === 'string') announce({ kind: 'runs', datasetId: raw.datasetId });
  },

  async importCheckpoint(datasetId, file) {
    const bytes = await file.arrayBuffer();
    const meta = await store.getDataset(datasetId);
    const ck = checkpointForDataset(bytes, file.name, meta);
    // Trial-load into a model and optimizer of the recorded config: every tensor present and shaped right.
    const config = importedRunConfig(ck);
    const state = resumeStateFrom(ck.meta);
    new Trainer(meta, await store.datasetSource(datasetId), config, { state, tensors: ck.tensors }).dispose();
    const run = newRun(
      store.newId('run'),
      meta,
      config,
      'stopped',
      `imported from ${file.name} at epoch ${ck.meta.training.state.epoch}${state.position ? `, step ${state.step}` : ''}`,
    );
    run.history = state.history;
    if (ck.meta.distillation) run.distillation = ck.meta.distillation; // a student: Resume needs its teacher in this browser
    run.lastCheckpointId = `${run.id}-last`;
    await store.saveRunProgress(run, [{ id: run.lastCheckpointId, datasetId, runId: run.id, kind: 'last', createdAt: Date.now(), fileName: file.name, bytes }]);
    announce({ kind: 'runs', datasetId });
    return run;
  },
};
