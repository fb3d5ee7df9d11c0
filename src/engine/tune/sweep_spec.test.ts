import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TRAIN_DEFAULTS } from '../train/config';
import { parseSweepSpec, sweepSpecJson, sweepTrials, SWEEP_FORMAT } from './sweep_spec';

// The fix sweep from a poor base (patience 5, lr 1e-5): the field guide's fixes as named changes.
const FIXES = {
  format: SWEEP_FORMAT,
  base: { preset: 'tcn', channels: 32, layers: 2, lr: 1e-5, patience: 5, dropout: 0.3 },
  variations: [
    { name: 'lr ×3', changes: [{ setting: 'lr', scale: 3 }] },
    { name: 'lr ×⅓', changes: [{ setting: 'lr', scale: 1 / 3 }] },
    {
      name: 'dropout 0.1 + ×4 subsampling',
      changes: [
        { setting: 'dropout', value: 0.1 },
        { setting: 'subsampling', value: 4 },
      ],
    },
    {
      name: 'no weight decay, patience 30',
      changes: [
        { setting: 'weightDecay', value: 0 },
        { setting: 'patience', value: 30 },
      ],
    },
    { name: 'transformer', changes: [{ setting: 'preset', value: 'transformer' }] },
  ],
  rungs: { minEpochs: 1, eta: 3, maxEpochs: 9 },
  metric: 'val_wer',
  seed: 7,
};

const RANGES = {
  format: SWEEP_FORMAT,
  base: { channels: 16, layers: 1 },
  ranges: [
    { setting: 'lr', min: 1e-4, max: 1e-2, scale: 'log' },
    { setting: 'dropout', min: 0, max: 0.3, scale: 'linear' },
    { setting: 'channels', min: 8, max: 32, scale: 'log' },
  ],
  trials: 6,
  rungs: { minEpochs: 2, eta: 2, maxEpochs: 8 },
  metric: 'val_loss',
  seed: 3,
};

// Each bad spec and the message that refuses it (the twin refuses with the same words).
const BAD: [string, unknown, string][] = [
  [
    'unknown setting',
    { ...FIXES, variations: [{ name: 'x', changes: [{ setting: 'lrr', scale: 3 }] }] },
    'variations[0].changes[0].setting: "lrr" is not a sweep setting',
  ],
  ['min > max', { ...RANGES, ranges: [{ setting: 'lr', min: 1e-2, max: 1e-4, scale: 'log' }] }, 'ranges[0].min: min 0.01 > max 0.0001'],
  ['unknown base setting', { ...FIXES, base: { lerning_rate: 1 } }, 'base.lerning_rate: not a training setting'],
  [
    'dropout out of range',
    { ...FIXES, variations: [{ name: 'x', changes: [{ setting: 'dropout', value: 1.5 }] }] },
    'variations[0].changes[0].value: dropout 1.5 is outside [0, 1)',
  ],
  ['bad preset', { ...FIXES, base: { preset: 'conformer' } }, 'base.preset: preset "conformer" is not one of tcn, tconv-bilstm, transformer'],
  [
    'scale of a choice',
    { ...FIXES, variations: [{ name: 'x', changes: [{ setting: 'preset', scale: 2 }] }] },
    'variations[0].changes[0].scale: preset takes a value, not a scale',
  ],
  ['log range from 0', { ...RANGES, ranges: [{ setting: 'dropout', min: 0, max: 0.3, scale: 'log' }] }, 'ranges[0].min: a log range needs min > 0, got 0'],
  ['unknown field', { ...FIXES, rungz: {} }, 'rungz: unknown field'],
  ['eta 1', { ...FIXES, rungs: { minEpochs: 1, eta: 1, maxEpochs: 9 } }, 'rungs.eta: must be an integer ≥ 2, got 1'],
  ['metric', { ...FIXES, metric: 'wer' }, 'metric: expected "val_wer" or "val_loss", got "wer"'],
  ['no trials', { format: SWEEP_FORMAT, base: {} }, 'variations: a sweep needs variations or ranges'],
  ['duplicate names', { ...FIXES, variations: [FIXES.variations[0], FIXES.variations[0]] }, 'variations[1].name: "lr ×3" is used twice'],
  ['format', { ...FIXES, format: 'ctc-lab-sweep/0' }, 'format: expected "ctc-lab-sweep/1", got "ctc-lab-sweep/0"'],
];

describe('sweep spec', () => {
  it('a good spec parses to itself with its defaults filled, and survives JSON', () => {
    const s = parseSweepSpec(FIXES);
    expect(s.ranges).toEqual([]);
    expect(s.trials).toBe(0);
    expect(parseSweepSpec(JSON.parse(sweepSpecJson(s)))).toEqual(s);
    const r = parseSweepSpec(RANGES);
    expect(parseSweepSpec(JSON.parse(JSON.stringify(r)))).toEqual(r);
  });

  for (const [name, spec, message] of BAD)
    it(`refused, naming the field: ${name}`, () => {
      expect(() => parseSweepSpec(spec)).toThrow(`sweep spec: ${message}`);
    });

  it('the trials: base, each variation with its changes applied, then seeded samples inside their ranges', () => {
    const t = sweepTrials(parseSweepSpec(FIXES));
    expect(t.map((x) => x.name)).toEqual(['base', 'lr ×3', 'lr ×⅓', 'dropout 0.1 + ×4 subsampling', 'no weight decay, patience 30', 'transformer']);
    expect(t[0].config).toEqual({ ...TRAIN_DEFAULTS, ...FIXES.base, epochs: 9 });
    expect(t[1].config.lr).toBeCloseTo(3e-5, 15);
    expect(t[2].changes.lr).toBeCloseTo(1e-5 / 3, 18);
    expect(t[3].changes).toEqual({ dropout: 0.1, subsampling: 4 });
    expect(t[3].config).toMatchObject({ dropout: 0.1, subsampling: 4, patience: 5 });
    const spec = parseSweepSpec(RANGES);
    const r = sweepTrials(spec);
    expect(r).toHaveLength(7);
    for (const x of r.slice(1)) {
      expect(x.config.lr).toBeGreaterThanOrEqual(1e-4);
      expect(x.config.lr).toBeLessThanOrEqual(1e-2);
      expect(x.config.dropout).toBeLessThanOrEqual(0.3);
      expect(Number.isInteger(x.config.channels)).toBe(true);
      expect(x.config.epochs).toBe(8);
    }
    expect(sweepTrials(spec)).toEqual(r); // seeded
    expect(sweepTrials({ ...spec, seed: 4 })).not.toEqual(r);
  });

  it('a change that takes a setting out of its range is refused naming the variation', () => {
    const spec = parseSweepSpec({ ...FIXES, base: { dropout: 0.5 }, variations: [{ name: 'x', changes: [{ setting: 'dropout', scale: 3 }] }] });
    expect(() => sweepTrials(spec)).toThrow('sweep spec: variations[0].changes[0]: dropout 1.5 is outside [0, 1)');
  });
});

// For the twin (python/tests/test_sweep.py): the specs as the lab writes them, and the bad ones with the lab's messages.
const FIXTURE = new URL('./fixtures/sweep_specs.json', import.meta.url);

describe('the twin fixture', () => {
  it('sweep_specs.json holds what the lab writes and refuses (rewrite with UPDATE_SWEEP_FIXTURES=1)', () => {
    const now = {
      good: [FIXES, RANGES].map((s) => JSON.parse(sweepSpecJson(parseSweepSpec(s))) as unknown),
      bad: BAD.map(([name, spec, message]) => ({ name, spec, message: `sweep spec: ${message}` })),
    };
    if (process.env.UPDATE_SWEEP_FIXTURES) writeFileSync(FIXTURE, `${JSON.stringify(now, null, 1)}\n`);
    expect(JSON.parse(readFileSync(FIXTURE, 'utf8'))).toEqual(now);
  });
});
