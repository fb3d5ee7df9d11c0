// Average of the N best checkpoints (TrainConfig.averageBest N; 0 = off), as ESPnet averages its
// 10 best: the run keeps, on the device, the N weight sets with the lowest monitored metric among
// its evaluated epochs (the weights validation measured: the EMA when it is on), and at its end
// averages them element-wise (float32) into one model, evaluated and stored as the run's
// "averaged" checkpoint.
// Memory: N × the model's parameter bytes (4 per parameter) on the device, within
// AVERAGE_BUDGET_BYTES; a run asking for more is refused before it starts, naming the N that fits.
// The kept sets live in memory only: a resumed run averages the best epochs evaluated since it
// (re)started (the checkpoint records which epochs went in).

import * as tf from '@tensorflow/tfjs-core';

export { AVERAGE_BUDGET_BYTES, averageBestProblem, MAX_AVERAGE_BEST } from './averaging_settings';

/** The element-wise mean of weight sets with the same names and shapes (float32 on the device). */
export function averageWeights(sets: Map<string, tf.Tensor>[]): Map<string, tf.Tensor> {
  if (sets.length === 0) throw new Error('averageWeights: no weight sets to average');
  const out = new Map<string, tf.Tensor>();
  for (const name of sets[0].keys()) {
    const parts = sets.map((s, k) => {
      const t = s.get(name);
      if (!t || t.shape.join() !== sets[0].get(name)!.shape.join()) throw new Error(`averageWeights: set ${k} has ${t ? `[${t.shape}]` : 'no'} ${name}`);
      return t;
    });
    out.set(
      name,
      tf.tidy(() => tf.div(tf.addN(parts), sets.length)),
    );
  }
  return out;
}

export interface KeptEpoch {
  epoch: number;
  metric: number; // the monitored metric at that epoch (lower is better)
}

/** The N best weight sets seen so far, by a metric where lower is better. */
export class BestWeights {
  private readonly kept: (KeptEpoch & { weights: Map<string, tf.Tensor> })[] = [];

  constructor(readonly n: number) {}

  /** Keeps a clone of `params` when `metric` is among the N lowest so far (ties: the earlier stays); returns whether it was kept. */
  offer(epoch: number, metric: number, params: Map<string, tf.Tensor>): boolean {
    if (!Number.isFinite(metric) || this.n < 1) return false;
    if (this.kept.length >= this.n) {
      const worst = this.kept.reduce((w, k, i) => (k.metric > this.kept[w].metric ? i : w), 0);
      if (!(metric < this.kept[worst].metric)) return false;
      tf.dispose([...this.kept[worst].weights.values()]);
      this.kept.splice(worst, 1);
    }
    this.kept.push({ epoch, metric, weights: new Map([...params].map(([k, v]) => [k, tf.clone(v)])) });
    return true;
  }

  /** The kept epochs, best first. */
  get epochs(): KeptEpoch[] {
    return this.kept.map(({ epoch, metric }) => ({ epoch, metric })).sort((a, b) => a.metric - b.metric || a.epoch - b.epoch);
  }

  /** The mean of the kept sets (the caller disposes it); null when none was kept. */
  average(): Map<string, tf.Tensor> | null {
    return this.kept.length ? averageWeights(this.kept.map((k) => k.weights)) : null;
  }

  dispose(): void {
    for (const k of this.kept) tf.dispose([...k.weights.values()]);
    this.kept.length = 0;
  }
}
