import { writeFileSync } from 'node:fs';
import { test, expect, LabPage } from './fixtures';

test('train on the demo: curves move, stop, reload, resume the run, and it finishes', async ({ lab }) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  await tr.start({ Epochs: 4, 'Train subset': 48, 'Accumulation steps': 1, 'Peak learning rate': 0.003, 'Warmup epochs': 0, 'Early-stopping patience': 0 });

  await expect(tr.statusLine).toContainText('Epoch 1/4', { timeout: 120_000 });
  await expect(tr.region.getByRole('img', { name: 'Loss' })).toBeVisible();
  await expect(tr.region.getByRole('img', { name: 'Validation WER' })).toBeVisible();
  await expect(tr.statusLine).toContainText('val WER');
  // The speed report: a step profiled on the worker's WebGPU device after the warm-up steps (header + 7 stage rows).
  await expect(tr.speedStages.getByRole('row')).toHaveCount(8);
  await expect(tr.speedMethod).toContainText(/Method: (WebGPU timestamp queries|timers)/);
  await tr.stop();

  await lab.reload();
  await tr.open();
  const runRow = tr.runs.first();
  await expect(tr.cell(runRow, 'status')).toHaveText('stopped');
  const done = Number((await tr.cell(runRow, 'epochs').innerText()).split('/')[0]);
  expect(done).toBeGreaterThanOrEqual(1);
  expect(done).toBeLessThan(4);

  await tr.resume(runRow);
  await expect(tr.cell(runRow, 'status')).toHaveText('finished');
  await expect(tr.cell(runRow, 'epochs')).toHaveText('4/4');
  await expect(tr.statusLine).toContainText('Epoch 4/4');

  // Metrics export
  const csv = await tr.downloadText(runRow.getByRole('button', { name: 'Export CSV' }));
  const lines = csv.text.trim().split('\n');
  expect(lines[0]).toContain('epoch,trainLoss,valLoss,valWer');
  expect(lines).toHaveLength(5);
});

test("the training form: seven labelled groups (augmentation and weight averaging included), every input with a hint (the field guide's value), Tab walking the groups in order", async ({
  lab,
}) => {
  const tr = lab.training;
  const groups = ['Model', 'Optimisation', 'Schedule', 'Stopping and checkpoints', 'Weight averaging', 'Augmentation', 'Teacher'];
  await tr.open();
  for (const g of groups) await expect(tr.group(g)).toBeVisible();
  await expect(tr.group('Optimisation').getByLabel('Peak learning rate', { exact: true })).toHaveAccessibleDescription(/Field guide: 0\.0005/);
  await expect(tr.group('Stopping and checkpoints').getByLabel('Early-stopping patience', { exact: true })).toHaveAccessibleDescription(
    /Field guide: 30 to 40/,
  );
  await expect(tr.group('Weight averaging').getByLabel('EMA decay', { exact: true })).toHaveAccessibleDescription(/0 = off; 0\.999/);
  // A decay outside (0, 1) is named by the form.
  await tr.group('Weight averaging').getByLabel('EMA decay', { exact: true }).fill('1');
  await expect(tr.group('Weight averaging').getByRole('alert')).toHaveText(/emaDecay: expected 0 \(off\) or a number in \(0, 1\), got 1/);
  await tr.group('Weight averaging').getByLabel('EMA decay', { exact: true }).fill('0');
  expect(await tr.tabThroughForm()).toEqual({ groups, undescribed: [] });
});

test('a second tab cannot train while the first one does', async ({ lab, context }) => {
  await lab.datasets.loadDemo();
  await lab.training.start({ Epochs: 50 });
  await expect(lab.training.progress).toBeVisible();

  const second = new LabPage(await context.newPage());
  await second.open('#training');
  await second.training.start();
  await expect(second.training.alert).toContainText('another tab of CTC Lab is training');
  await lab.training.stop();
});

test('a downloaded checkpoint re-uploads (Import checkpoint) and resumes to the end; a bad file is refused by name', async ({ lab }, testInfo) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  await tr.start({ Epochs: 3, 'Train subset': 48, 'Accumulation steps': 1, 'Early-stopping patience': 0 });
  await expect(tr.statusLine).toContainText('Epoch 1/3', { timeout: 120_000 });
  await tr.stop();

  const file = testInfo.outputPath('last.safetensors');
  await (await tr.download(tr.runs.first().getByRole('button', { name: 'Download last' }))).saveAs(file);

  // A file that is not a checkpoint: refused, naming it; nothing added.
  const junk = testInfo.outputPath('notes.safetensors');
  writeFileSync(junk, 'hello');
  await tr.importCheckpoint(junk);
  await expect(tr.alert).toContainText('notes.safetensors');
  await expect(tr.runs).toHaveCount(1);

  await tr.importCheckpoint(file);
  await expect(tr.status('Imported checkpoint last.safetensors')).toBeVisible();
  await expect(tr.runs).toHaveCount(2);
  const imported = tr.runs.nth(1);
  await expect(tr.cell(imported, 'status')).toHaveText('stopped');
  await tr.resume(imported);
  await expect(tr.cell(imported, 'epochs')).toHaveText('3/3');

  // Two runs' curves side by side.
  await tr.runs.nth(0).getByRole('checkbox').check();
  await tr.runs.nth(1).getByRole('checkbox').check();
  await expect(tr.region.getByRole('img', { name: 'Validation WER: two runs' })).toBeVisible();
});

for (const m of <{ preset: string; sizes: Record<string, string> }[]>[
  { preset: 'tconv-bilstm', sizes: { 'Conv channels': '16', Layers: '1', 'LSTM hidden': '16' } },
  { preset: 'transformer', sizes: { d_model: '16', Layers: '1', Heads: '2' } },
]) {
  test(`the ${m.preset} preset trains on the WebGPU worker and its checkpoint records the model`, async ({ lab }) => {
    await lab.datasets.loadDemo();
    const tr = lab.training;
    await tr.chooseModel(m.preset);
    await tr.fill(m.sizes);
    await expect(tr.region.getByLabel('Model size')).toContainText(/[\d,]+ parameters, time subsampling ×4/);
    await tr.train({ Epochs: 2, 'Train subset': 24, 'Warmup epochs': 0, 'Early-stopping patience': 0 });
    await expect(tr.region).toContainText(`${m.preset}, `);
    const runRow = tr.runs.first();
    await expect(tr.cell(runRow, 'epochs')).toHaveText('2/2');
    expect(Number(await tr.cell(runRow, 'loss').innerText())).toBeGreaterThan(0);

    const { bytes } = await tr.downloadText(runRow.getByRole('button', { name: 'Download last' }));
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
