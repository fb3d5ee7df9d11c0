// EMA of the weights (ema.ts) and the average of the N best (average.ts) in a real run on the cpu
// backend, against a float64 reference of the same arithmetic over the weights the run produced;
// an EMA run stopped mid-epoch and resumed from its checkpoint equals the uninterrupted one; the
// checkpoint layout ("model.…" the average, "train.model.…" the trained weights) and its refusals.

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { decodeCheckpoint } from '../checkpoint/checkpoint';
import { readSafetensors, writeSafetensors } from '../checkpoint/safetensors';
import type { TrainConfig } from './config';
import { AVERAGE_BUDGET_BYTES, averageBestProblem, averageWeights, BestWeights } from './average';
import { emaDecayProblem, TRAIN_WEIGHTS_PREFIX } from './ema';
import { resumeStateFrom, Trainer, type EpochMetrics, type StepMetrics } from './trainer';
import { demoRecords as demo, SMALL_TRAIN } from './test_setup';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// 32 samples in micro-batches of 4, accumulation 2: 4 steps an epoch, 2 epochs.
const cfg: TrainConfig = { ...SMALL_TRAIN, channels: 16, layers: 1, dropout: 0.2, batchSize: 4, emaDecay: 0.9 };

const read = (m: Map<string, tf.Tensor>) => new Map([...m].map(([k, v]) => [k, Float64Array.from(v.dataSync())]));
/** max |a − b| / max(|b|, 1e-3) over every tensor of two weight sets. */
function relErr(a: Map<string, ArrayLike<number>>, b: Map<string, ArrayLike<number>>): number {
  let worst = 0;
  for (const [k, x] of b) {
    const y = a.get(k)!;
    let d = 0,
      s = 1e-3;
    for (let i = 0; i < x.length; i++) {
      d = Math.max(d, Math.abs(y[i] - x[i]));
      s = Math.max(s, Math.abs(x[i]));
    }
    worst = Math.max(worst, d / s);
  }
  return worst;
}

describe('EMA of the weights', () => {
  it('equals a float64 reference of ema ← d·ema + (1 − d)·w over the run’s 8 steps; validation measures the average', async () => {
    const { meta, samples } = demo();
    const t = new Trainer(meta, samples, cfg);
    let ref = read(t.model.params); // the average starts at the initial weights
    const d = cfg.emaDecay;
    let applied = 0;
    let lastTrained = new Map<string, Float64Array>();
    const evalLoss: number[] = [];
    await t.run({
      onStep: (s) => void (s.skipped || applied++),
      afterStep: () => {
        const w = read(t.model.params);
        lastTrained = w;
        ref = new Map([...ref].map(([k, e]) => [k, e.map((x, i) => d * x + (1 - d) * w.get(k)![i])]));
      },
      onEpoch: async (m) => {
        // validation ran on the average: evaluating the trained weights gives another loss
        evalLoss.push(m.valLoss!);
      },
    });
    expect(applied).toBe(8);
    // the run ended (restoreBest): the model holds the best epoch's average; the EMA itself is the last step's
    expect(relErr(read(t.ema!.average), ref)).toBeLessThan(1e-6);
    // a checkpoint after the end still holds the trained weights as train.model.… (a resume with more epochs continues them)
    const ck = decodeCheckpoint(await t.checkpoint('demo'), 'end.safetensors');
    expect(relErr(new Map([...lastTrained].map(([k]) => [k, ck.tensors[TRAIN_WEIGHTS_PREFIX + k].data])), lastTrained)).toBe(0);
    t.dispose();

    // the same run without EMA validates other weights: a different val loss at epoch 2
    const plain = new Trainer(meta, samples, { ...cfg, emaDecay: 0 });
    const plainLoss: number[] = [];
    await plain.run({ onEpoch: (m) => void plainLoss.push(m.valLoss!) });
    plain.dispose();
    expect(Math.abs(plainLoss[1] - evalLoss[1])).toBeGreaterThan(1e-4);
  }, 120_000);

  it('a run stopped after step 3 and resumed from its checkpoint continues as the uninterrupted one (losses, val metrics, average)', async () => {
    const { meta, samples } = demo();
    const straight: StepMetrics[] = [],
      straightEpochs: EpochMetrics[] = [];
    const a = new Trainer(meta, samples, { ...cfg, restoreBest: false });
    await a.run({ onStep: (s) => void straight.push(s), onEpoch: (m) => void straightEpochs.push(m) });
    const straightEma = read(a.ema!.average);
    a.dispose();

    const b = new Trainer(meta, samples, { ...cfg, restoreBest: false });
    await b.run({ shouldStop: () => b.state.step >= 3 });
    const bytes = await b.checkpoint('demo');
    const trainedAt3 = read(b.model.params),
      emaAt3 = read(b.ema!.average);
    b.dispose();
    const ck = decodeCheckpoint(bytes, 'mid.safetensors');
    // the layout: model.… the average, train.model.… the trained weights
    for (const [k, e] of emaAt3) {
      expect(Array.from(ck.tensors[k].data)).toEqual(Array.from(Float32Array.from(e)));
      expect(Array.from(ck.tensors[TRAIN_WEIGHTS_PREFIX + k].data)).toEqual(Array.from(Float32Array.from(trainedAt3.get(k)!)));
    }
    const resumed: StepMetrics[] = [],
      resumedEpochs: EpochMetrics[] = [];
    const c = new Trainer(meta, samples, { ...cfg, restoreBest: false }, { state: resumeStateFrom(ck.meta), tensors: ck.tensors });
    await c.run({ onStep: (s) => void resumed.push(s), onEpoch: (m) => void resumedEpochs.push(m) });
    const resumedEma = read(c.ema!.average);
    c.dispose();
    const rest = straight.filter((s) => s.step > 3);
    expect(resumed.map((s) => s.step)).toEqual(rest.map((s) => s.step));
    resumed.forEach((s, i) => expect(s.loss).toBeCloseTo(rest[i].loss, 5));
    resumedEpochs.forEach((m, i) => {
      expect(m.valLoss!).toBeCloseTo(straightEpochs[i].valLoss!, 5);
      expect(m.valWer).toBe(straightEpochs[i].valWer);
    });
    expect(relErr(resumedEma, straightEma)).toBeLessThan(1e-6);
  }, 120_000);

  it('refuses an EMA checkpoint without its trained weights, and a decay outside (0, 1); a checkpoint without emaDecay loads with EMA off', async () => {
    const { meta, samples } = demo();
    const t = new Trainer(meta, samples, { ...cfg, epochs: 1, maxTrainSamples: 8 });
    await t.run();
    const bytes = await t.checkpoint('demo');
    t.dispose();
    const { tensors, metadata } = readSafetensors(bytes);
    const first = Object.keys(tensors).find((k) => k.startsWith(TRAIN_WEIGHTS_PREFIX))!;
    const { [first]: _gone, ...without } = tensors;
    expect(() => decodeCheckpoint(writeSafetensors(without, metadata), 'x.safetensors')).toThrow(`x.safetensors: tensor ${first} is missing`);
    const m = JSON.parse(metadata.ctc_lab);
    for (const bad of [1, -0.1, 1.5]) {
      m.training.config.emaDecay = bad;
      expect(() => decodeCheckpoint(writeSafetensors(tensors, { ...metadata, ctc_lab: JSON.stringify(m) }), 'x.safetensors')).toThrow(
        `x.safetensors: __metadata__.ctc_lab → training.config.emaDecay: expected 0 (off) or a decay in (0, 1), got ${bad}`,
      );
    }
    m.training.config.emaDecay = 0.9;
    for (const bad of [-1, 2.5, 51]) {
      m.training.config.averageBest = bad;
      expect(() => decodeCheckpoint(writeSafetensors(tensors, { ...metadata, ctc_lab: JSON.stringify(m) }), 'x.safetensors')).toThrow(
        `x.safetensors: __metadata__.ctc_lab → training.config.averageBest: expected an integer from 0 to 50, got ${bad}`,
      );
    }
    // an old checkpoint: no emaDecay, no train.model.… tensors
    delete m.training.config.emaDecay;
    delete m.training.config.averageBest;
    const old = Object.fromEntries(Object.entries(tensors).filter(([k]) => !k.startsWith(TRAIN_WEIGHTS_PREFIX)));
    const back = decodeCheckpoint(writeSafetensors(old, { ...metadata, ctc_lab: JSON.stringify(m) }), 'old.safetensors');
    expect(back.meta.training.config).toMatchObject({ emaDecay: 0, averageBest: 0 });
    expect(() => new Trainer(meta, samples, { ...cfg, emaDecay: 1 })).toThrow('emaDecay: expected 0 (off) or a number in (0, 1), got 1');
    expect(() => new Trainer(meta, samples, { ...cfg, averageBest: -1 })).toThrow('averageBest: expected 0 (off) or an integer from 1 to 50, got -1');
    expect(emaDecayProblem(0.999)).toBeNull();
    expect(emaDecayProblem(1)).toMatch(/^emaDecay: expected 0 \(off\) or a number in \(0, 1\), got 1$/);
  }, 60_000);
});

describe('average of the N best weight sets', () => {
  it('keeps the N lowest metrics (a tie with the worst kept: the earlier stays) and averages them as float64 does; a restored set of slots averages the same', async () => {
    const rng = (s: number) => () => ((s = (s * 16807) % 2147483647) / 2147483647) * 2 - 1;
    const r = rng(3);
    const sets = [0, 1, 2, 3, 4].map(
      () =>
        new Map<string, tf.Tensor>([
          ['a', tf.tensor(Array.from({ length: 12 }, r), [3, 4])],
          ['b', tf.tensor(Array.from({ length: 5 }, r), [5])],
        ]),
    );
    const metrics = [0.5, 0.3, 0.5, 0.1, 0.4];
    const kept = new BestWeights(3);
    const took = sets.map((s, i) => kept.offer(i + 1, metrics[i], s)?.slot ?? null);
    expect(took).toEqual([0, 1, 2, 0, 2]); // epoch 4 takes epoch 1's slot (0.5), epoch 5 epoch 3's (0.5)
    expect(kept.offer(6, 0.4, sets[0])).toBeNull(); // equal to the worst kept: the earlier stays
    expect(kept.offer(6, NaN, sets[0])).toBeNull();
    expect(kept.offer(7, 0.45, sets[0])).toBeNull(); // worse than all three kept
    expect(kept.epochs.map((e) => e.epoch)).toEqual([4, 2, 5]);
    expect(kept.slots).toEqual([
      { slot: 0, epoch: 4, metric: 0.1 },
      { slot: 1, epoch: 2, metric: 0.3 },
      { slot: 2, epoch: 5, metric: 0.4 },
    ]);
    // A resumed run restores each slot from its stored file: the same sets, the same average.
    const back = new BestWeights(3);
    for (const k of kept.slots) back.restore(k, readSafetensors(await kept.bytes(k.slot)).tensors, sets[0]);
    expect(back.slots).toEqual(kept.slots);
    const again = readSafetensors(await kept.bytes(1)).tensors;
    expect(() => back.restore({ slot: 1, epoch: 9, metric: 0 }, again, sets[0])).toThrow(/slot 1 is taken/);
    const avgBack = back.average()!;
    const avg = kept.average()!;
    const want = (name: string) => {
      const xs = [3, 1, 4].map((i) => Float64Array.from(sets[i].get(name)!.dataSync()));
      return xs[0].map((_, j) => (xs[0][j] + xs[1][j] + xs[2][j]) / 3);
    };
    expect(
      relErr(
        read(avg),
        new Map([
          ['a', want('a')],
          ['b', want('b')],
        ]),
      ),
    ).toBeLessThan(1e-6);
    expect(avg.get('a')!.shape).toEqual([3, 4]);
    for (const name of ['a', 'b']) expect(Array.from(avgBack.get(name)!.dataSync())).toEqual(Array.from(avg.get(name)!.dataSync()));
    back.dispose();
    tf.dispose([...avg.values(), ...avgBack.values(), ...sets.flatMap((s) => [...s.values()])]);
    kept.dispose();
    expect(() => averageWeights([])).toThrow('no weight sets');
  });

  it('states its memory: N × 4 bytes per parameter within the budget, refused above it naming the N that fits', () => {
    expect(averageBestProblem(10, 100_000)).toBeNull();
    const params = Math.floor(AVERAGE_BUDGET_BYTES / 4 / 5) + 1; // 5 sets are just over the budget
    expect(averageBestProblem(5, params)).toMatch(
      /^averageBest: 5 weight sets of this model \([\d,]+ parameters\) take 256\.0 MB of GPU memory, over the 256\.0 MB budget; at most 4 fit$/,
    );
    expect(averageBestProblem(-1, 10)).toMatch(/^averageBest: expected 0 \(off\) or an integer from 1 to 50, got -1$/);
  });

  it('a run with averageBest 2 averages its 2 best epochs (by val loss), evaluates and checkpoints the mean', async () => {
    const { meta, samples } = demo();
    const c2: TrainConfig = { ...cfg, emaDecay: 0, epochs: 3, averageBest: 2, monitor: 'val_loss' };
    const t = new Trainer(meta, samples, c2);
    const seen: { epoch: number; loss: number; w: Map<string, Float64Array> }[] = [];
    await t.run({ onEpoch: (m) => void seen.push({ epoch: m.epoch, loss: m.valLoss!, w: read(t.model.params) }) });
    const best = [...seen].sort((a, b) => a.loss - b.loss).slice(0, 2);
    expect(t.averagedEpochs.map((e) => e.epoch)).toEqual(best.map((b) => b.epoch));
    const out = (await t.averagedCheckpoint('demo'))!;
    t.dispose();
    const ck = decodeCheckpoint(out.bytes, 'averaged.safetensors');
    const want = new Map([...best[0].w].map(([k, x]) => [k, x.map((v, i) => (v + best[1].w.get(k)![i]) / 2)]));
    expect(relErr(new Map([...want.keys()].map((k) => [k, ck.tensors[k].data])), want)).toBeLessThan(1e-6);
    expect(ck.meta.averaged).toEqual({ epochs: best.map((b) => b.epoch), valWer: out.evaluation!.wer, valLoss: out.evaluation!.loss });
    expect(Number.isFinite(out.evaluation!.loss)).toBe(true);
  }, 120_000);
});
