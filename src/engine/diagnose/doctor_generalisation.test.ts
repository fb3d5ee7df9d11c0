// The live doctor's no-generalisation alert: it states the measured gap (train against val loss)
// and, when the run trains without augmentation, names augmentation first; a healthy run with the
// same options stays quiet.

import { describe, expect, it } from 'vitest';
import { TrainingDoctor, type DoctorObservation } from './doctor';

// Training loss falls 10% an epoch, val WER stays at 95%, val loss at 4 (tokens emitted: blank rate 60%).
const stuck = (epoch: number): DoctorObservation => ({ epoch, loss: 20 * 0.9 ** (epoch - 1), wer: 0.95, blankRate: 0.6, gradNorm: 0.5, valLoss: 4 });
const healthy = (epoch: number): DoctorObservation => ({
  epoch,
  loss: 10 / epoch,
  wer: Math.max(0, 1 - epoch / 50),
  blankRate: 0.6,
  gradNorm: 0.5,
  valLoss: 12 / epoch,
});
const alerts = (d: TrainingDoctor, f: (e: number) => DoctorObservation, n: number) => Array.from({ length: n }, (_, i) => d.observe(f(i + 1))).flat();

describe('no-generalisation names augmentation and the gap', () => {
  it('augmentation off: names it first, with the train and val losses', () => {
    const a = alerts(new TrainingDoctor({ augment: false }), stuck, 15);
    expect(a.map((x) => x.id)).toEqual(['no-generalisation']);
    expect(a[0].message).toContain(`Train loss ${(20 * 0.9 ** 10).toFixed(3)} against val loss 4.000 (${(4 / (20 * 0.9 ** 10)).toFixed(1)}×).`);
    expect(a[0].message).toContain('Augmentation is off: turn it on first (the Generalise recipe');
  });

  it('augmentation on, or not known: the gap without the augmentation advice', () => {
    for (const augment of [true, null]) {
      const a = alerts(new TrainingDoctor({ augment }), stuck, 15);
      expect(a[0].message).toContain('against val loss 4.000');
      expect(a[0].message).not.toContain('Augmentation is off');
      expect(a[0].message).toContain('The cause: too few training samples or too little regularisation');
    }
  });

  it('a healthy run without augmentation stays quiet', () => {
    expect(alerts(new TrainingDoctor({ augment: false }), healthy, 60)).toEqual([]);
  });
});
