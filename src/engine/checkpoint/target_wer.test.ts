// The target WER setting (issue 20) in stored configs: optional (a run record or checkpoint config
// written before it had the field reads with 0 = none), 0 or a percent in (0, 100], anything else
// refused naming the field.

import { describe, expect, it } from 'vitest';
import { TRAIN_DEFAULTS } from '../train/config';
import { parseRunRecord } from './schema';

const record = (config: Record<string, unknown>) => ({
  id: 'run-1',
  datasetId: 'ds',
  datasetName: 'demo',
  createdAt: 0,
  updatedAt: 0,
  config,
  status: 'finished',
  reason: 'finished 3 epochs',
  history: [],
  bestCheckpointId: null,
  lastCheckpointId: null,
});

describe('targetWer in a stored training config', () => {
  it('an older config without it reads as 0 (none); 0, 25 and 100 read as written', () => {
    const { targetWer: _absent, ...old } = TRAIN_DEFAULTS;
    expect('targetWer' in old).toBe(false);
    expect(parseRunRecord(record(old)).config.targetWer).toBe(0);
    for (const t of [0, 25, 0.5, 100]) expect(parseRunRecord(record({ ...TRAIN_DEFAULTS, targetWer: t })).config.targetWer).toBe(t);
  });

  it('outside [0, 100], not finite or not a number: refused, naming the field', () => {
    for (const [t, shown] of [
      [150, '150'],
      [-1, '-1'],
      [Infinity, 'Infinity'],
      ['25', '"25"'],
      [null, 'null'],
    ] as const) {
      expect(() => parseRunRecord(record({ ...TRAIN_DEFAULTS, targetWer: t }))).toThrow(
        `run record run-1: config.targetWer: expected 0 (none) or a val WER in percent, above 0 and at most 100, got ${shown}`,
      );
    }
  });
});
