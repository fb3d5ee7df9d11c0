// Fix sweeps in the worker: store a sweep, run its trials one after another (each a normal training
// run through worker/training.ts's `trials`, handed over by lab.worker.ts), judged after every epoch
// by the engine's successive halving (engine/tune/sweep_run.ts); the sweep record is written after
// every decision, so a reload, a stop or a lost device resumes it where it was (the running trial
// from its last checkpoint). Also stores the twin's trials.jsonl as a sweep to view.

import { parseSweepSpec } from '../engine/tune/sweep_spec';
import { endTrial, newSweep, nextAction, recordEpoch, specOf, startTrial, sweepVerdict, trialConfig, type TrialEnd } from '../engine/tune/sweep_run';
import { parseTrialsJsonl } from '../engine/tune/sweep_results';
import * as store from '../data/store';
import type { RunRecord, SweepRecord } from '../data/types';
import type { SweepApi, SweepInfo, TrialRunner } from './api';
import { announce } from './changes';
import { runLocksHeld, withRunLock } from './jobs';

// A sweep holds a Web Lock while it runs (the run lock's namespace, under "sweep:"): stored as running, unheld → interrupted.
const lockId = (id: string) => `sweep:${id}`;

const info = (s: SweepRecord, held: (id: string) => boolean): SweepInfo =>
  s.status === 'running' && !held(lockId(s.id)) ? { ...s, status: 'interrupted' } : s;

/**
 * Ends that are not the trial's fault: another job holds the trainer, or the GPU is gone (the run's own
 * recovery gave up). The sweep stops there instead of failing every trial after it; Resume sweep retries.
 */
const notTheTrial = (why: string) => /already running a job in this tab|another tab of CTC Lab is training|The GPU was reset|the GPU was reset/.test(why);

export function sweeps(runner: TrialRunner): SweepApi {
  return {
    async listSweeps(datasetId) {
      const held = await runLocksHeld();
      return (await store.listSweeps(datasetId)).map((s) => info(s, held));
    },

    async createSweep(datasetId, name, spec, baseRunId) {
      const meta = await store.getDataset(datasetId);
      const s = newSweep(store.newId('sweep'), meta.id, name, parseSweepSpec(spec), baseRunId);
      await store.saveSweep(s);
      announce({ kind: 'runs', datasetId });
      return s;
    },

    runSweep(sweepId, onUpdate) {
      return withRunLock(lockId(sweepId), async () => {
        let s = await store.getSweep(sweepId);
        const spec = specOf(s);
        const save = async (next: SweepRecord) => {
          s = next;
          await store.saveSweep(s);
          announce({ kind: 'runs', datasetId: s.datasetId });
          onUpdate(s);
        };
        await save({ ...s, status: 'running', reason: '', updatedAt: Date.now() });
        for (;;) {
          const a = nextAction(s);
          if (a.kind === 'done') {
            await save({ ...s, status: 'finished', reason: sweepVerdict(s, spec.metric), updatedAt: Date.now() });
            return s;
          }
          const i = a.trial;
          const judge = async (row: { epoch: number; [k: string]: number | null }) => {
            const r = recordEpoch(s, i, row, spec);
            await save(r.sweep);
            return r.stop;
          };
          const run: RunRecord | null = a.kind === 'resume' ? await store.getRun(a.runId).catch(() => null) : null;
          // After a reload: the epochs its run recorded that the sweep had not yet judged (the sweep is written after the run's checkpoint).
          if (run) {
            for (const row of run.history) {
              if (s.trials[i].state !== 'running') break;
              await judge(row);
            }
            if (
              s.trials[i].state === 'pruned' ||
              run.status === 'finished' ||
              run.status === 'early-stopped' ||
              (run.status === 'failed' && !notTheTrial(run.reason))
            ) {
              if (s.trials[i].state === 'pruned' && run.status !== 'stopped')
                await store.putRun({ ...run, status: 'stopped', reason: `pruned by the sweep: ${s.trials[i].reason}`, updatedAt: Date.now() });
              await save(endTrial(s, i, run));
              continue;
            }
          }
          let end: TrialEnd;
          try {
            if (run?.lastCheckpointId) end = (await runner.resume(run.id, judge, () => {})).run;
            else {
              // A new trial, or one whose run had no checkpoint yet when the page went: (re)started under its run id.
              const runId = a.kind === 'resume' ? a.runId : store.newId('run');
              await save(startTrial(s, i, runId));
              end = (await runner.start(s.datasetId, trialConfig(s.trials[i]), runId, judge, () => {})).run;
            }
          } catch (e) {
            const reason = e instanceof Error ? e.message : String(e);
            if (notTheTrial(reason)) {
              await save({ ...s, status: 'stopped', reason, updatedAt: Date.now() });
              return s;
            }
            end = { status: 'failed', reason }; // a trial that cannot train (a setting the dataset cannot take): failed, the sweep goes on
          }
          if (end.status === 'failed' && notTheTrial(end.reason)) {
            await save({
              ...s,
              status: 'stopped',
              reason: `trial ${i} (${s.trials[i].name}): ${end.reason}; Resume sweep continues it`,
              updatedAt: Date.now(),
            });
            return s;
          }
          await save(endTrial(s, i, end));
          if (s.status === 'stopped') return s;
        }
      });
    },

    async deleteSweep(sweepId) {
      if ((await runLocksHeld())(lockId(sweepId))) throw new Error(`sweep ${sweepId} is running; stop it first`);
      const s = await store.getSweep(sweepId).catch(() => null);
      await store.deleteSweep(sweepId);
      if (s) announce({ kind: 'runs', datasetId: s.datasetId });
    },

    async importSweepResults(datasetId, name, files) {
      const jsonl = files.find((f) => f.name.endsWith('trials.jsonl'));
      if (!jsonl) throw new Error(`no trials.jsonl among ${files.map((f) => f.name).join(', ') || 'the files'} (the twin writes it in its -o folder)`);
      const specFile = files.find((f) => f.name.endsWith('.json'));
      let spec = null;
      if (specFile) {
        let raw: unknown;
        try {
          raw = JSON.parse(specFile.text);
        } catch (e) {
          throw new Error(`${specFile.name}: not JSON (${e instanceof Error ? e.message : String(e)})`, { cause: e });
        }
        try {
          spec = parseSweepSpec(raw);
        } catch (e) {
          throw new Error(`${specFile.name}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
        }
      }
      const meta = await store.getDataset(datasetId);
      const metric = spec?.metric ?? 'val_wer';
      const trials = parseTrialsJsonl(jsonl.text, jsonl.name, metric);
      const now = Date.now();
      const s: SweepRecord = {
        id: store.newId('sweep'),
        datasetId: meta.id,
        name,
        createdAt: now,
        updatedAt: now,
        source: 'import',
        spec: spec ? { ...spec } : null,
        baseRunId: null,
        status: 'finished',
        reason: '',
        trials,
        ledger: [],
      };
      s.reason = sweepVerdict(s, metric);
      await store.saveSweep(s);
      announce({ kind: 'runs', datasetId });
      return s;
    },
  };
}
