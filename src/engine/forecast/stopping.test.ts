import { readFileSync, writeFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import type { EpochRecord, HistoryRow } from '../../data/types';
import { checkpointMeta, decodeCheckpoint, encodeCheckpoint } from '../checkpoint/checkpoint';
import { createModel, modelConfig } from '../model/registry';
import { Adam } from '../optim/adam';
import { TRAIN_DEFAULTS } from '../train/config';
import { resumeStateFrom } from '../train/run_checkpoint';
import { EarlyStopping, type EarlyStoppingConfig } from '../train/early_stopping';
import { judgeStall, type StallJudgement } from './stopping';

const row = (epoch: number, valLoss: number | null, valWer: number | null, blankRate: number | null, trainLoss = valLoss ?? 3): HistoryRow => ({
  epoch,
  trainLoss,
  valLoss,
  valWer,
  blankRate,
});
const cfg = (patience: number, monitor: EarlyStoppingConfig['monitor'] = 'val_wer'): EarlyStoppingConfig => ({
  patience,
  minDelta: 0.01,
  monitor,
  restoreBest: true,
});

/** Replays a history through early stopping as the trainer does: the stop epoch, reason, paused epochs, first pause message. */
function replay(history: HistoryRow[], c: EarlyStoppingConfig, es = new EarlyStopping(c), from = 0) {
  const paused: number[] = [];
  let firstPause: string | null = null;
  for (let i = from; i < history.length; i++) {
    const r = history[i];
    if (r.valLoss == null && r.valWer == null) continue;
    const { stop, judgement } = es.update(r.epoch, (c.monitor === 'val_wer' ? r.valWer : r.valLoss) as number, history.slice(0, i + 1));
    if (judgement?.paused) {
      paused.push(r.epoch);
      firstPause ??= judgement.message;
    }
    if (stop) return { stop: r.epoch, reason: es.reason(judgement), paused, firstPause };
  }
  return { stop: null, reason: null, paused, firstPause };
}
/** The plain rule (no history): where it would stop. */
function plain(history: HistoryRow[], c: EarlyStoppingConfig) {
  const es = new EarlyStopping(c);
  for (const r of history) if (r.valWer != null && es.update(r.epoch, (c.monitor === 'val_wer' ? r.valWer : r.valLoss) as number).stop) return r.epoch;
  return null;
}

// Synthetic: 30 epochs; val loss 3·0.98^e in the plateau (WER 1, blank 1) unless said otherwise.
const falling = Array.from({ length: 30 }, (_, i) => row(i + 1, 3 * 0.98 ** (i + 1) * (1 + 0.002 * Math.sin(7 * i)), 1, 1));
const flat = Array.from({ length: 30 }, (_, i) => row(i + 1, 3.1 * (1 + 0.003 * Math.sin(7 * i)), 1, 1));

describe('judgeStall', () => {
  it('pauses patience in the blank plateau while val loss falls beyond noise, with the numbers', () => {
    const j = judgeStall(falling.slice(0, 12));
    expect(j.paused).toBe(true);
    expect(j.trend).toBe('falling');
    expect(j.message).toBe('in the blank plateau since epoch 1, val loss −2.0%/epoch: patience paused');
  });
  it('counts a stuck plateau, naming the signal', () => {
    const j = judgeStall(flat.slice(0, 20));
    expect(j.paused).toBe(false);
    expect(j.trend).toBe('flat');
    expect(j.message).toMatch(/^in the blank plateau since epoch 1, val loss flat within noise \([−+]0\.\d\d%\/epoch ± 0\.\d\d%\): patience counts$/);
  });
  it('counts a run past the plateau even while val loss falls (a healthy run stops where the plain rule stops it)', () => {
    const h = falling.map((r) => ({ ...r, valWer: 0.3, blankRate: 0.9 }));
    const j = judgeStall(h.slice(0, 12));
    expect(j.paused).toBe(false);
    expect(j.message).toBe('past the blank plateau (val WER 30%), val loss falling (−2.0%/epoch ± 0.04%): patience counts');
  });
  it('a WER-monitored run whose WER has not moved from blank output pauses while val loss falls, even at blank rates below 0.99', () => {
    const h = falling.map((r) => ({ ...r, blankRate: 0.97 }));
    expect(judgeStall(h.slice(0, 10)).paused).toBe(true);
  });
  it('uses epoch numbers with evaluation every N epochs, and train loss when there is no val loss', () => {
    const every3 = falling.map((r) => (r.epoch % 3 === 0 ? r : { ...r, valLoss: null, valWer: null, blankRate: null }));
    const j = judgeStall(every3.slice(0, 24));
    expect(j.paused).toBe(true);
    expect(j.rate).toBeCloseTo(-0.02, 3); // per epoch, not per evaluation
    const noVal = falling.map((r) => ({ ...r, valLoss: null }));
    expect(judgeStall(noVal.slice(0, 10)).signal).toBe('train loss');
  });
  it('too short or broken histories: a clear message, patience counts', () => {
    const every3 = falling.map((r) => (r.epoch % 3 === 0 ? r : { ...r, valLoss: null, valWer: null, blankRate: null }));
    expect(judgeStall(every3.slice(0, 9))).toMatchObject({
      paused: false,
      signal: null,
      message: 'too short to judge the trend: 3 epochs with val loss, 4 needed; patience counts',
    });
    expect(judgeStall(falling.slice(0, 2)).message).toBe('too short to judge the trend: 2 epochs with val loss, 4 needed; patience counts');
    const resumed = [...falling.slice(0, 10), ...falling.slice(8, 12)];
    expect(judgeStall(resumed)).toMatchObject({
      paused: false,
      message: "cannot judge the trend: epoch 9 follows epoch 10 (a resumed run's repeated epochs?); patience counts",
    });
    const nan = falling.slice(0, 10).map((r) => (r.epoch === 7 ? { ...r, valLoss: NaN } : r));
    expect(judgeStall(nan)).toMatchObject({ paused: false, message: 'cannot judge the trend: epoch 7 has val loss NaN; patience counts' });
  });
});

describe('early stopping with the plateau-aware rule', () => {
  it('a plateau with falling loss is not stopped; a stuck one is, with the signal in the reason', () => {
    expect(plain(falling, cfg(15))).toBe(16);
    expect(replay(falling, cfg(15)).stop).toBeNull();
    const r = replay(flat, cfg(15));
    expect(r.stop).toBe(16);
    expect(r.reason).toMatch(/^early stopping: no val_wer improvement > 0\.01 for 15 epochs \(best 1\.0000 at epoch 1\); val loss flat within noise \(/);
  });
  it('resumes with the same decisions: state and history from any epoch', () => {
    const h = [...falling.slice(0, 15), ...flat.slice(15).map((r) => ({ ...r, valLoss: r.valLoss! * 0.74 }))];
    const whole = replay(h, cfg(10));
    for (const cut of [5, 12, 20]) {
      const es = new EarlyStopping(cfg(10));
      const first = replay(h.slice(0, cut), cfg(10), es);
      const resumed = replay(h, cfg(10), new EarlyStopping(cfg(10), JSON.parse(JSON.stringify(es.state))), cut);
      expect({ ...resumed, paused: [...first.paused, ...resumed.paused], firstPause: first.firstPause ?? resumed.firstPause }).toEqual(whole);
    }
  });
});

const FIXTURE = new URL('./fixtures/stopping.json', import.meta.url);
const HISTORIES = new URL('./fixtures/histories/', import.meta.url);
const NAMES = ['plateau-ends', 'plateau-never-ends', 'healthy', 'overfitting'];

function decisions() {
  const runs: Record<string, StallJudgement[]> = {};
  const decided = [];
  for (const name of NAMES) {
    const { history } = JSON.parse(readFileSync(new URL(`${name}.json`, HISTORIES), 'utf8')) as { history: HistoryRow[] };
    runs[name] = history.map((_, i) => judgeStall(history.slice(0, i + 1)));
    for (const patience of [15, 40, 10, 5])
      for (const monitor of ['val_wer', 'val_loss'] as const) {
        const c = cfg(patience, monitor);
        decided.push({ name, patience, monitor, plainStop: plain(history, c), ...replay(history, c) });
      }
  }
  return { judgements: runs, decisions: decided };
}

describe('recorded histories (real twin runs)', () => {
  const all = decisions();
  const at = (name: string, patience: number, monitor = 'val_wer') =>
    all.decisions.find((d) => d.name === name && d.patience === patience && d.monitor === monitor)!;
  it("plateau-ends is not stopped during its plateau (patience 15: the issue's failure)", () => {
    const d = at('plateau-ends', 15);
    expect(d.plainStop).not.toBeNull();
    expect(d.stop).toBeNull();
    expect(d.paused.length).toBeGreaterThan(0);
  });
  it('plateau-never-ends stops and names the signal', () => {
    for (const p of [15, 40]) {
      const d = at('plateau-never-ends', p);
      if (d.plainStop !== null) expect(d.stop).not.toBeNull();
    }
    expect(at('plateau-never-ends', 15).reason).toMatch(/; val loss flat within noise/);
  });
  it('healthy and overfitting stop where the plain rule stops them', () => {
    for (const name of ['healthy', 'overfitting'])
      for (const p of [15, 40, 10, 5])
        for (const monitor of ['val_wer', 'val_loss']) {
          const d = at(name, p, monitor);
          if (d.stop === d.plainStop) continue;
          // else the plain rule stopped it inside its blank plateau (overfitting at patience 5 and 10: val WER 100% to
          // epoch 13): the new rule stops it later, past the plateau, naming the rising or flat val loss
          expect(all.judgements[name][d.plainStop! - 1].plateauSince).not.toBeNull();
          expect(d.reason).toMatch(/; val loss (rising|flat within noise)/);
        }
  });
  it('stopping.json holds what the lab decides (rewrite with UPDATE_STOPPING_FIXTURES=1); the twin asserts it', () => {
    const now = JSON.parse(JSON.stringify(all)) as unknown;
    if (process.env.UPDATE_STOPPING_FIXTURES) writeFileSync(FIXTURE, `${JSON.stringify(now)}\n`);
    expect(JSON.parse(readFileSync(FIXTURE, 'utf8'))).toEqual(now);
  });
});

describe('resume through a checkpoint', () => {
  it('a checkpoint written while patience is paused resumes with the same decisions (plateau-never-ends, patience 15)', async () => {
    await tf.setBackend('cpu');
    const { history } = JSON.parse(readFileSync(new URL('plateau-never-ends.json', HISTORIES), 'utf8')) as { history: EpochRecord[] };
    const c = cfg(15);
    const whole = replay(history, c);
    const cut = 8; // epochs 4–8 were paused: the state's counter is 1, not 6
    const es = new EarlyStopping(c);
    const first = replay(history.slice(0, cut), c, es);
    expect(first.paused).toEqual([4, 5, 6, 7, 8]);
    const vocab = ['a', 'b'];
    const model = createModel(modelConfig({ preset: 'tcn', channels: 4, layers: 1, hidden: 4, heads: 1, dropout: 0 }, 2, vocab.length + 1), 1);
    const adam = new Adam(model.params, { lr: 1e-3 });
    const meta = checkpointMeta({
      model: { ...model.config },
      subsampling: model.subsampling,
      vocab,
      normalisation: { mean: [0, 0], std: [1, 1] },
      training: { config: { mode: 'train', ...TRAIN_DEFAULTS, patience: 15 }, state: { epoch: cut, step: cut * 13, seed: 1, earlyStopping: { ...es.state } } },
      history: history.slice(0, cut),
      dataset: { id: 'ds', name: 'digits-shuffled' },
    });
    const decoded = decodeCheckpoint(await encodeCheckpoint(new Map([...model.params, ...adam.slots]), meta));
    model.dispose();
    adam.dispose();
    const st = resumeStateFrom(decoded.meta);
    const resumed = replay([...st.history, ...history.slice(cut)], c, new EarlyStopping(c, st.earlyStopping), cut);
    expect(resumed.stop).toBe(26);
    expect(resumed.reason).toBe(whole.reason);
    expect([...first.paused, ...resumed.paused]).toEqual(whole.paused);
  });
});
