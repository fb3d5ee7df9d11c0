// Faults and hostile files (issue 14), injected into the real app: a lost GPU device, a killed
// worker, a full disk, tampered checkpoints, a dataset deleted under a training tab. The page is
// opened with window.__ctcLabTestHooks set before it loads, which enables the worker's fault
// hooks (window.__ctcLabTest); no control on the page reaches them.

import { readFileSync, writeFileSync } from 'node:fs';
import type { Page } from '@playwright/test';
import { test as base, expect, LabPage } from './fixtures';

const test = base.extend<{ lab: LabPage }>({
  lab: async ({ page }, use) => {
    await enableHooks(page);
    const lab = new LabPage(page);
    await lab.open();
    await use(lab);
  },
});

async function enableHooks(page: Page): Promise<void> {
  await page.addInitScript(() => ((window as unknown as { __ctcLabTestHooks: boolean }).__ctcLabTestHooks = true));
}

type Hooks = { terminateWorker(): void; hook(h: string): Promise<void> };
const hook = (page: Page, h: 'destroy-device' | 'quota-on-next-checkpoint' | 'no-adapter-after-reset') =>
  page.evaluate((name) => (window as unknown as { __ctcLabTest: Hooks }).__ctcLabTest.hook(name), h);

/** The metadata of a downloaded .safetensors checkpoint. */
function metaOf(bytes: Buffer) {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  return { header, meta: JSON.parse(header.__metadata__.ctc_lab), n };
}

// A hostile file's edits reach any path of the parsed JSON.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** Rewrites a checkpoint's header (metadata and tensor entries) as a hostile file would. */
function tampered(bytes: Buffer, edit: (header: Json, meta: Json) => void): Buffer {
  const { header, meta, n } = metaOf(bytes);
  edit(header, meta);
  header.__metadata__.ctc_lab = JSON.stringify(meta);
  const hb = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  return Buffer.concat([len, hb, bytes.subarray(8 + n)]);
}

const csvEpochs = (text: string) =>
  text
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => Number(l.split(',')[0]));

// Small epochs with many steps: batch 2, no accumulation, 40 training samples → 20 steps per epoch.
const run = { 'Batch size': 2, 'Accumulation steps': 1, 'Train subset': 40, 'Warmup epochs': 0, 'Early-stopping patience': 0, 'Peak learning rate': 0.003 };

test('the GPU device is destroyed mid-training: the run resumes by itself on a new device and finishes with the same epochs as an uninterrupted run', async ({
  lab,
  page,
}) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  // Uninterrupted reference.
  await tr.train({ ...run, Epochs: 3 });
  const straight = await tr.downloadText(tr.runs.first().getByRole('button', { name: 'Export CSV' }));

  await tr.start({ ...run, Epochs: 3 });
  await expect(tr.statusLine).toContainText('Epoch 1/3', { timeout: 120_000 });
  await hook(page, 'destroy-device');
  await expect(tr.status(/The GPU was reset; resumed from step [\d,]+ \(attempt 1\)/)).toBeVisible({ timeout: 120_000 });
  await tr.waitFinished();
  await expect(lab.backend).toContainText('WebGPU');
  const row = tr.runs.nth(1);
  await expect(tr.cell(row, 'epochs')).toHaveText('3/3');
  const resumed = await tr.downloadText(row.getByRole('button', { name: 'Export CSV' }));
  expect(csvEpochs(resumed.text)).toEqual([1, 2, 3]); // each epoch once
  // Same training as uninterrupted: train loss per epoch (resumed from the last checkpoint exactly).
  const loss = (t: string) =>
    t
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => Number(l.split(',')[1]));
  loss(resumed.text).forEach((x, i) => expect(x).toBeCloseTo(loss(straight.text)[i], 3));

  // The next job runs on the new device (before the fix, every later job failed until a reload).
  const verdict = await lab.overfit.run({ maxEpochs: 5 });
  expect(verdict).toMatch(/Overfit test (passed|failed)/);
});

test('no adapter after a GPU reset: the page says so plainly and offers the fallback, on which Resume finishes the run', async ({ lab, page }) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  await tr.start({ ...run, Epochs: 2 });
  await expect(tr.statusLine).toContainText('Epoch 1/2', { timeout: 120_000 });
  await hook(page, 'no-adapter-after-reset');
  await hook(page, 'destroy-device');
  await expect(tr.alert.filter({ hasText: 'no WebGPU adapter came back' })).toBeVisible({ timeout: 60_000 });
  await tr.button('Continue on the fallback backend').click();
  await expect(lab.backend).toContainText('(fallback)');
  await tr.resume(tr.runs.first());
  await expect(tr.cell(tr.runs.first(), 'epochs')).toHaveText('2/2');
});

test('the worker is killed mid-epoch: after a reload the run shows interrupted, and Resume continues from the last mid-epoch checkpoint', async ({
  lab,
  page,
  logs,
}, testInfo) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  // 144 training samples at batch 2 → 72 steps per epoch, and a checkpoint every 0.6 s: mid-epoch
  // checkpoints whatever the machine's speed (with 20 steps per epoch and 3 s, a fast machine wrote
  // only epoch-end ones after the first, and the run finished before one was seen).
  await tr.start({ ...run, 'Train subset': 144, Epochs: 2, 'Checkpoint every (minutes)': 0.01 });
  // A mid-epoch checkpoint after the first steps (the very first step compiles the shaders and is slow).
  const savedAt = async () => Number((await tr.statusLine.innerText()).match(/last checkpoint at step ([\d,]+) \(mid-epoch/)?.[1].replace(/,/g, '') ?? 0);
  await expect.poll(savedAt, { timeout: 120_000, intervals: [200] }).toBeGreaterThanOrEqual(6);
  const step = await savedAt();
  // What the mid-epoch checkpoints cost training (printed for BENCHMARKS.md, not asserted: timings vary).
  await expect.poll(() => logs.some((x) => x.includes('cost of the checkpoint')), { timeout: 60_000 }).toBe(true);
  for (const l of logs.filter((x) => x.startsWith('[worker info] [ctc-lab] cost of the checkpoint'))) console.log(l);
  await page.evaluate(() => (window as unknown as { __ctcLabTest: Hooks }).__ctcLabTest.terminateWorker());

  await lab.reload();
  await tr.open();
  const row = tr.runs.first();
  await expect(tr.cell(row, 'status')).toHaveText('interrupted');
  // The stored last checkpoint is the mid-epoch one (or a later one written before the kill).
  const { bytes } = await tr.downloadText(row.getByRole('button', { name: 'Download last' }));
  const { meta } = metaOf(bytes);
  expect(meta.training.state.step).toBeGreaterThanOrEqual(step);
  const at = meta.training.state.step as number;
  if (meta.training.state.position) expect(meta.training.state.position.epoch).toBe(meta.training.state.epoch + 1);
  writeFileSync(testInfo.outputPath('mid.safetensors'), bytes);

  await row.getByRole('button', { name: 'Resume run' }).click();
  await expect(tr.status(new RegExp(`Resumed from step ${at.toLocaleString('en-US')} \\(`))).toBeVisible({ timeout: 60_000 });
  await tr.waitFinished();
  await expect(tr.cell(row, 'epochs')).toHaveText('2/2');
  expect(csvEpochs((await tr.downloadText(row.getByRole('button', { name: 'Export CSV' }))).text)).toEqual([1, 2]);
});

test('quota exceeded while saving a checkpoint: a clear message, and the previous checkpoint is intact and resumes', async ({ lab, page }) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  await tr.start({ ...run, Epochs: 3, 'Checkpoint every (minutes)': 0 });
  await expect(tr.statusLine).toContainText('Epoch 1/3', { timeout: 120_000 });
  await hook(page, 'quota-on-next-checkpoint'); // epoch 2's checkpoint
  await expect(tr.alert).toContainText("the browser's storage quota ran out while saving a checkpoint of run", { timeout: 120_000 });
  await expect(tr.alert).toContainText('the previous checkpoint is intact');
  const row = tr.runs.first();
  await expect(tr.cell(row, 'status')).toHaveText('failed');
  const { bytes } = await tr.downloadText(row.getByRole('button', { name: 'Download last' }));
  expect(metaOf(bytes).meta.training.state.epoch).toBe(1);
  await tr.resume(row);
  await expect(tr.cell(row, 'epochs')).toHaveText('3/3');
});

test('tampered checkpoint uploads are refused, naming the file and field; the runs table stays whole; an overfit checkpoint shows no Infinity%', async ({
  lab,
}, testInfo) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  await tr.train({ ...run, Epochs: 1 });
  const { bytes } = await tr.downloadText(tr.runs.first().getByRole('button', { name: 'Download last' }));

  const cases: [string, (h: Json, m: Json) => void, string][] = [
    [
      'loss-as-string.safetensors',
      (_h, m) => (m.history[0].trainLoss = '0.5'),
      'loss-as-string.safetensors: __metadata__.ctc_lab → history[0].trainLoss: expected a number or null, got "0.5"',
    ],
    [
      'null-tensor.safetensors',
      (h) => (h['model.head.weight'] = null),
      'null-tensor.safetensors: tensor model.head.weight: expected {dtype, shape, data_offsets}, got null',
    ],
    [
      'wide.safetensors',
      (_h, m) => (m.model.channels = 1e9),
      'wide.safetensors: __metadata__.ctc_lab → model.channels: expected an integer from 1 to 4096, got 1000000000',
    ],
  ];
  for (const [name, edit, message] of cases) {
    const file = testInfo.outputPath(name);
    writeFileSync(file, tampered(bytes, edit));
    await tr.importCheckpoint(file);
    await expect(tr.alert).toContainText(message);
    await expect(tr.runs).toHaveCount(1);
    await expect(tr.runs.first().getByRole('button', { name: 'Download last' })).toBeVisible();
  }
  await lab.reload();
  await tr.open();
  await expect(tr.runs).toHaveCount(1);

  // An overfit-test checkpoint imported as a run: no validation WER, shown as '–' (was "Infinity%").
  await lab.overfit.run({ maxEpochs: 3 });
  const ov = await lab.overfit.download(lab.overfit.button('Download checkpoint'));
  const ovFile = testInfo.outputPath('overfit.safetensors');
  await ov.saveAs(ovFile);
  await tr.importCheckpoint(ovFile);
  await expect(tr.runs).toHaveCount(2);
  await expect(tr.cell(tr.runs.nth(1), 'best')).toHaveText('–');
  expect(readFileSync(ovFile).length).toBeGreaterThan(0);
});

test('runs: one run deleted with its checkpoints; a dataset deleted in another tab stops that tab’s training cleanly and no page offers what is gone', async ({
  lab,
  context,
}) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  await tr.train({ ...run, Epochs: 1 });
  await tr.train({ ...run, Epochs: 1 });
  await expect(tr.runs).toHaveCount(2);
  const first = await tr.cell(tr.runs.first(), 'run').innerText();

  // A second tab sees both runs; deleting one in the first tab removes it there too (BroadcastChannel re-read).
  const other = new LabPage(await context.newPage());
  await enableHooks(other.page);
  await other.open('#training');
  await expect(other.training.runs).toHaveCount(2);
  lab.page.once('dialog', (d) => void d.accept());
  await tr.button(`Delete run ${first}`).click();
  await expect(tr.runs).toHaveCount(1);
  await expect(other.training.runs).toHaveCount(1);
  await expect(other.training.region).not.toContainText(first);

  // The first tab trains; the second deletes the dataset: the training stops with a message, and nothing of it is written back.
  await tr.start({ ...run, Epochs: 20 });
  await expect(tr.statusLine).toContainText('Epoch 1/20', { timeout: 120_000 });
  await other.datasets.open();
  await other.datasets.remove('Demo (seed 42)', true);
  await expect(tr.status(/dataset "Demo \(seed 42\)" was deleted \(in another tab\?\)/)).toBeVisible({ timeout: 60_000 });
  await expect(lab.page.getByRole('button', { name: 'Stop training' })).toHaveCount(0);
  await expect(tr.region.getByRole('table', { name: 'Training runs' })).toHaveCount(0);
  await lab.reload();
  await lab.datasets.open();
  expect(await lab.datasets.names()).toEqual([]);
});

test('a stored run record that fails the schema shows as damaged with Delete, and never breaks the runs table', async ({ lab, page }) => {
  await lab.datasets.loadDemo();
  const tr = lab.training;
  await tr.train({ ...run, Epochs: 1 });
  // A record as a broken version might have left it: a history value that is a string.
  await page.evaluate(
    () =>
      new Promise<void>((resolve, reject) => {
        const open = indexedDB.open('ctc-lab');
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const store = db.transaction('runs', 'readwrite').objectStore('runs');
          const all = store.getAll();
          all.onsuccess = () => {
            const good = all.result[0];
            const put = store.put({ ...good, id: 'run-damaged', history: [{ epoch: 1, trainLoss: 'NaN?' }] });
            put.onsuccess = () => (db.close(), resolve());
            put.onerror = () => reject(put.error);
          };
        };
      }),
  );
  await lab.reload();
  await tr.open();
  const damaged = tr.runs.filter({ hasText: 'run-damaged' });
  await expect(damaged).toContainText('damaged');
  await expect(damaged).toContainText('history[0].trainLoss: expected a number or null, got "NaN?"');
  await expect(tr.runs).toHaveCount(2);
  await expect(tr.runs.first().getByRole('button', { name: 'Download last' })).toBeVisible();
  page.once('dialog', (d) => void d.accept());
  await tr.button('Delete run run-damaged').click();
  await expect(tr.runs).toHaveCount(1);
});
