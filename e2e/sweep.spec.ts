import { fileURLToPath } from 'node:url';
import { test, expect } from './fixtures';

test('a fix sweep on the demo (3 variations, rung at epoch 1 of 3): a reload mid-sweep, Resume sweep, it finishes with its table and a best trial', async ({
  lab,
}) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  // A small, fast base on a training subset: each trial epoch is a few seconds.
  await tr.fill({ Channels: 8, Blocks: 1, 'Batch size': 8, 'Accumulation steps': 1, 'Train subset': 8, 'Warmup epochs': 0, 'Early-stopping patience': 0 });
  await tr.fill({ 'Peak learning rate': 0.003 });
  const sw = lab.sweep;
  const t0 = Date.now();
  await sw.start(['lr ×⅓', 'lr ×3', 'dropout 0.3'], { first: 1, eta: 3, length: 3 });
  await expect(sw.trials).toHaveCount(4);
  // No other job starts beside the sweep (the lab's busy flag counts it): training, the range test, the overfit test.
  await expect(tr.button('Start training')).toBeDisabled();
  await expect(tr.button('Find learning rate')).toBeDisabled();
  // Reload once the base has been judged at its rung (its epoch-1 value in the table).
  await expect(sw.trials.first().getByRole('cell').nth(2)).toHaveText(/%$/, { timeout: 60_000 });
  console.log(`[sweep e2e] base judged at its rung after ${((Date.now() - t0) / 1000).toFixed(1)} s; reloading`);
  await lab.reload();
  await sw.open();
  await expect(sw.statusLine).toContainText('interrupted');
  await sw.button('Resume sweep').click();
  await expect(sw.statusLine).toContainText(/finished — .*val WER/, { timeout: 120_000 });
  console.log(`[sweep e2e] finished ${((Date.now() - t0) / 1000).toFixed(1)} s after Start sweep`);
  const rows = await sw.rows();
  console.log(`[sweep e2e] ${await sw.statusLine.innerText()}\n${rows.map((r) => r.join(' | ')).join('\n')}`);
  expect(rows.map((r) => r[0])).toEqual(['base', 'lr ×⅓', 'lr ×3', 'dropout 0.3']);
  expect(rows.filter((r) => r.at(-1) === 'best')).toHaveLength(1);
  for (const r of rows) expect(r.at(-1)).toMatch(/^(best|promoted to the end|stopped at epoch 1)$/);
  // Every trial was a run of its own (the runs table lists them).
  await expect(tr.runs).toHaveCount(4);

  // Download sweep: the spec the twin runs (validated before it is written).
  const spec = JSON.parse((await sw.downloadText(sw.button('Download sweep'))).text) as { format: string; variations: unknown[]; rungs: object };
  expect([spec.format, spec.variations.length, spec.rungs]).toEqual(['ctc-lab-sweep/1', 3, { minEpochs: 1, eta: 3, maxEpochs: 3 }]);
  // Import sweep results: the twin's output shown in the same view.
  const twin = (f: string) => fileURLToPath(new URL(`../src/engine/tune/fixtures/twin_sweep/${f}`, import.meta.url));
  await sw.importResults([twin('trials.jsonl'), twin('spec.json')]);
  await expect(sw.statusLine).toContainText(/finished — the base is best: \d\.\d{3} val loss/);
  expect((await sw.rows()).map((r) => r.at(-1))).toEqual(['best', 'stopped at epoch 1', 'stopped at epoch 1']);

  // Train this one fully: a normal run from the best trial's settings (the form takes them, e.g. lr ×3: 0.003 × 3 in float64).
  const bestName = rows.find((r) => r.at(-1) === 'best')![0];
  const lr = { base: '0.003', 'lr ×⅓': '0.001', 'lr ×3': '0.009', 'dropout 0.3': '0.003' }[bestName]!;
  await sw.region.getByRole('combobox', { name: 'Sweep', exact: true }).selectOption({ label: 'fix sweep (finished)' }); // back to the lab's sweep
  await sw.trials.filter({ hasText: 'best' }).getByRole('button', { name: 'Train this one fully' }).click();
  await expect(tr.field('Peak learning rate')).toHaveValue(new RegExp(`^${lr.replace('.', '\\.')}(0{6,}\\d*)?$`));
  await expect(tr.progress).toBeVisible();
  await expect(tr.runs).toHaveCount(5); // a normal run of its own (left training: the test ends here)
});
