// Mid-epoch checkpoints: a run stopped between two steps of an epoch and resumed from the
// checkpoint taken there continues with the same step losses, learning rates and epoch metrics
// as the uninterrupted run (loader position, shuffle seed, dropout seeds, accumulation boundary,
// schedule position, the epoch's partial sums). And a checkpoint is the state of the moment it
// was asked for, even when training goes on while it is being read back.

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { decodeCheckpoint } from '../checkpoint/checkpoint';
import { readSafetensors, writeSafetensors } from '../checkpoint/safetensors';
import type { TrainConfig } from './config';
import { resumeStateFrom, Trainer, type EpochMetrics, type StepMetrics } from './trainer';
import { demoRecords as demo, SMALL_TRAIN } from './test_setup';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// 32 samples in micro-batches of 4 → 8 micro-batches per epoch; with accumulation 2, 4 steps.
const small: TrainConfig = { ...SMALL_TRAIN, channels: 16, layers: 1, dropout: 0.2, batchSize: 4 };

/** Trains `cfg` uninterrupted, then again stopped after `stopAt` steps, resumed from that checkpoint; returns both. */
async function interrupted(cfg: TrainConfig, stopAt: number) {
  const { meta, samples } = demo();
  const straight: StepMetrics[] = [],
    straightEpochs: EpochMetrics[] = [];
  const a = new Trainer(meta, samples, cfg);
  await a.run({ onStep: (s) => void straight.push(s), onEpoch: (m) => void straightEpochs.push(m) });
  a.dispose();

  const b = new Trainer(meta, samples, cfg);
  const { reason } = await b.run({ shouldStop: () => b.state.step >= stopAt });
  const bytes = await b.checkpoint('demo');
  b.dispose();
  const { meta: ck, tensors } = decodeCheckpoint(bytes, 'mid.safetensors');
  const resumed: StepMetrics[] = [],
    resumedEpochs: EpochMetrics[] = [];
  const c = new Trainer(meta, samples, cfg, { state: resumeStateFrom(ck), tensors });
  await c.run({ onStep: (s) => void resumed.push(s), onEpoch: (m) => void resumedEpochs.push(m) });
  c.dispose();
  return { straight, straightEpochs, resumed, resumedEpochs, reason, position: ck.training.state.position, bytes };
}

function expectSameRun(r: Awaited<ReturnType<typeof interrupted>>, stopAt: number) {
  const rest = r.straight.filter((s) => s.step > stopAt);
  expect(r.resumed.map((s) => s.step)).toEqual(rest.map((s) => s.step));
  r.resumed.forEach((s, i) => {
    expect(s.epoch).toBe(rest[i].epoch);
    expect(s.loss).toBeCloseTo(rest[i].loss, 5);
    expect(s.gradNorm).toBeCloseTo(rest[i].gradNorm, 4);
    expect(s.lr).toBe(rest[i].lr);
  });
  // The interrupted epoch's metrics too: its partial sums came through the checkpoint.
  const last = r.straightEpochs.slice(-r.resumedEpochs.length);
  r.resumedEpochs.forEach((m, i) => {
    expect(m.epoch).toBe(last[i].epoch);
    expect(m.trainLoss).toBeCloseTo(last[i].trainLoss, 5);
    expect(m.gradNorm).toBeCloseTo(last[i].gradNorm, 4);
    expect(m.valLoss!).toBeCloseTo(last[i].valLoss!, 5);
    expect(m.valWer).toBe(last[i].valWer);
    expect(m.skippedBatches).toBe(last[i].skippedBatches);
  });
}

describe('mid-epoch checkpoints resume exactly (cpu backend)', () => {
  it('tcn, accumulation 2, dropout 0.2: stopped after step 3 of epoch 1 (of 4), resumed, same losses and epoch metrics', async () => {
    const r = await interrupted(small, 3);
    expect(r.reason).toBe('stopped by the user during epoch 1');
    expect(r.position).toMatchObject({ epoch: 1, batch: 6, shuffleSeed: small.seed * 100003 + 1, lossCount: 3, skipped: 0 });
    expect(r.resumed[0].step).toBe(4);
    expectSameRun(r, 3);
  }, 120_000);

  it('transformer, accumulation 1: stopped in the middle of epoch 2, resumed, same losses and epoch metrics', async () => {
    const cfg: TrainConfig = { ...small, preset: 'transformer', channels: 16, layers: 1, heads: 2, accumulationSteps: 1 };
    const r = await interrupted(cfg, 11); // 8 steps per epoch: step 11 is the 3rd of epoch 2
    expect(r.position).toMatchObject({ epoch: 2, batch: 3 });
    expectSameRun(r, 11);
  }, 120_000);

  it('a checkpoint after the last step of an epoch, before its validation, resumes into the validation', async () => {
    const { meta, samples } = demo();
    const straight: StepMetrics[] = [],
      straightEpochs: EpochMetrics[] = [];
    let pending: Promise<Uint8Array> | null = null;
    const a = new Trainer(meta, samples, small);
    // Taken by the afterStep hook at step 4, the epoch's last: training (validation, epoch 2) goes on meanwhile.
    await a.run({
      onStep: (s) => void straight.push(s),
      onEpoch: (m) => void straightEpochs.push(m),
      afterStep: () => void (a.state.step === 4 && (pending = a.checkpoint('demo'))),
    });
    a.dispose();
    const { meta: ck, tensors } = decodeCheckpoint(await pending!, 'end-of-steps.safetensors');
    expect(ck.training.state.position).toMatchObject({ epoch: 1, batch: 8, lossCount: 4 });
    expect(ck.history).toEqual([]);
    const resumed: StepMetrics[] = [],
      resumedEpochs: EpochMetrics[] = [];
    const c = new Trainer(meta, samples, small, { state: resumeStateFrom(ck), tensors });
    await c.run({ onStep: (s) => void resumed.push(s), onEpoch: (m) => void resumedEpochs.push(m) });
    c.dispose();
    expect(resumedEpochs.map((m) => m.epoch)).toEqual([1, 2]);
    expectSameRun({ straight, straightEpochs, resumed, resumedEpochs, reason: '', position: undefined, bytes: new Uint8Array() }, 4);
  }, 120_000);

  it('refuses a position whose shuffle seed or step boundary this run would not derive', async () => {
    const { meta, samples } = demo();
    const b = new Trainer(meta, samples, small);
    await b.run({ shouldStop: () => b.state.step >= 1 });
    const bytes = await b.checkpoint('demo');
    b.dispose();
    const edit = (f: (p: Record<string, number>) => void) => {
      const { tensors, metadata } = readSafetensors(bytes);
      const m = JSON.parse(metadata.ctc_lab);
      f(m.training.state.position);
      return decodeCheckpoint(writeSafetensors(tensors, { ...metadata, ctc_lab: JSON.stringify(m) }), 'x.safetensors');
    };
    for (const [f, msg] of [
      [
        (p: Record<string, number>) => (p.shuffleSeed += 1),
        `training.state.position.shuffleSeed ${small.seed * 100003 + 2} is not this run's (${small.seed * 100003 + 1})`,
      ],
      [(p: Record<string, number>) => (p.batch = 3), 'training.state.position.batch 3 is not a step boundary'],
    ] as const) {
      const { meta: ck, tensors } = edit(f);
      const c = new Trainer(meta, samples, small, { state: resumeStateFrom(ck), tensors });
      await expect(c.run()).rejects.toThrow(msg);
      c.dispose();
    }
  }, 60_000);

  it('a checkpoint is the state when it was asked for, though training goes on while it is read back', async () => {
    const { meta, samples } = demo();
    const cfg = { ...small, epochs: 1 };
    // Reference: stop after step 2 and encode at rest.
    const a = new Trainer(meta, samples, cfg);
    await a.run({ shouldStop: () => a.state.step >= 2 });
    const atRest = decodeCheckpoint(await a.checkpoint('demo'), 'rest');
    a.dispose();
    // Asked for after step 2 and not awaited: two more steps run before its bytes are used.
    const b = new Trainer(meta, samples, cfg);
    let pending: Promise<Uint8Array> | null = null;
    await b.run({ afterStep: () => void (b.state.step === 2 && (pending = b.checkpoint('demo'))) });
    expect(b.state.step).toBe(4);
    const snap = decodeCheckpoint(await pending!, 'snap');
    b.dispose();
    const noClock = (st: typeof snap.meta.training.state) => ({ ...st, position: { ...st.position!, seconds: 0 } });
    expect(noClock(snap.meta.training.state)).toEqual(noClock(atRest.meta.training.state));
    expect(snap.meta.history).toEqual([]);
    for (const [name, t] of Object.entries(atRest.tensors)) expect(snap.tensors[name].data).toEqual(t.data);
  }, 60_000);

  it('restoreBest survives a resume: the best checkpoint’s weights are the result when no later epoch improves', async () => {
    const { meta, samples } = demo();
    const cfg: TrainConfig = { ...small, epochs: 2, restoreBest: true, minDelta: 1e9 }; // nothing after epoch 1 counts as better
    const a = new Trainer(meta, samples, { ...cfg, epochs: 1 });
    await a.run();
    const { meta: ck, tensors } = decodeCheckpoint(await a.checkpoint('demo'), 'best.safetensors'); // epoch 1 improved (first value): the run's best
    a.dispose();
    const final = async (best?: typeof tensors) => {
      const t = new Trainer(meta, samples, cfg, { state: resumeStateFrom(ck), tensors, best });
      await t.run();
      const w = await t.model.params.get('model.head.weight')!.data();
      t.dispose();
      return w;
    };
    expect(await final(tensors)).toEqual(tensors['model.head.weight'].data);
    expect(await final()).not.toEqual(tensors['model.head.weight'].data); // without it, the last epoch's weights
  }, 60_000);
});
