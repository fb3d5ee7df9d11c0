import { describe, expect, it } from 'vitest';
import { TRAIN_DEFAULTS, type TrainConfig } from '../train/config';
import { sweepFromFixes } from './fixes';
import { parseSweepSpec, sweepTrials } from './sweep_spec';

const base: TrainConfig = { ...TRAIN_DEFAULTS, preset: 'tcn', subsampling: 2, lr: 1e-5, patience: 5, dropout: 0.1, optimizer: 'adam', weightDecay: 0 };

describe('Try these fixes: fixes → sweep variations', () => {
  it("the acceptance's poor base (patience 5, lr 1e-5): early stopping and a plateau → patience ×2, lr ×3, lr ×⅓; decoding and data fixes are not sweepable", () => {
    const fixes = [
      { source: 'early-stop-high-wer', fix: 'Raise patience (30+ on large datasets).' },
      { source: 'plateau', fix: 'Raise the learning rate or check the warmup; run diagnostics.' },
      { source: 'decoding', fix: 'Use simple greedy decoding for validation during training.' },
      { source: 'dataset', fix: 'Remove the samples with NaN.' },
    ];
    const { variations, notSweepable } = sweepFromFixes(fixes, base);
    expect(variations.map((v) => v.name)).toEqual(['patience ×2', 'lr ×3', 'lr ×⅓']);
    expect(notSweepable).toEqual([fixes[2], fixes[3]]);
    // The variations make a valid spec whose trials apply them to the base.
    const spec = parseSweepSpec({ format: 'ctc-lab-sweep/1', base, variations, rungs: { minEpochs: 1, eta: 3, maxEpochs: 9 } });
    expect(sweepTrials(spec).map((t) => t.changes)).toEqual([{}, { patience: 10 }, { lr: 1e-5 * 3 }, { lr: 1e-5 * (1 / 3) }]);
  });

  it('no generalisation on a tcn at ×2 with Adam: dropout up, AdamW with decay, ×4 subsampling; at dropout 0.5 with AdamW decay, only ×4', () => {
    expect(sweepFromFixes([{ source: 'no-generalisation', fix: 'regularise' }], base).variations).toEqual([
      { name: 'dropout 0.2', changes: [{ setting: 'dropout', value: 0.2 }] },
      {
        name: 'AdamW, weight decay 0.0001',
        changes: [
          { setting: 'optimizer', value: 'adamw' },
          { setting: 'weightDecay', value: 1e-4 },
        ],
      },
      { name: '×4 subsampling', changes: [{ setting: 'subsampling', value: 4 }] },
    ]);
    const strong: TrainConfig = { ...base, dropout: 0.5, optimizer: 'adamw', weightDecay: 1e-3 };
    expect(sweepFromFixes([{ source: 'generalisation', fix: 'x' }], strong).variations.map((v) => v.name)).toEqual(['×4 subsampling']);
    // Nothing left to try: the fix is listed as not sweepable, not dropped.
    const none = sweepFromFixes([{ source: 'generalisation', fix: 'regularise' }], { ...strong, preset: 'transformer' });
    expect(none).toEqual({ variations: [], notSweepable: [{ source: 'generalisation', fix: 'regularise' }] });
  });

  it('a fix named twice gives its variations once; patience ×2 with patience off is not sweepable; an unknown source is not sweepable', () => {
    const r = sweepFromFixes(
      [
        { source: 'exploding-gradients', fix: 'a' },
        { source: 'non-finite-loss', fix: 'b' },
        { source: 'early-stopping', fix: 'c' },
        { source: 'speed', fix: 'd' },
      ],
      { ...base, patience: 0 },
    );
    expect(r.variations.map((v) => v.name)).toEqual(['lr ×⅓', 'clip norm 1']);
    expect(r.notSweepable.map((f) => f.source)).toEqual(['early-stopping', 'speed']);
  });
});
