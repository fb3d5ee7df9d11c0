// Import sweep results: the twin's trials.jsonl. fixtures/twin_sweep/ is a real run of
// `python -m ctc_lab sweep spec.json DS -o out` (Optuna, python/tests/conftest.py make_dataset(n=24,
// splits=True), the spec beside it): the base complete over 3 epochs, two variations pruned at epoch 1.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSweepSpec } from './sweep_spec';
import { parseTrialsJsonl } from './sweep_results';
import { bestTrial, sweepVerdict, trialBest } from './sweep_run';

const dir = join(__dirname, 'fixtures', 'twin_sweep');
const text = readFileSync(join(dir, 'trials.jsonl'), 'utf8');
const spec = parseSweepSpec(JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')));

describe("the twin's trials.jsonl", () => {
  it('reads a real sweep: trials in order, states, each epoch on the spec metric (val loss), the best and the verdict', () => {
    const rows = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { value: number | null; epochs: { valLoss: number }[] });
    const trials = parseTrialsJsonl(text, 'trials.jsonl', spec.metric);
    expect(trials.map((t) => [t.name, t.state, t.curve.length])).toEqual([
      ['base', 'complete', 3],
      ['lr ×1e-4', 'pruned', 1],
      ['dropout 0.1', 'pruned', 1],
    ]);
    expect(trials[1].changes).toEqual({ lr: 3.0000000000000004e-7 }); // lr 3e-3 × 1e-4 as the twin computed it
    expect(trials[0].curve.map((c) => c.value)).toEqual(rows[0].epochs.map((e) => e.valLoss));
    expect(trialBest(trials[0])).toBe(rows[0].value); // the twin's value: the best epoch's metric
    expect(bestTrial({ trials })).toBe(0);
    expect(sweepVerdict({ trials }, spec.metric)).toBe(`the base is best: ${rows[0].value!.toFixed(3)} val loss; no change beat it`);
    // Without the spec: val WER, lines in any order.
    const reversed = text.trim().split('\n').reverse().join('\n');
    const byWer = parseTrialsJsonl(reversed, 'trials.jsonl', 'val_wer');
    expect(byWer.map((t) => t.name)).toEqual(['base', 'lr ×1e-4', 'dropout 0.1']);
    expect(byWer[0].curve[0].value).toBe(byWer[0].curve[0].valWer);
  });

  const good = text.trim().split('\n')[0];
  const edit = (f: (o: Record<string, unknown>) => void) => {
    const o = JSON.parse(good) as Record<string, unknown>;
    f(o);
    return JSON.stringify(o);
  };
  it.each([
    ['not JSON', `${good}\n{"number": 1,`, /^trials\.jsonl line 2: \(line\): not JSON/],
    ['a list', '[1, 2]', /^trials\.jsonl line 1: \(line\): expected an object/],
    ['no number', edit((o) => delete o.number), /line 1: number: expected a trial number/],
    ['a number twice', `${good}\n\n${good}`, /line 3: number: trial 0 is listed twice/],
    ['an unknown state', edit((o) => (o.state = 'running')), /line 1: state: expected "complete", "pruned" or "failed", got "running"/],
    ['an unknown setting', edit((o) => (o.changes = { learningRate: 1 })), /line 1: changes\.learningRate: not a sweep setting/],
    ['a complete trial without value', edit((o) => (o.value = null)), /line 1: value: a complete trial needs its value/],
    ['a string value', edit((o) => (o.value = '0.2')), /line 1: value: expected a number or null, got "0\.2"/],
    ['epochs out of order', edit((o) => (o.epochs = [{ epoch: 2 }, { epoch: 1 }])), /line 1: epochs\[1\]\.epoch: epochs out of order \(1 after 2\)/],
    ['a string metric', edit((o) => (o.epochs = [{ epoch: 1, valLoss: 'x' }])), /line 1: epochs\[0\]\.valLoss: expected a number or null/],
    ['an empty file', '\n\n', /^trials\.jsonl: no trials/],
  ])('refuses %s, naming the line and field', (_what, bad, message) => {
    expect(() => parseTrialsJsonl(bad, 'trials.jsonl', 'val_loss')).toThrow(message);
  });
});
