import { readFileSync } from 'node:fs';
import { test, expect } from './fixtures';
import { decodeCheckpoint } from '../src/engine/checkpoint/checkpoint';

test('demo dataset → overfit test passes on WebGPU → checkpoint downloads as safetensors', async ({ lab, page, logs }) => {
  await expect(lab.backend).toContainText('WebGPU');

  await page.getByRole('button', { name: 'Load demo dataset' }).click();
  const row = lab.datasetRow('Demo (seed 42)');
  await expect(row).toBeVisible();
  await expect(row).toContainText('144'); // train
  await expect(row).toContainText('16'); // val

  const t0 = Date.now();
  await page.getByRole('button', { name: 'Run overfit test' }).click();
  await expect(page.getByLabel('Overfit progress')).toBeVisible();
  const verdict = page.getByRole('status').filter({ hasText: /Overfit test (passed|failed)/ });
  await expect(verdict).toBeVisible({ timeout: 240_000 });
  const wall = (Date.now() - t0) / 1000;
  const text = await verdict.innerText();
  console.log(`[e2e] overfit test wall time ${wall.toFixed(1)} s (${text.replace(/\s+/g, ' ')})`);
  expect(text).toContain('Overfit test passed');
  // No WebGPU validation error or device loss (they would silently drop GPU work).
  expect(logs.filter((l) => l.includes('WebGPU error') || l.includes('device lost'))).toEqual([]);
  // The live metrics show a real gradient.
  expect(Number((await page.getByLabel('Overfit progress').innerText()).match(/Grad norm\s*([\d.e+-]+)/)![1])).toBeGreaterThan(0);
  await expect(page.getByText('backend webgpu')).toBeVisible();
  // every hypothesis equals its reference
  const rows = page.getByRole('table', { name: 'Overfit transcripts' }).locator('tbody tr');
  await expect(rows).toHaveCount(5);
  for (const r of await rows.all()) {
    const [ref, hyp] = await r.locator('td').allInnerTexts();
    expect(hyp).toBe(ref);
  }

  const downloadPromise = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Download checkpoint' }).click();
  const download = await downloadPromise;
  expect(download.suggestedFilename()).toMatch(/\.safetensors$/);
  const bytes = readFileSync((await download.path())!);
  const { meta, tensors } = decodeCheckpoint(bytes, download.suggestedFilename());

  expect(meta.vocab).toEqual(['FRIEND', 'HELLO', 'HOUSE', 'NO', 'PLEASE', 'THANK-YOU', 'WATER', 'YES']);
  expect(meta.model).toMatchObject({ preset: 'tcn', featureDim: 12, numClasses: 9, channels: 64, layers: 3, kernel: 3, dropout: 0 });
  expect(meta.subsampling).toBe(2);
  expect(meta.normalisation.mean).toHaveLength(12);
  expect(meta.training.state.epoch).toBeGreaterThan(0);
  expect(meta.training.state.step).toBe(meta.training.state.epoch);
  expect(meta.history).toHaveLength(meta.training.state.epoch);
  const shapes = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.shape]));
  expect(shapes).toMatchObject({
    'model.subsample.weight': [3, 12, 64],
    'model.subsample.bias': [64],
    'model.blocks.0.weight': [3, 64, 64],
    'model.blocks.2.bias': [64],
    'model.head.weight': [64, 9],
    'model.head.bias': [9],
    'optim.m.model.head.weight': [64, 9],
    'optim.v.model.subsample.weight': [3, 12, 64],
  });
  expect(Object.keys(tensors).filter((k) => k.startsWith('model.'))).toHaveLength(10);
  expect(Object.values(tensors).every((t) => t.data.every((v) => Number.isFinite(v)))).toBe(true);
});

test('learning rate 0: the overfit test fails, the live doctor flags the plateau, the page links to diagnostics', async ({ lab, page }) => {
  await page.getByRole('button', { name: 'Load demo dataset' }).click();
  await expect(lab.datasetRow('Demo (seed 42)')).toBeVisible();
  const panel = page.getByRole('region', { name: 'Overfit test' });
  await panel.getByLabel('Max epochs').fill('25');
  await panel.getByLabel('Learning rate').fill('0');
  await page.getByRole('button', { name: 'Run overfit test' }).click();
  const verdict = page.getByRole('status').filter({ hasText: /Overfit test (passed|failed)/ });
  await expect(verdict).toContainText('Overfit test failed', { timeout: 240_000 });
  await expect(verdict).toContainText('25 epochs');
  const alerts = page.getByRole('list', { name: 'Training doctor alerts' });
  await expect(alerts.getByRole('listitem').filter({ hasText: 'Epoch 20:' })).toContainText('plateaued');
  await expect(page.getByRole('link', { name: 'Run diagnostics' })).toBeVisible();
});
