// Average of the N best checkpoints (TrainConfig.averageBest N; 0 = off), as ESPnet averages its
// 10 best: the run keeps, on the device, the N weight sets with the lowest monitored metric among
// its evaluated epochs (the weights validation measured: the EMA when it is on), and at its end
// averages them element-wise (float32) into one model, evaluated and stored as the run's
// "averaged" checkpoint.
// Memory: N × the model's parameter bytes (4 per parameter) on the device, within
// AVERAGE_BUDGET_BYTES; a run asking for more is refused before it starts, naming the N that fits.
// Each kept set has a slot (0 … N-1; a better epoch takes the evicted one's slot): the run stores it
// as its own record ("kept", not listed) in the same transaction as the epoch's checkpoint, so a
// resumed run (after a reload, a stop or a crash) restores the same N sets and averages exactly what
// an uninterrupted run would. The records go when the average is stored, or with the run.

import * as tf from '@tensorflow/tfjs-core';
import { writeSafetensors, type StTensor } from '../checkpoint/safetensors';

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

/** Where a kept set lives: its slot (the record `${runId}-kept-${slot}`), and which epoch it holds. */
export interface KeptSlot extends KeptEpoch {
  slot: number;
}

/** The N best weight sets seen so far, by a metric where lower is better. */
export class BestWeights {
  private readonly kept: (KeptSlot & { weights: Map<string, tf.Tensor> })[] = [];

  constructor(readonly n: number) {}

  /**
   * Keeps a clone of `params` when `metric` is among the N lowest so far (ties: the earlier stays);
   * returns the slot it took (the evicted set's, or the next free one), or null when not kept.
   */
  offer(epoch: number, metric: number, params: Map<string, tf.Tensor>): KeptSlot | null {
    if (!Number.isFinite(metric) || this.n < 1) return null;
    let slot = this.freeSlot();
    if (this.kept.length >= this.n) {
      const worst = this.kept.reduce((w, k, i) => (k.metric > this.kept[w].metric ? i : w), 0);
      if (!(metric < this.kept[worst].metric)) return null;
      slot = this.kept[worst].slot;
      tf.dispose([...this.kept[worst].weights.values()]);
      this.kept.splice(worst, 1);
    }
    this.kept.push({ slot, epoch, metric, weights: new Map([...params].map(([k, v]) => [k, tf.clone(v)])) });
    return { slot, epoch, metric };
  }

  private freeSlot(): number {
    let slot = 0;
    while (this.kept.some((k) => k.slot === slot)) slot++;
    return slot;
  }

  /**
   * A stored set back in its slot (a resumed run): its tensors must be the model's (`like`: names and
   * shapes), and its slot free and below N.
   */
  restore(k: KeptSlot, tensors: Record<string, StTensor>, like: Map<string, tf.Tensor>): void {
    if (!Number.isInteger(k.slot) || k.slot < 0 || k.slot >= this.n || this.kept.some((x) => x.slot === k.slot))
      throw new Error(`kept weight set of epoch ${k.epoch}: slot ${k.slot} is taken or outside 0…${this.n - 1}`);
    const weights = new Map<string, tf.Tensor>();
    for (const [name, v] of like) {
      const t = tensors[name];
      if (!t || t.shape.join() !== v.shape.join()) {
        tf.dispose([...weights.values()]);
        throw new Error(`kept weight set of epoch ${k.epoch}: tensor ${name} is ${t ? `[${t.shape}]` : 'missing'}, the model needs [${v.shape}]`);
      }
      weights.set(name, tf.tensor(Float32Array.from(t.data), v.shape));
    }
    this.kept.push({ slot: k.slot, epoch: k.epoch, metric: k.metric, weights });
  }

  /** The kept set in `slot` as a .safetensors file (float32, its epoch and metric in the metadata). */
  async bytes(slot: number): Promise<Uint8Array> {
    const k = this.kept.find((x) => x.slot === slot);
    if (!k) throw new Error(`no kept weight set in slot ${slot}`);
    const tensors: Record<string, StTensor> = {};
    for (const [name, t] of k.weights) tensors[name] = { dtype: 'F32', shape: t.shape, data: (await t.data()) as Float32Array };
    return writeSafetensors(tensors, { format: 'ctc-lab-kept/1', epoch: String(k.epoch), metric: String(k.metric), slot: String(k.slot) });
  }

  /** The kept sets with their slots, best first. */
  get slots(): KeptSlot[] {
    return this.kept.map(({ slot, epoch, metric }) => ({ slot, epoch, metric })).sort((a, b) => a.metric - b.metric || a.epoch - b.epoch);
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
