// Learning-rate schedules: linear warmup for `warmupEpochs`, then cosine or step decay until the
// last epoch. Evaluated per optimizer step from (step, stepsPerEpoch) so that resuming at any
// step gives the same rate.

export interface ScheduleConfig {
  lr: number; // peak learning rate after warmup
  warmupEpochs: number; // linear warmup from lr / 100 (0 = none)
  decay: 'none' | 'cosine' | 'step';
  epochs: number; // total planned epochs (cosine reaches minLrRatio * lr at the end)
  minLrRatio: number; // floor of cosine decay, usual 0.01
  stepEvery: number; // step decay: epochs between drops, usual 30
  stepGamma: number; // step decay factor, usual 0.5
}

export const SCHEDULE_DEFAULTS: ScheduleConfig = { lr: 5e-4, warmupEpochs: 5, decay: 'cosine', epochs: 150, minLrRatio: 0.01, stepEvery: 30, stepGamma: 0.5 };

/** Learning rate for optimizer step `step` (0-based), with `stepsPerEpoch` updates per epoch. */
export function learningRate(c: ScheduleConfig, step: number, stepsPerEpoch: number): number {
  const epoch = step / Math.max(stepsPerEpoch, 1); // fractional epochs done
  if (c.warmupEpochs > 0 && epoch < c.warmupEpochs) {
    const start = c.lr / 100;
    return start + (c.lr - start) * (epoch / c.warmupEpochs);
  }
  const after = epoch - c.warmupEpochs;
  const span = Math.max(c.epochs - c.warmupEpochs, 1e-9);
  if (c.decay === 'cosine') {
    const p = Math.min(after / span, 1);
    const floor = c.lr * c.minLrRatio;
    return floor + (c.lr - floor) * 0.5 * (1 + Math.cos(Math.PI * p));
  }
  if (c.decay === 'step') return c.lr * c.stepGamma ** Math.floor(after / c.stepEvery);
  return c.lr;
}
