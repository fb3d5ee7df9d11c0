// One optimizer step of CTC training, the same for a training run and the overfit test: the
// training forward of each micro-batch, its loss (CTC, or with a teacher ctcWeight·CTC + kdWeight·τ²·KL),
// the gradient of the mean loss over the micro-batches (gradient accumulation), the global norm,
// one asynchronous read-back, clipping, and the optimizer update. A step whose loss or norm is not
// finite never reaches the weights (it is reported as skipped).

import * as tf from '@tensorflow/tfjs-core';
import { ctcLoss } from '../ctc/ctc_loss';
import { distillationLoss } from '../distill/loss';
import type { DistillSettings } from '../distill/settings';
import type { SequenceModel } from '../model/model';
import type { Adam } from '../optim/adam';
import { globalNorm } from '../optim/norm';
import type { Sgd } from '../optim/sgd';
import { disposeBatchTensors, type BatchTensors } from './batch_tensors';

/** One micro-batch of a step, made when the step reaches it (its tensors live only that long unless `keep`). */
export interface MicroBatch {
  t: BatchTensors;
  keep?: boolean; // the caller owns `t` (the overfit test reuses its one batch every epoch); else the step disposes it
  dropoutSeed?: number; // a function of (seed, step, micro-batch) in training, so a resume draws the same masks
  teacherLogits?: tf.Tensor3D | null; // distillation: the teacher's logits, computed outside the tape (no gradient reaches the teacher); disposed by the step
}

export interface StepSettings {
  lr: number; // this step's learning rate (schedules are the caller's)
  clipNorm: number; // clip the accumulated gradient to this global norm; 0 = no clipping
  distill?: DistillSettings | null; // with a teacher: the loss weights and temperature
  /** A tensor of the micro-batches' training logits to read back with the step's metrics (the overfit test: the argmax). */
  alsoRead?: (logits: tf.Tensor3D) => tf.Tensor;
  /** Called once the step's GPU work is submitted, before its read-back resolves (training prefetches the next batches here). */
  whileRunning?: () => void;
}

export interface StepOutcome {
  loss: number; // the mean loss over the micro-batches (with a teacher: the weighted total)
  gradNorm: number; // global norm of the accumulated gradient, before clipping
  kd: number | undefined; // with a teacher: the mean τ²·KL term (unweighted)
  applied: boolean; // false: the loss or the norm was not finite and the weights were left as they were
  read: Float32Array | null; // what `alsoRead` asked for, flattened, in micro-batch order
}

/** One optimizer step over `micro` (each made when reached); returns its metrics, read once. */
export async function trainStep(model: SequenceModel, optimizer: Adam | Sgd, micro: (() => MicroBatch)[], s: StepSettings): Promise<StepOutcome> {
  const vars = [...model.params.values()];
  const byTfName = new Map([...model.params].map(([name, v]) => [v.name, name]));
  const n = micro.length;
  // Accumulate the gradient of the mean loss over the step's micro-batches.
  let acc: Record<string, tf.Tensor> | null = null;
  let lossT: tf.Tensor = tf.scalar(0);
  let kdT: tf.Tensor = tf.scalar(0);
  const extra: tf.Tensor[] = [];
  for (const make of micro) {
    const { t, keep, dropoutSeed, teacherLogits } = make();
    const kept: tf.Tensor[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const logits = model.apply(t, true, dropoutSeed);
      if (s.alsoRead) extra.push(tf.keep(s.alsoRead(logits)));
      if (!teacherLogits) return tf.div(ctcLoss(logits, t.labels, t.xl, t.yl), n) as tf.Scalar;
      const l = distillationLoss(logits, teacherLogits, t, s.distill!);
      kept.push(tf.keep(l.kd));
      return tf.div(l.total, n) as tf.Scalar;
    }, vars);
    if (!keep) disposeBatchTensors(t);
    teacherLogits?.dispose();
    for (const kd of kept) {
      const prevKd = kdT;
      kdT = tf.tidy(() => tf.add(prevKd, tf.div(kd, n)));
      tf.dispose([prevKd, kd]);
    }
    const prevLoss = lossT;
    lossT = tf.add(lossT, value);
    prevLoss.dispose();
    value.dispose();
    if (!acc) acc = grads;
    else {
      const next: Record<string, tf.Tensor> = {};
      for (const key of Object.keys(grads)) next[key] = tf.add(acc[key], grads[key]);
      tf.dispose([...Object.values(acc), ...Object.values(grads)]);
      acc = next;
    }
  }
  const gradsAcc = acc!;
  const norm = globalNorm(Object.values(gradsAcc));
  // One asynchronous read per step: [loss, norm, (kd), ...alsoRead]; the loss and the norm decide whether the step is applied.
  const all = tf.tidy(() => {
    const head = tf.stack(s.distill ? [lossT, norm, kdT] : [lossT, norm]);
    return extra.length ? tf.concat([head, ...extra.map((x) => tf.reshape(x, [-1]).toFloat())]) : head;
  });
  tf.dispose([lossT, kdT, ...extra]);
  const read = all.data(); // submits the step's GPU work
  s.whileRunning?.();
  const m = (await read) as Float32Array;
  all.dispose();
  const head = s.distill ? 3 : 2;
  const [loss, gn] = m;
  const applied = Number.isFinite(loss) && Number.isFinite(gn);
  if (applied) {
    const scale = s.clipNorm > 0 && gn > s.clipNorm ? s.clipNorm / gn : 1;
    const named: Record<string, tf.Tensor> = {};
    for (const [tfName, g] of Object.entries(gradsAcc)) named[byTfName.get(tfName)!] = scale === 1 ? g : tf.mul(g, scale);
    optimizer.apply(model.params, named, s.lr);
    if (scale !== 1) tf.dispose(Object.values(named));
  }
  tf.dispose([norm, ...Object.values(gradsAcc)]);
  return { loss, gradNorm: gn, kd: s.distill ? m[2] : undefined, applied, read: extra.length ? m.subarray(head) : null };
}
