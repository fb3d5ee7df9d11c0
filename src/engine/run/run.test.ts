// A run's rules over plain records: the file names of its checkpoints (as the worker wrote them
// before these moved here), a new run's record, the config a stored run and an imported
// checkpoint train with.

import { describe, expect, it } from 'vitest';
import { TRAIN_DEFAULTS } from '../train/config';
import { alignmentsFileName, outputsFileName, overfitCheckpointFileName, runCheckpointFileName } from './names';
import { newRun, runConfig } from './run';

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
});
