// Full training in the worker: start, resume (after a reload, a stop or a crash) and checkpoint
// import as a resumable run. Best and last checkpoints are saved with the run record after every
// epoch in one transaction; the live doctor watches each epoch.

import { TrainingDoctor } from '../engine/diagnose/doctor';
import { knobsOf } from '../engine/model/presets';
import { TRAIN_DEFAULTS, type TrainConfig } from '../engine/train/config';
import { resumeStateFrom, Trainer } from '../engine/train/trainer';
import * as store from '../data/store';
import type { TrainEvent, TrainOutcome, TrainingApi } from './api';
import { checkpointForDataset, storedCheckpointFor } from './checkpoints';
import { control, exclusive, withTrainingLock } from './jobs';
import { ctcLabFileName } from './names';
import { ready } from './runtime';

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
      shouldStop: control.shouldStop,
      waitWhilePaused: control.waitWhilePaused,
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

/** A training job: one at a time in this tab, one tab at a time (lock), trainer disposed at the end. */
function trainingJob(setup: () => Promise<{ trainer: Trainer; run: store.RunRecord }>, onEvent: (e: TrainEvent) => void): Promise<TrainOutcome> {
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

function newRun(datasetId: string, datasetName: string, config: TrainConfig, status: store.RunRecord['status'], reason: string): store.RunRecord {
  const now = Date.now();
  return {
    id: store.newId('run'), datasetId, datasetName, createdAt: now, updatedAt: now,
    config: { ...config }, status, reason, history: [], bestCheckpointId: null, lastCheckpointId: null,
  };
}

export const training: TrainingApi = {
  startTraining(datasetId, partial, onEvent) {
    return trainingJob(async () => {
      const cfg: TrainConfig = { ...TRAIN_DEFAULTS, ...partial };
      const meta = await store.getDataset(datasetId);
      const trainer = new Trainer(meta, await store.datasetSource(datasetId), cfg);
      return { trainer, run: newRun(datasetId, meta.name, cfg, 'running', '') };
    }, onEvent);
  },

  resumeRun(runId, onEvent) {
    return trainingJob(async () => {
      const run = await store.getRun(runId);
      if (!run.lastCheckpointId) throw new Error(`run ${runId} has no checkpoint to resume from (it stopped before its first epoch ended)`);
      const meta = await store.getDataset(run.datasetId);
      const ck = await storedCheckpointFor(run.lastCheckpointId, meta);
      const trainer = new Trainer(meta, await store.datasetSource(run.datasetId), run.config as unknown as TrainConfig, { state: resumeStateFrom(ck.meta), tensors: ck.tensors });
      return { trainer, run: { ...run, status: 'running', reason: '' } };
    }, onEvent);
  },

  listRuns: (datasetId) => store.listRuns(datasetId),

  async importCheckpoint(datasetId, file) {
    const bytes = await file.arrayBuffer();
    const meta = await store.getDataset(datasetId);
    const ck = checkpointForDataset(bytes, file.name, meta);
    // Trial-load into a model and optimizer of the recorded config: every tensor present and shaped right.
    const config: TrainConfig = { ...TRAIN_DEFAULTS, ...(ck.meta.training.config as Partial<TrainConfig>), ...knobsOf(ck.model) };
    const state = resumeStateFrom(ck.meta);
    new Trainer(meta, await store.datasetSource(datasetId), config, { state, tensors: ck.tensors }).dispose();
    const run = newRun(datasetId, meta.name, config, 'stopped', `imported from ${file.name} at epoch ${ck.meta.training.state.epoch}`);
    run.history = state.history as unknown as store.RunRecord['history'];
    run.lastCheckpointId = `${run.id}-last`;
    await store.saveRunProgress(run, [{ id: run.lastCheckpointId, datasetId, runId: run.id, kind: 'last', createdAt: Date.now(), fileName: file.name, bytes }]);
    return run;
  },
};
