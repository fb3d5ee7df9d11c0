import { test, expect } from './fixtures';

test('Find learning rate on the demo: loss against lr with blank rate and output length, a suggestion that fills the form (20 steps)', async ({ lab }) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  await tr.open();
  // A small, fast model: the range test trains it at the ramp's rates.
  await tr.fill({ Channels: 8, Blocks: 1, 'Batch size': 4, 'Accumulation steps': 1 });
  await tr.region.getByLabel('Range test steps').fill('20'); // 1e-7 → 1 in 20 steps: coarse, but the whole protocol
  await tr.region.getByRole('button', { name: 'Find learning rate' }).click();
  // The range test is a job: training cannot start beside it (the worker runs one job per tab).
  await expect(tr.region.getByRole('button', { name: 'Start training' })).toBeDisabled();
  const suggestion = tr.region.getByRole('status', { name: 'Learning-rate suggestion' });
  await expect(suggestion).toContainText(/Suggested learning rate: \d\.\de[-+]\d/, { timeout: 120_000 });
  await expect(suggestion).toContainText(/steps on \d+ training samples/);
  for (const title of ['Loss against learning rate', 'Blank rate against learning rate', 'Greedy output length (tokens per sample)'])
    await expect(tr.region.getByRole('img', { name: title, exact: true })).toBeVisible();
  console.log(`[lr_finder e2e] ${await suggestion.innerText()}`);
  const shown = (await suggestion.locator('strong').innerText()).trim();
  await expect(tr.region.getByRole('button', { name: 'Start training' })).toBeEnabled();
  await suggestion.getByRole('button', { name: 'Use this learning rate' }).click();
  await expect(tr.field('Peak learning rate')).toHaveValue(String(Number(Number(shown).toPrecision(2))));
});
