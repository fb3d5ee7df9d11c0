import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { makeBatch, tokenIndex } from '../../data/batch';
import { memorySource, type SampleInfo } from '../../data/source';
import { createModel, modelConfig } from '../model/registry';
import type { ArchKnobs } from '../model/presets';
import { deviceRates, flopsAs, infeasibleAt4, measureRunSpeed, medianBatch, profileDue, profileStep, SPEED_PROFILE, trainableInfos } from './profile';
import { STAGES } from './speed';
import { Trainer } from './trainer';
import { demoRecords, SMALL_TRAIN } from './test_setup';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const snapshot = (vs: Iterable<tf.Variable>) => [...vs].map((v) => Array.from(v.dataSync()));

describe('step profiler (cpu backend)', () => {
  it('splits a step into its stages: all present, non-negative, disjoint; the run’s weights, optimizer and tensor count untouched', async () => {
    const { meta, samples } = demoRecords();
    const trainer = new Trainer(meta, samples, { ...SMALL_TRAIN, accumulationSteps: 1, epochs: 1, maxTrainSamples: 8 }); // one step: optimizer slots no longer zero
    try {
      await trainer.run();
      const index = tokenIndex(meta.vocab);
      const picked = samples.filter((s) => s.split === 'train').slice(0, 8);
      const weights = snapshot(trainer.model.params.values());
      const slots = snapshot(trainer.optimizer.slots.values());
      const tensors = tf.memory().numTensors;
      const t0 = performance.now();
      const p = await profileStep({
        model: trainer.model,
        optimizer: trainer.optimizer,
        load: async () => ({ batch: makeBatch(picked, meta, index) }),
        microBatches: 1,
        lr: 1e-2,
        clipNorm: 5,
        dropoutSeed: 3,
      });
      const elapsed = performance.now() - t0;
      expect(Object.keys(p.wallMs).sort()).toEqual([...STAGES].sort());
      for (const s of STAGES) expect(p.wallMs[s], s).toBeGreaterThanOrEqual(0);
      expect(p.wallMs.forward).toBeGreaterThan(0);
      expect(p.wallMs.backward + p.wallMs.forward + p.wallMs.ctc).toBeGreaterThan(0);
      // The stages are disjoint intervals of the call (bookkeeping, not speed): their sum fits in it.
      expect(STAGES.reduce((a, s) => a + p.wallMs[s], 0)).toBeLessThanOrEqual(elapsed);
      expect(p.method).toBe('timers');
      expect(p.note).toMatch(/cpu backend has no timestamp queries/);
      expect(p.gpuMs).toBeNull();
      expect(p.dispatches).toBeNull();
      expect(p.batch).toEqual({ B: 8, T: Math.max(...picked.map((s) => s.frames)) });
      expect(p.flops).toBe(3 * picked.reduce((a, s) => a + trainer.model.forwardFlops(s.frames), 0));
      expect(p.activationBytes).toBeGreaterThan(0);
      expect(p.paramBytes).toBe(4 * trainer.model.paramCount());
      expect(p.slotBytes).toBe(2 * p.paramBytes); // Adam: m and v
      expect(tf.memory().numTensors).toBe(tensors);
      expect(snapshot(trainer.model.params.values())).toEqual(weights);
      expect(snapshot(trainer.optimizer.slots.values())).toEqual(slots);
      // Accumulation: the micro-batch's FLOPs count A times.
      const p2 = await profileStep({
        model: trainer.model,
        optimizer: trainer.optimizer,
        load: async () => ({ batch: makeBatch(picked, meta, index) }),
        microBatches: 2,
        lr: 1e-2,
        clipNorm: 5,
        dropoutSeed: 3,
      });
      expect(p2.flops).toBe(2 * p.flops);
      expect(p2.microBatches).toBe(2);
      expect(tf.memory().numTensors).toBe(tensors);
    } finally {
      trainer.dispose();
    }
  });

  it('the report of a run: stages, rates, projection; ×4 advised exactly when every training sample stays feasible', async () => {
    const { meta, samples } = demoRecords();
    const trainer = new Trainer(meta, samples, { ...SMALL_TRAIN, epochs: 3 });
    try {
      const tensors = tf.memory().numTensors;
      const r = await measureRunSpeed(trainer, memorySource(samples), 40, { matmulMinN: 64 });
      expect(tf.memory().numTensors).toBe(tensors);
      expect(r.stages.map((s) => s.stage)).toEqual([...STAGES]);
      expect(r.stepMs).toBe(40);
      expect(r.stepMeasured).toBe(true);
      expect(r.matmulFlops).toBeGreaterThan(0);
      expect(r.mfu).toBeCloseTo(r.flopsPerStep / 0.04 / r.matmulFlops, 9);
      expect(r.projection.epochSeconds).toBeCloseTo((trainer.stepsPerEpoch * 40) / 1000, 12);
      expect(r.projection.remainingEpochs).toBe(3);
      for (let i = 1; i < r.advice.length; i++) expect(r.advice[i - 1].speedup).toBeGreaterThanOrEqual(r.advice[i].speedup);
      // The demo's training samples all stay feasible at ×4: advised (its FLOPs saving clears the 5% bar).
      const train = trainableInfos(memorySource(samples).infos, tokenIndex(meta.vocab), trainer.model, SMALL_TRAIN.maxTrainSamples);
      expect(train.length).toBe(trainer.trainCount);
      expect(infeasibleAt4(train).count).toBe(0);
      expect(r.advice.map((a) => a.id)).toContain('subsample-4');
      expect(r.findings).toEqual([]);
    } finally {
      trainer.dispose();
    }
  });

  it('one training sample infeasible at ×4: no ×4 advice, and the report says which sample', async () => {
    const { meta, samples } = demoRecords();
    // 6 alternating tokens in 12 frames: 6 output frames at ×2 (feasible), 3 at ×4 (not).
    const text = Array.from({ length: 6 }, (_, i) => meta.vocab[i % 2]).join(' ');
    const tight = {
      ...samples[0],
      index: samples.length,
      id: 'tight',
      split: 'train' as const,
      frames: 12,
      text,
      features: new Float32Array(12 * meta.featureDim).buffer,
    };
    const all = [tight, ...samples];
    const trainer = new Trainer(meta, all, { ...SMALL_TRAIN, epochs: 3 });
    try {
      const r = await measureRunSpeed(trainer, memorySource(all), 40, { matmulMinN: 64 });
      expect(r.advice.map((a) => a.id)).not.toContain('subsample-4');
      expect(r.findings.join(' ')).toMatch(
        /×4 time subsampling is not advised: 1 training sample would have fewer output frames than their transcript needs \(tight: 3 frames < 6 needed\)/,
      );
    } finally {
      trainer.dispose();
    }
  });

  it('FLOPs of another config equal those of a model built with it, for every preset and the options the advice weighs', () => {
    const F = 20,
      V = 12;
    const knobs: ArchKnobs[] = [
      { preset: 'tcn', channels: 32, layers: 3, hidden: 0, heads: 0, dropout: 0 },
      { preset: 'tconv-bilstm', channels: 32, layers: 2, hidden: 24, heads: 0, dropout: 0 },
      { preset: 'transformer', channels: 32, layers: 2, hidden: 0, heads: 4, dropout: 0 },
    ];
    const variants = (k: ArchKnobs): ArchKnobs[] => [
      { ...k, channels: k.channels / 2 },
      { ...k, layers: k.layers - 1 },
      ...(k.preset === 'tcn' ? [{ ...k, subsampling: 4 as const }] : []),
      ...(k.preset === 'tconv-bilstm' ? [{ ...k, channels: 16, hidden: 12, layers: 1 }] : []),
    ];
    for (const k of knobs) {
      const model = createModel(modelConfig(k, F, V), 1);
      for (const v of variants(k)) {
        const other = createModel(modelConfig(v, F, V), 1);
        for (const frames of [7, 40, 151])
          expect(flopsAs(model, modelConfig(v, F, V), frames), `${JSON.stringify(v)} T${frames}`).toBe(other.forwardFlops(frames));
        other.dispose();
      }
      expect(flopsAs(model, model.config, 40)).toBe(model.forwardFlops(40));
      model.dispose();
    }
  });

  it('training samples, ×4 feasibility and the median batch on planted samples', () => {
    const index = new Map([
      ['a', 1],
      ['b', 2],
    ]);
    const info = (id: string, frames: number, text: string, split: SampleInfo['split'] = 'train'): SampleInfo => ({ index: 0, id, frames, text, split });
    const infos = [
      info('ok', 40, 'a b a b'), // ×4: 10 frames ≥ 4
      info('tight', 9, 'a b a'), // ×2: 5 ≥ 3; ×4: 3 ≥ 3
      info('x4-bad', 12, 'a a b b'), // ×2: 6 ≥ 6 (two repeats need blanks); ×4: 3 < 6
      info('x2-bad', 6, 'a a b b'), // ×2: 3 < 6: the trainer leaves it out
      info('oov', 40, 'a c'),
      info('val', 40, 'a', 'val'),
    ];
    const model = createModel(modelConfig({ preset: 'tcn', channels: 8, layers: 1, hidden: 0, heads: 0, dropout: 0 }, 4, 3), 1);
    const train = trainableInfos(infos, index, model, 0);
    model.dispose();
    expect(train.map((t) => t.info.id)).toEqual(['ok', 'tight', 'x4-bad']);
    expect(infeasibleAt4(train)).toEqual({ count: 1, examples: ['x4-bad: 3 frames < 6 needed'] });
    expect(infeasibleAt4(train.slice(0, 2)).count).toBe(0);
    const many = [5, 90, 20, 40, 30, 10, 70].map((f, i) => ({ info: info(`s${i}`, f, 'a') }));
    expect(medianBatch(many, 3).map((s) => s.frames)).toEqual([20, 30, 40]);
    expect(medianBatch(many, 10).length).toBe(7);
  });

  it('device rates: a positive matmul rate and dispatch cost, measured once per session', async () => {
    const a = await deviceRates(64); // small on the cpu backend (the default 512² takes seconds there)
    expect(a.matmulFlops).toBeGreaterThan(0);
    expect(Number.isFinite(a.matmulFlops)).toBe(true);
    expect(a.dispatchMs).toBeGreaterThanOrEqual(0);
    expect(await deviceRates()).toBe(a);
  });

  it('profile schedule: after the warm-up steps, then every 10 minutes or when asked', () => {
    expect(profileDue(SPEED_PROFILE.firstAfterSteps - 1, null, 0, true)).toBe(false);
    expect(profileDue(SPEED_PROFILE.firstAfterSteps, null, 0, false)).toBe(true);
    expect(profileDue(50, 1000, 1000 + SPEED_PROFILE.everyMs - 1, false)).toBe(false);
    expect(profileDue(50, 1000, 1000 + SPEED_PROFILE.everyMs, false)).toBe(true);
    expect(profileDue(50, 1000, 1001, true)).toBe(true);
  });
});
