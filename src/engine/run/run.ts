// A training run's rules over its stored record: a new run's record, what saving its progress
// writes, the config an imported checkpoint trains on with, and the trainer of a stored run at its
// last checkpoint (mid-epoch or an epoch's end), with its teacher when it is a student. Storage
// comes in as `reads` (data/reads.ts).

import type { StoredReads } from '../../data/reads';
import type { AveragedRecord, CheckpointRecord, HistoryRow, RunRecord, RunStatus } from '../../data/types';
import { storedCheckpointFor, type FittedCheckpoint } from '../checkpoint/fit';
import { readSafetensors } from '../checkpoint/safetensors';
import type { KeptSlot } from '../train/average';
import { studentTrainer } from '../distill/student';
import { knobsOf } from '../model/presets';
import { TRAIN_DEFAULTS, type TrainConfig } from '../train/config';
import { resumeStateFrom, type Trainer } from '../train/trainer';
import { runCheckpointFileName } from './names';

/** A run's record before its first epoch. */
export function newRun(id: string, dataset: { id: string; name: string }, config: TrainConfig, status: RunStatus, reason: string): RunRecord {
  const now = Date.now();
  return {
    id,
    datasetId: dataset.id,
    datasetName: dataset.name,
    createdAt: now,
    updatedAt: now,
    config: { ...config },
    status,
    reason,
    history: [],
    bestCheckpointId: null,
    lastCheckpointId: null,
  };
}

/** A run stored as running or paused that no tab trains was cut off (its tab closed, crashed or reloaded): listed as interrupted. */
export function isInterrupted(run: Pick<RunRecord, 'status'>, trainedByATab: boolean): boolean {
  return (run.status === 'running' || run.status === 'paused') && !trainedByATab;
}

/** A checkpoint taken of a run: its file, where the run was, and the history so far. */
export interface RunSave {
  bytes: ArrayBuffer; // the .safetensors file
  epoch: number; // completed epochs
  step: number;
  midEpoch: boolean; // taken between two steps of an unfinished epoch
  improved: boolean; // the epoch just ended improved on the best: the file is also the best checkpoint
  history: HistoryRow[];
  // averageBest: the epoch's weights kept in a slot (its file), and every slot kept after it
  kept?: { set: KeptSlot; bytes: ArrayBuffer; all: KeptSlot[] };
}

/** The record id of a run's kept weight set in `slot` (averageBest). */
export const keptCheckpointId = (runId: string, slot: number) => `${runId}-kept-${slot}`;

/**
 * What saving a run's progress writes, in one transaction: its last checkpoint (and its best, when
 * the epoch improved), and the run record pointing at them with the history so far.
 */
export function runProgress(run: RunRecord, save: RunSave): { run: RunRecord; checkpoints: CheckpointRecord[] } {
  const { bytes, epoch, step, midEpoch, improved, history, kept } = save;
  const base = { datasetId: run.datasetId, runId: run.id, createdAt: Date.now() };
  const name = (kind: 'last' | 'best') => runCheckpointFileName(run, kind, epoch, midEpoch ? step : undefined);
  const checkpoints: CheckpointRecord[] = [{ ...base, id: `${run.id}-last`, kind: 'last', fileName: name('last'), bytes }];
  if (improved) checkpoints.push({ ...base, id: `${run.id}-best`, kind: 'best', fileName: name('best'), bytes });
  // The kept set goes in the same transaction as the checkpoint: a resume finds exactly the sets of the epoch it starts after.
  if (kept)
    checkpoints.push({
      ...base,
      id: keptCheckpointId(run.id, kept.set.slot),
      kind: 'kept',
      fileName: runCheckpointFileName(run, 'kept', kept.set.epoch),
      bytes: kept.bytes,
    });
  return {
    run: {
      ...run,
      lastCheckpointId: `${run.id}-last`,
      bestCheckpointId: improved ? `${run.id}-best` : run.bestCheckpointId,
      history,
      updatedAt: Date.now(),
      ...(kept ? { kept: kept.all.map(({ slot, epoch, metric }) => ({ slot, epoch, metric })) } : {}),
    },
    checkpoints,
  };
}

/**
 * What storing a run's averaged checkpoint (averageBest, at the run's end) writes: the checkpoint and
 * the record pointing at it; the kept sets it averages are no longer needed (`remove`).
 */
export function runAveraged(
  run: RunRecord,
  bytes: ArrayBuffer,
  averaged: AveragedRecord,
): { run: RunRecord; checkpoints: CheckpointRecord[]; remove: string[] } {
  const id = `${run.id}-averaged`;
  const fileName = runCheckpointFileName(run, 'averaged', run.history.at(-1)?.epoch ?? 0);
  const { kept, ...rest } = run;
  return {
    run: { ...rest, averagedCheckpointId: id, averaged, updatedAt: Date.now() },
    checkpoints: [{ id, datasetId: run.datasetId, runId: run.id, kind: 'averaged', createdAt: Date.now(), fileName, bytes }],
    remove: (kept ?? []).map((k) => keptCheckpointId(run.id, k.slot)),
  };
}

/** The config a stored run trains with: its own over the defaults (a field added since it was stored: the default). */
export function runConfig(run: RunRecord): TrainConfig {
  return { ...TRAIN_DEFAULTS, ...(run.config as Partial<TrainConfig>) };
}

/** The config an imported checkpoint continues with: its training config (an overfit test's: the defaults), its model's knobs. */
export function importedRunConfig(ck: FittedCheckpoint): TrainConfig {
  return { ...TRAIN_DEFAULTS, ...(ck.meta.training.config.mode === 'train' ? ck.meta.training.config : {}), ...knobsOf(ck.model) };
}

/** The trainer for a stored run at its last checkpoint, or from scratch if it has none yet. */
export async function trainerForRun(run: RunRecord, reads: StoredReads): Promise<Trainer> {
  const meta = await reads.dataset(run.datasetId);
  const config = runConfig(run);
  if (!run.lastCheckpointId) return studentTrainer(meta, await reads.datasetSource(run.datasetId), config, undefined, run.distillation, reads);
  const ck = storedCheckpointFor(await reads.checkpoint(run.lastCheckpointId), meta);
  // restoreBest across a resume: the best checkpoint's weights (when it is another file than the last one).
  const best = config.restoreBest && run.bestCheckpointId ? storedCheckpointFor(await reads.checkpoint(run.bestCheckpointId), meta).tensors : undefined;
  // averageBest across a resume: the weight sets the run had kept when its last checkpoint was written.
  const kept = await Promise.all(
    (config.averageBest > 0 ? (run.kept ?? []) : []).map(async (k) => {
      const rec = await reads.checkpoint(keptCheckpointId(run.id, k.slot));
      return { ...k, tensors: readSafetensors(rec.bytes, rec.fileName).tensors };
    }),
  );
  // A student run: the teacher its checkpoint records (the run record's before its first checkpoint).
  return studentTrainer(
    meta,
    await reads.datasetSource(run.datasetId),
    config,
    { state: resumeStateFrom(ck.meta), tensors: ck.tensors, best, kept },
    ck.meta.distillation ?? run.distillation,
    reads,
  );
}
