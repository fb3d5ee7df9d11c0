import { test, expect } from './fixtures';

test('a fix sweep on the demo (3 variations, rung at epoch 1 of 3): a reload mid-sweep, Resume sweep, it finishes with its table and a best trial', async ({
  lab,
}) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  // A small, fast base on a training subset: each trial epoch is a few seconds.
  await tr.fill({ Channels: 8, Blocks: 1, 'Batch size': 8, 'Accumulation steps': 1, 'Train subset': 24, 'Warmup epochs': 0, 'Early-stopping patience': 0 });
  await tr.fill({ 'Peak learning rate': 0.003 });
  const sw = lab.sweep;
  const t0 = Date.now();
  await sw.start(['lr ×⅓', 'lr ×3', 'dropout 0.3'], { first: 1, eta: 3, length: 3 });
  await expect(sw.trials).toHaveCount(4);
  // Training cannot start beside the sweep.
  await expect(tr.button('Start training')).toBeDisabled();
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
});
