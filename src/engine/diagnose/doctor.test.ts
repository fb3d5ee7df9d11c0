import { describe, expect, it } from 'vitest';
import { TrainingDoctor, type DoctorObservation } from './doctor';

const obs = (epoch: number, o: Partial<DoctorObservation> = {}): DoctorObservation => ({
  epoch,
  loss: 10 / epoch,
  wer: Math.max(0, 1 - epoch / 50),
  blankRate: 0.6,
  gradNorm: 0.5,
  ...o,
});

function run(d: TrainingDoctor, xs: DoctorObservation[]) {
  return xs.flatMap((x) => d.observe(x));
}

describe('training doctor', () => {
  it('stays quiet on a healthy run', () => {
    expect(
      run(
        new TrainingDoctor(),
        Array.from({ length: 60 }, (_, i) => obs(i + 1)),
      ),
    ).toEqual([]);
  });
  it('non-finite loss fires at its epoch, once', () => {
    const a = run(new TrainingDoctor(), [obs(1), obs(2, { loss: NaN }), obs(3, { loss: Infinity })]);
    expect(a).toHaveLength(1);
    expect(a[0]).toMatchObject({ id: 'non-finite-loss', epoch: 2, severity: 'fail' });
  });
  it('blank collapse: above 90% blank for 5 epochs while the loss is stuck', () => {
    const a = run(
      new TrainingDoctor(),
      Array.from({ length: 8 }, (_, i) => obs(i + 1, { blankRate: 0.97, loss: 3.1 - 0.01 * i, wer: 1 })),
    );
    expect(a.map((x) => [x.id, x.epoch])).toEqual([['blank-collapse', 5]]);
    expect(a[0].message).toContain('while the loss fell only 1%');
  });
  it('blank-only epochs while the loss falls fast are the usual start of CTC training, not collapse', () => {
    // Calibration: this is a healthy run's first epochs (demo, tcn, Adam, lr 3e-3: blank rate 100%
    // for two epochs, loss 3.4 → 2.4 → 1.3, then tokens appear).
    const a = run(
      new TrainingDoctor(),
      Array.from({ length: 8 }, (_, i) => obs(i + 1, { blankRate: 0.99, loss: 10 * 0.8 ** i, wer: 1 })),
    );
    expect(a).toEqual([]);
  });
  it('plateau: loss flat for 20 epochs while WER is not 0', () => {
    const a = run(
      new TrainingDoctor(),
      Array.from({ length: 25 }, (_, i) => obs(i + 1, { loss: 4.98 + 0.001 * (i % 2), wer: 0.92 })),
    );
    expect(a.map((x) => [x.id, x.epoch])).toEqual([['plateau', 20]]);
  });
  it('training loss falls, validation WER does not, tokens emitted: the model does not generalise (validation decodes greedily: not a decoding problem)', () => {
    const a = run(
      new TrainingDoctor(),
      Array.from({ length: 15 }, (_, i) => obs(i + 1, { loss: 20 * 0.9 ** i, wer: 0.95 })),
    );
    expect(a.map((x) => x.id)).toEqual(['no-generalisation']);
    expect(a[0].message).toContain('fits its training samples without generalising');
    expect(a[0].message).not.toContain('greedy decoding'); // no decoding advice: validation is greedy already
  });
  it('the same numbers in the blank phase (blank rate above 90%) are no such alert', () => {
    expect(
      run(
        new TrainingDoctor(),
        Array.from({ length: 15 }, (_, i) => obs(i + 1, { loss: 20 * 0.9 ** i, wer: 1, blankRate: 0.97 })),
      ),
    ).toEqual([]);
  });
  it('vanishing gradients; non-finite gradients', () => {
    expect(run(new TrainingDoctor(), [obs(1, { gradNorm: 1e-9 })])[0]).toMatchObject({ id: 'vanishing-gradients', severity: 'fail' });
    expect(run(new TrainingDoctor(), [obs(1), obs(2, { gradNorm: NaN })])[0]).toMatchObject({ id: 'exploding-gradients', severity: 'fail', epoch: 2 });
  });
  it('a large first gradient norm under Adam with clipping is no alert (the issue: 370 at epoch 1, clipped to 5)', () => {
    const a = run(
      new TrainingDoctor({ optimizer: 'adam', clipNorm: 5 }),
      [370, 23, 7.1, 5.5, 4, 3.5, 3.2].map((g, i) => obs(i + 1, { gradNorm: g })),
    );
    expect(a).toEqual([]);
  });
  it('a gradient norm that keeps growing: warn with clipping, fail for SGD without it', () => {
    const growing = [0.5, 1.2, 3, 8, 20, 60].map((g, i) => obs(i + 1, { gradNorm: g }));
    const clipped = run(new TrainingDoctor({ optimizer: 'adam', clipNorm: 5 }), growing);
    expect(clipped.map((x) => [x.id, x.severity, x.epoch])).toEqual([['exploding-gradients', 'warn', 5]]);
    expect(clipped[0].message).toContain('0.500 → 1.20 → 3.00 → 8.00 → 20.0');
    expect(run(new TrainingDoctor({ optimizer: 'sgd', clipNorm: 0 }), growing)[0]).toMatchObject({ id: 'exploding-gradients', severity: 'fail' });
    // Noisy but not growing every epoch: quiet.
    expect(
      run(
        new TrainingDoctor(),
        [0.5, 1.2, 0.9, 8, 20, 60].map((g, i) => obs(i + 1, { gradNorm: g })),
      ),
    ).toEqual([]);
  });
  it('a measured healthy run is quiet (demo, tcn, Adam lr 3e-3, clip 5, 30 epochs, cpu backend: loss, val WER, blank rate, grad norm per epoch)', () => {
    // One row per epoch: loss, val WER, blank rate, grad norm.
    const measured = `
      3.4183 1 1 23.463
      2.3828 1 1 7.127
      1.318 0.4035 0.629 5.496
      0.3645 0.1053 0.508 5.498
      0.0824 0.0351 0.482 2.048
      0.0286 0.0526 0.528 1.258
      0.0164 0.0526 0.487 0.774
      0.0085 0.0351 0.543 0.46
      0.0056 0.0351 0.528 0.302
      0.0051 0.0351 0.558 0.311
      0.0031 0.0175 0.548 0.238
      0.0019 0.0175 0.558 0.124
      0.0011 0.0175 0.553 0.066
      0.001 0.0175 0.553 0.059
      0.0008 0.0175 0.548 0.047
      0.0009 0.0175 0.548 0.054
      0.0007 0.0351 0.563 0.039
      0.0006 0.0351 0.553 0.03
      0.0005 0.0175 0.553 0.026
      0.0005 0.0175 0.553 0.022
      0.0005 0.0175 0.553 0.025
      0.0008 0.0175 0.548 0.078
      0.0007 0.0175 0.533 0.047
      0.0005 0.0175 0.533 0.025
      0.0004 0.0175 0.533 0.022
      0.0006 0.0175 0.533 0.033
      0.0009 0.0175 0.533 0.072
      0.0007 0.0175 0.533 0.048
      0.0005 0.0175 0.533 0.027
      0.0004 0.0175 0.533 0.022
    `
      .trim()
      .split('\n')
      .map((row) => row.trim().split(' ').map(Number));
    const a = run(
      new TrainingDoctor({ optimizer: 'adam', clipNorm: 5 }),
      measured.map(([loss, wer, blankRate, gradNorm], i) => obs(i + 1, { loss, wer, blankRate, gradNorm })),
    );
    expect(a).toEqual([]);
  });
  it('a converged run whose loss flattens at a low WER is no plateau', () => {
    const a = run(
      new TrainingDoctor(),
      Array.from({ length: 30 }, (_, i) => obs(i + 1, { loss: 0.051 + 0.0001 * (i % 2), wer: 0.01 })),
    );
    expect(a).toEqual([]);
  });
  it('early stopping about to end a run whose WER is above 90%', () => {
    const a = run(new TrainingDoctor(), [
      obs(44, { wer: 0.92, earlyStopping: { counter: 12, patience: 15 } }),
      obs(45, { wer: 0.92, earlyStopping: { counter: 13, patience: 15 } }),
    ]);
    expect(a.map((x) => [x.id, x.epoch])).toEqual([['early-stop-high-wer', 45]]);
    expect(run(new TrainingDoctor(), [obs(45, { wer: 0.3, earlyStopping: { counter: 14, patience: 15 } })])).toEqual([]);
  });
  it('patience paused in the blank plateau: said once, with the numbers', () => {
    const msg = 'in the blank plateau since epoch 3, val loss −1.2%/epoch: patience paused';
    const a = run(new TrainingDoctor(), [obs(9, { wer: 1 }), obs(10, { wer: 1, patiencePaused: msg }), obs(11, { wer: 1, patiencePaused: msg })]);
    expect(a).toEqual([{ id: 'patience-paused', epoch: 10, severity: 'warn', message: `Early stopping waits at epoch 10: ${msg}.` }]);
  });
});
