import { describe, expect, it } from 'vitest';
import { TrainingDoctor, type DoctorObservation } from './doctor';

const obs = (epoch: number, o: Partial<DoctorObservation> = {}): DoctorObservation => ({ epoch, loss: 10 / epoch, wer: Math.max(0, 1 - epoch / 50), blankRate: 0.6, gradNorm: 0.5, ...o });

function run(d: TrainingDoctor, xs: DoctorObservation[]) {
  return xs.flatMap((x) => d.observe(x));
}

describe('training doctor', () => {
  it('stays quiet on a healthy run', () => {
    expect(run(new TrainingDoctor(), Array.from({ length: 60 }, (_, i) => obs(i + 1)))).toEqual([]);
  });
  it('non-finite loss fires at its epoch, once', () => {
    const a = run(new TrainingDoctor(), [obs(1), obs(2, { loss: NaN }), obs(3, { loss: Infinity })]);
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ id: 'non-finite-loss', epoch: 2, severity: 'fail' });
  });
  it('blank collapse after 5 epochs above 90%', () => {
    const a = run(new TrainingDoctor(), Array.from({ length: 8 }, (_, i) => obs(i + 1, { blankRate: 0.97 })));
    expect(a.map((x) => [x.id, x.epoch])).toEqual([['blank-collapse', 5]]);
  });
  it('plateau: loss flat for 20 epochs while WER is not 0', () => {
    const a = run(new TrainingDoctor(), Array.from({ length: 25 }, (_, i) => obs(i + 1, { loss: 4.98 + 0.001 * (i % 2), wer: 0.92 })));
    expect(a.map((x) => [x.id, x.epoch])).toEqual([['plateau', 20]]);
  });
  it('loss falls but WER does not: decoding problem', () => {
    const a = run(new TrainingDoctor(), Array.from({ length: 15 }, (_, i) => obs(i + 1, { loss: 20 * 0.9 ** i, wer: 0.95 })));
    expect(a.map((x) => x.id)).toContain('decoding');
  });
  it('vanishing and exploding gradients', () => {
    expect(run(new TrainingDoctor(), [obs(1, { gradNorm: 1e-9 })])[0]).toMatchObject({ id: 'vanishing-gradients', severity: 'fail' });
    expect(run(new TrainingDoctor(), [obs(1, { gradNorm: 5e3 })])[0]).toMatchObject({ id: 'exploding-gradients' });
  });
  it('early stopping about to end a run whose WER is above 90%', () => {
    const a = run(new TrainingDoctor(), [obs(44, { wer: 0.92, earlyStopping: { counter: 12, patience: 15 } }), obs(45, { wer: 0.92, earlyStopping: { counter: 13, patience: 15 } })]);
    expect(a.map((x) => [x.id, x.epoch])).toEqual([['early-stop-high-wer', 45]]);
    expect(run(new TrainingDoctor(), [obs(45, { wer: 0.3, earlyStopping: { counter: 14, patience: 15 } })])).toEqual([]);
  });
});
