// A run's rules over plain records: the file names of its checkpoints (as the worker wrote them
// before these moved here), a new run's record, what saving its progress writes, the config a
// stored run trains with.

import { describe, expect, it } from 'vitest';
import { TRAIN_DEFAULTS } from '../train/config';
import { alignmentsFileName, outputsFileName, overfitCheckpointFileName, runCheckpointFileName } from './names';
import { isInterrupted, newRun, runConfig, runProgress } from './run';

describe('run rules', () => {
  it('names checkpoints, exported outputs and alignments safely on every filesystem', () => {
    const run = { id: 'run-abc', datasetName: 'my data/set (v2)' };
    expect(runCheckpointFileName(run, 'last', 3)).toBe('ctc-lab-my_data_set_v2_-run-abc-last-epoch3.safetensors');
    expect(runCheckpointFileName(run, 'best', 3, 120)).toBe('ctc-lab-my_data_set_v2_-run-abc-best-epoch3-step120.safetensors');
    expect(overfitCheckpointFileName('demo words', 42)).toBe('ctc-lab-overfit-demo_words-epoch42.safetensors');
    expect(outputsFileName('demo', 'val', 'ctc-lab-demo-run-1-best-epoch2.safetensors')).toBe('ctc-lab-outputs-demo-val-ctc-lab-demo-run-1-best-epoch2.zip');
    expect(alignmentsFileName('set 1', null, 'ctm')).toBe('ctc-lab-alignments-set_1-all.ctm');
    expect(alignmentsFileName('set 1', 'utt/7', 'json')).toBe('ctc-lab-alignments-set_1-utt_7.json');
  });

  it("a new run's record holds its config, no history and no checkpoint; a stored run's config fills fields it lacks with the defaults", () => {
    const run = newRun('run-1', { id: 'ds-1', name: 'demo' }, { ...TRAIN_DEFAULTS, epochs: 7 }, 'running', '');
    expect(run).toMatchObject({
      id: 'run-1',
      datasetId: 'ds-1',
      datasetName: 'demo',
      status: 'running',
      history: [],
      bestCheckpointId: null,
      lastCheckpointId: null,
    });
    expect(run.config.epochs).toBe(7);
    const { patience: _p, ...older } = run.config;
    expect(runConfig({ ...run, config: older })).toEqual({ ...TRAIN_DEFAULTS, epochs: 7 });
  });

  it('saving progress writes the last checkpoint, the best one too when the epoch improved, and the run pointing at them', () => {
    const run = newRun('run-1', { id: 'ds-1', name: 'demo' }, TRAIN_DEFAULTS, 'running', '');
    const bytes = new ArrayBuffer(8);
    const history = [{ epoch: 1, trainLoss: 2 }];
    const a = runProgress(run, { bytes, epoch: 1, step: 10, midEpoch: false, improved: true, history });
    expect(a.checkpoints.map((c) => [c.id, c.kind, c.fileName, c.runId, c.datasetId])).toEqual([
      ['run-1-last', 'last', 'ctc-lab-demo-run-1-last-epoch1.safetensors', 'run-1', 'ds-1'],
      ['run-1-best', 'best', 'ctc-lab-demo-run-1-best-epoch1.safetensors', 'run-1', 'ds-1'],
    ]);
    expect(a.run).toMatchObject({ lastCheckpointId: 'run-1-last', bestCheckpointId: 'run-1-best', history });
    const b = runProgress({ ...run, bestCheckpointId: 'run-1-best' }, { bytes, epoch: 1, step: 13, midEpoch: true, improved: false, history });
    expect(b.checkpoints.map((c) => c.fileName)).toEqual(['ctc-lab-demo-run-1-last-epoch1-step13.safetensors']);
    expect(b.run).toMatchObject({ lastCheckpointId: 'run-1-last', bestCheckpointId: 'run-1-best' });
  });

  it('a run stored as running or paused that no tab trains is interrupted; one a tab trains, or one that ended, is not', () => {
    for (const status of ['running', 'paused'] as const) {
      expect(isInterrupted({ status }, false)).toBe(true);
      expect(isInterrupted({ status }, true)).toBe(false);
    }
    for (const status of ['stopped', 'finished', 'early-stopped', 'failed'] as const) expect(isInterrupted({ status }, false)).toBe(false);
  });
});
