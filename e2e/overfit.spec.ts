import { test, expect } from './fixtures';
import { decodeCheckpoint } from '../src/engine/checkpoint/checkpoint';

test('demo dataset → overfit test passes on WebGPU → checkpoint downloads as safetensors', async ({ lab, logs }) => {
  await expect(lab.backend).toContainText('WebGPU');
  await lab.datasets.loadDemo();
  // name, train, val, test, …: the demo's seeded 90/10 split
  expect((await lab.datasets.cells('Demo (seed 42)')).slice(0, 4)).toEqual(['Demo (seed 42)', '144', '16', '0']);
  await expect(lab.selectedDataset).toContainText('Demo (seed 42)');

  const overfit = lab.overfit;
  const t0 = Date.now();
  await overfit.start();
  await expect(overfit.progress).toBeVisible({ timeout: 90_000 }); // the worker compiles its first programs before the job reports
  await expect(overfit.verdict).toBeVisible({ timeout: 240_000 });
  const text = (await overfit.verdict.innerText()).replace(/\s+/g, ' ');
  console.log(`[e2e] overfit test wall time ${((Date.now() - t0) / 1000).toFixed(1)} s (${text})`);
  expect(text).toContain('Overfit test passed');
  // No WebGPU validation error or device loss (they would silently drop GPU work).
  expect(logs.filter((l) => l.includes('WebGPU error') || l.includes('device lost'))).toEqual([]);
  // The live metrics show a real gradient.
  expect(Number((await overfit.progress.innerText()).match(/Grad norm\s*([\d.e+-]+)/)![1])).toBeGreaterThan(0);
  await expect(overfit.region.getByText('backend webgpu')).toBeVisible();
  // Every hypothesis equals its reference (rows are [reference, hypothesis]; a swapped or empty
  // column would differ from the stored transcripts below).
  const pairs = await overfit.transcriptPairs();
  expect(pairs).toHaveLength(5);
  for (const [ref, hyp] of pairs) expect(hyp).toBe(ref);

  const { name, bytes } = await overfit.downloadText(overfit.button('Download checkpoint'));
  expect(name).toMatch(/\.safetensors$/);
  const { meta, tensors } = decodeCheckpoint(bytes, name);

  expect(meta.vocab).toEqual(['FRIEND', 'HELLO', 'HOUSE', 'NO', 'PLEASE', 'THANK-YOU', 'WATER', 'YES']);
  // The table's references are the demo's transcripts, in the vocabulary.
  for (const [ref] of pairs) for (const tok of ref.split(' ')) expect(meta.vocab).toContain(tok);
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
  await lab.datasets.loadDemo();
  const text = await lab.overfit.run({ maxEpochs: 25, lr: 0 });
  expect(text).toContain('Overfit test failed');
  expect(text).toContain('25 epochs');
  await expect(lab.overfit.alerts.getByRole('listitem').filter({ hasText: 'Epoch 20:' })).toContainText('plateaued');
  // With lr 0 nothing is learnt: every hypothesis differs from its reference.
  for (const [ref, hyp] of await lab.overfit.transcriptPairs()) expect(hyp).not.toBe(ref);
  await lab.overfit.region.getByRole('link', { name: 'Run diagnostics' }).click();
  await expect(lab.diagnostics.region).toBeVisible();
  await expect(page).toHaveURL(/#diagnostics$/);
});
