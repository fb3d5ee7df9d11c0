import { readFileSync, writeFileSync } from 'node:fs';
import { test, expect } from './fixtures';

test('train on the demo: curves move, stop, reload, resume the run, and it finishes', async ({ lab, page }) => {
  await page.getByRole('button', { name: 'Load demo dataset' }).click();
  await expect(lab.datasetRow('Demo (seed 42)')).toBeVisible();
  await page.getByLabel('Epochs', { exact: true }).fill('4');
  await page.getByLabel('Accumulation steps').fill('1');
  await page.getByLabel('Peak learning rate').fill('0.003');
  await page.getByLabel('Warmup epochs').fill('0');
  await page.getByLabel('Early-stopping patience').fill('0');
  await page.getByRole('button', { name: 'Start training' }).click();

  const status = page.getByLabel('Training status');
  await expect(status).toContainText('Epoch 1/4', { timeout: 120_000 });
  await expect(page.getByRole('img', { name: 'Loss' })).toBeVisible();
  await expect(page.getByRole('img', { name: 'Validation WER' })).toBeVisible();
  await expect(status).toContainText('val WER');
  await page.getByRole('button', { name: 'Stop training' }).click();
  await expect(page.getByRole('status').filter({ hasText: /Run run-\S+ stopped/ })).toBeVisible({ timeout: 120_000 });

  await page.reload();
  await expect(lab.backend).not.toContainText('starting');
  const runRow = page.getByRole('table', { name: 'Training runs' }).locator('tbody tr').first();
  await expect(runRow).toContainText('stopped');
  const done = Number((await runRow.locator('td').nth(3).innerText()).split('/')[0]);
  expect(done).toBeGreaterThanOrEqual(1);
  expect(done).toBeLessThan(4);

  await runRow.getByRole('button', { name: 'Resume run' }).click();
  await expect(page.getByRole('status').filter({ hasText: /Run run-\S+ finished/ })).toBeVisible({ timeout: 240_000 });
  await expect(runRow).toContainText('finished');
  await expect(runRow.locator('td').nth(3)).toHaveText('4/4');
  await expect(status).toContainText('Epoch 4/4');

  // Metrics export
  const dl = page.waitForEvent('download');
  await runRow.getByRole('button', { name: 'Export CSV' }).click();
  const csv = readFileSync((await (await dl).path())!, 'utf8');
  const lines = csv.trim().split('\n');
  expect(lines[0]).toContain('epoch,trainLoss,valLoss,valWer');
  expect(lines).toHaveLength(5);
});

test('a second tab cannot train while the first one does', async ({ lab, page, context }) => {
  await page.getByRole('button', { name: 'Load demo dataset' }).click();
  await expect(lab.datasetRow('Demo (seed 42)')).toBeVisible();
  await page.getByLabel('Epochs', { exact: true }).fill('50');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByLabel('Training progress')).toBeVisible();

  const second = await context.newPage();
  await second.goto('/');
  await expect(second.getByRole('region', { name: 'Compute backend' })).not.toContainText('starting');
  await second.getByRole('button', { name: 'Start training' }).click();
  await expect(second.getByRole('alert')).toContainText('another tab of CTC Lab is training');
  await page.getByRole('button', { name: 'Stop training' }).click();
  await expect(page.getByRole('status').filter({ hasText: /Run run-\S+ stopped/ })).toBeVisible({ timeout: 120_000 });
});

test('a downloaded checkpoint re-uploads (Import checkpoint) and resumes to the end; a bad file is refused by name', async ({ lab, page }, testInfo) => {
  await page.getByRole('button', { name: 'Load demo dataset' }).click();
  await expect(lab.datasetRow('Demo (seed 42)')).toBeVisible();
  await page.getByLabel('Epochs', { exact: true }).fill('3');
  await page.getByLabel('Accumulation steps').fill('1');
  await page.getByLabel('Early-stopping patience').fill('0');
  await page.getByRole('button', { name: 'Start training' }).click();
  await expect(page.getByLabel('Training status')).toContainText('Epoch 1/3', { timeout: 120_000 });
  await page.getByRole('button', { name: 'Stop training' }).click();
  await expect(page.getByRole('status').filter({ hasText: /Run run-\S+ stopped/ })).toBeVisible({ timeout: 120_000 });

  const runs = page.getByRole('table', { name: 'Training runs' }).locator('tbody tr');
  const dl = page.waitForEvent('download');
  await runs.first().getByRole('button', { name: 'Download last' }).click();
  const file = testInfo.outputPath('last.safetensors');
  await (await dl).saveAs(file);

  // A file that is not a checkpoint: refused, naming it; nothing added.
  const junk = testInfo.outputPath('notes.safetensors');
  writeFileSync(junk, 'hello');
  await page.getByLabel('Import checkpoint').setInputFiles(junk);
  await expect(page.getByRole('alert')).toContainText('notes.safetensors');
  await expect(runs).toHaveCount(1);

  await page.getByLabel('Import checkpoint').setInputFiles(file);
  await expect(page.getByRole('status').filter({ hasText: 'Imported checkpoint last.safetensors' })).toBeVisible();
  await expect(runs).toHaveCount(2);
  const imported = runs.nth(1);
  await expect(imported).toContainText('stopped');
  await imported.getByRole('button', { name: 'Resume run' }).click();
  await expect(page.getByRole('status').filter({ hasText: /Run run-\S+ finished/ })).toBeVisible({ timeout: 240_000 });
  await expect(imported.locator('td').nth(3)).toHaveText('3/3');

  // Two runs' curves side by side.
  await runs.nth(0).getByRole('checkbox').check();
  await runs.nth(1).getByRole('checkbox').check();
  await expect(page.getByRole('img', { name: 'Validation WER: two runs' })).toBeVisible();
});

for (const m of [
  { preset: 'tconv-bilstm', sizes: { 'Conv channels': '16', Layers: '1', 'LSTM hidden': '16' } },
  { preset: 'transformer', sizes: { d_model: '16', Layers: '1', Heads: '2' } },
]) {
  test(`the ${m.preset} preset trains on the WebGPU worker and its checkpoint records the model`, async ({ lab, page }) => {
    await page.getByRole('button', { name: 'Load demo dataset' }).click();
    await expect(lab.datasetRow('Demo (seed 42)')).toBeVisible();
    const form = page.getByRole('region', { name: 'Training' });
    await form.getByRole('combobox', { name: /^Model/ }).selectOption(m.preset);
    for (const [name, value] of Object.entries(m.sizes)) await form.getByLabel(name, { exact: true }).fill(value);
    await expect(form.getByLabel('Model size')).toContainText(/[\d,]+ parameters, time subsampling ×4/);
    await form.getByLabel('Epochs', { exact: true }).fill('2');
    await form.getByLabel('Train subset').fill('24');
    await form.getByLabel('Warmup epochs').fill('0');
    await form.getByLabel('Early-stopping patience').fill('0');
    await form.getByRole('button', { name: 'Start training' }).click();
    await expect(page.getByRole('status').filter({ hasText: /Run run-\S+ finished/ })).toBeVisible({ timeout: 240_000 });
    await expect(form).toContainText(`${m.preset}, `);
    const runRow = page.getByRole('table', { name: 'Training runs' }).locator('tbody tr').first();
    await expect(runRow.locator('td').nth(3)).toHaveText('2/2');
    const losses = await runRow.locator('td').nth(5).innerText();
    expect(Number(losses)).toBeGreaterThan(0);

    const dl = page.waitForEvent('download');
    await runRow.getByRole('button', { name: 'Download last' }).click();
    const bytes = readFileSync((await (await dl).path())!);
    const n = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
    const meta = JSON.parse(header.__metadata__.ctc_lab);
    expect(meta.model.preset).toBe(m.preset);
    expect(meta.subsampling).toBe(4);
    expect(meta.history).toHaveLength(2);
    for (const h of meta.history) expect(Number.isFinite(h.trainLoss)).toBe(true);
    expect(meta.history[1].trainLoss).toBeLessThan(meta.history[0].trainLoss);
    expect(Object.keys(header).filter((k) => k.startsWith('model.')).length).toBeGreaterThan(5);
  });
}
