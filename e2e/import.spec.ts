import { readFileSync, readdirSync } from 'node:fs';
import { zipSync } from 'fflate';
import { join } from 'node:path';
import { test, expect, writeDatasetFolder, type LabPage } from './fixtures';
import type { Page } from '@playwright/test';

/** Drops files on the drop zone with a real DataTransfer built in the page. */
async function dropFiles(page: Page, files: { path: string; bytes: Buffer }[]) {
  const payload = files.map((f) => ({ name: f.path.split('/').pop()!, b64: f.bytes.toString('base64') }));
  const dt = await page.evaluateHandle((items) => {
    const dt = new DataTransfer();
    for (const it of items) {
      const bin = Uint8Array.from(atob(it.b64), (c) => c.charCodeAt(0));
      dt.items.add(new File([bin], it.name));
    }
    return dt;
  }, payload);
  await page.getByRole('region', { name: 'Drop a dataset here' }).dispatchEvent('drop', { dataTransfer: dt });
}

function folderFiles(dir: string): { path: string; bytes: Buffer }[] {
  const out: { path: string; bytes: Buffer }[] = [];
  const walk = (d: string, rel: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${rel}${e.name}/`);
      else out.push({ path: `${rel}${e.name}`, bytes: readFileSync(join(d, e.name)) });
    }
  };
  walk(dir, '');
  return out;
}

async function expectRow(lab: LabPage, name: string, cells: string[]) {
  const row = lab.datasetRow(name);
  await expect(row).toBeVisible();
  const texts = (await row.locator('td').allInnerTexts()).map((s) => s.trim());
  expect(texts.slice(1, 1 + cells.length)).toEqual(cells);
}

test('folder import: counts shown, still listed after reload', async ({ lab, page }, testInfo) => {
  const { dir } = writeDatasetFolder(testInfo.outputPath('mydata'), { n: 8, F: 6, splits: true });
  await page.getByLabel('Import folder').setInputFiles(dir);
  const report = page.getByRole('region', { name: 'Import report' });
  await expect(report).toContainText('6 train, 1 val, 1 test');
  await expect(report).toContainText('not stored as a dataset yet');
  expect(await lab.datasetNames()).toEqual([]);
  await lab.store();
  await expect(page.getByRole('status').filter({ hasText: 'Stored "mydata": 8 samples.' })).toBeVisible();
  // name, train, val, test, feature dim, vocabulary size
  await expectRow(lab, 'mydata', ['mydata', '6', '1', '1', '6', '4']);
  await page.reload();
  await expect(lab.backend).not.toContainText('starting');
  await expectRow(lab, 'mydata', ['mydata', '6', '1', '1', '6', '4']);
});

test('dropped files import (manifest + npy, seeded 90/10 split)', async ({ lab, page }, testInfo) => {
  const { dir } = writeDatasetFolder(testInfo.outputPath('dropped'), { n: 10, F: 4 });
  await dropFiles(page, folderFiles(dir));
  await lab.store();
  await expect(page.getByRole('status').filter({ hasText: 'samples.' })).toBeVisible();
  await expectRow(lab, 'Imported dataset', ['Imported dataset', '9', '1', '0', '4', '4']);
});

test('a malformed .npy is named in the error and stored datasets are unchanged', async ({ lab, page }, testInfo) => {
  const good = writeDatasetFolder(testInfo.outputPath('good'), { n: 6, F: 3 });
  await page.getByLabel('Import folder').setInputFiles(good.dir);
  await lab.store();
  await expect(lab.datasetRow('good')).toBeVisible();
  const before = await lab.datasetNames();

  const bad = writeDatasetFolder(testInfo.outputPath('bad'), { n: 6, F: 3, corrupt: 'utt3' });
  await page.getByLabel('Import folder').setInputFiles(bad.dir);
  const alert = page.getByRole('alert');
  await expect(alert).toContainText('bad/feats/utt3.npy');
  await expect(alert).toContainText('not a .npy file');
  expect(await lab.datasetNames()).toEqual(before);

  await page.reload();
  await expect(lab.backend).not.toContainText('starting');
  await expect(lab.datasetRow('good')).toBeVisible();
  expect(await lab.datasetNames()).toEqual(before);
});

test('samples with NaN features are listed before storing, and dropped when the user chooses so', async ({ lab, page }, testInfo) => {
  const { dir } = writeDatasetFolder(testInfo.outputPath('withnan'), { n: 6, F: 3, nan: 'utt2', splits: true });
  await page.getByLabel('Import folder').setInputFiles(dir);
  const report = page.getByRole('region', { name: 'Import report' });
  await expect(report).toContainText('1 samples contain NaN/Inf and are left out: utt2 (withnan/feats/utt2.npy: NaN value at frame 1, feature 1)');
  await lab.store('Drop 1 samples with NaN/Inf and store');
  await expectRow(lab, 'withnan', ['withnan', '3', '1', '1', '3']);
});

test('cancelling the import report stores nothing', async ({ lab, page }, testInfo) => {
  const { dir } = writeDatasetFolder(testInfo.outputPath('nope'), { n: 4, F: 2 });
  await page.getByLabel('Import folder').setInputFiles(dir);
  await expect(page.getByRole('region', { name: 'Import report' })).toBeVisible();
  await page.getByRole('button', { name: 'Cancel' }).click();
  await expect(page.getByRole('region', { name: 'Import report' })).toHaveCount(0);
  expect(await lab.datasetNames()).toEqual([]);
});

test('datasets list: inspect a sample (transcript, heat map), rename (kept after reload)', async ({ lab, page }) => {
  await page.getByRole('button', { name: 'Load demo dataset' }).click();
  await expect(lab.datasetRow('Demo (seed 42)')).toBeVisible();
  await page.getByRole('button', { name: 'Inspect Demo (seed 42)' }).click();
  const inspector = page.getByRole('region', { name: 'Sample inspector' });
  await expect(inspector).toContainText('Sample #0 of 160: demo-0000');
  await expect(inspector.getByLabel('Transcript')).not.toBeEmpty();
  await expect(inspector.getByRole('img', { name: 'Feature heat map' })).toBeVisible();
  await inspector.getByRole('button', { name: 'Next sample' }).click();
  await expect(inspector).toContainText('Sample #1 of 160: demo-0001');

  page.once('dialog', (d) => void d.accept('My demo'));
  await page.getByRole('button', { name: 'Rename Demo (seed 42)' }).click();
  await expect(lab.datasetRow('My demo')).toBeVisible();
  await page.reload();
  await expect(lab.backend).not.toContainText('starting');
  await expect(lab.datasetRow('My demo')).toBeVisible();

  page.once('dialog', (d) => void d.dismiss()); // "Delete …?" → No: nothing happens
  await page.getByRole('button', { name: 'Delete My demo' }).click();
  await expect(lab.datasetRow('My demo')).toBeVisible();
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete My demo' }).click();
  await expect(page.getByText('No dataset stored in this browser yet.')).toBeVisible();
});

/** Samples and datasets in the page's IndexedDB, read directly (not through the app). */
async function idbCounts(page: Page): Promise<{ datasets: number; samples: number }> {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('ctc-lab');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const tx = req.result.transaction(['datasets', 'samples']);
          const a = tx.objectStore('datasets').count(), b = tx.objectStore('samples').count();
          tx.oncomplete = () => {
            resolve({ datasets: a.result, samples: b.result });
            req.result.close();
          };
        };
      }),
  );
}

test('dropped .zip of a folder, float16 chosen before the import', async ({ lab, page }, testInfo) => {
  const { dir } = writeDatasetFolder(testInfo.outputPath('zipped'), { n: 8, F: 5, splits: true });
  const members = Object.fromEntries(folderFiles(dir).map((f) => [`zipped/${f.path}`, new Uint8Array(f.bytes)]));
  await page.getByLabel('Store features as').selectOption('float16');
  await dropFiles(page, [{ path: 'zipped.zip', bytes: Buffer.from(zipSync(members, { level: 6 })) }]);
  const report = page.getByRole('region', { name: 'Import report' });
  await expect(report).toContainText('6 train, 1 val, 1 test');
  await expect(report.getByRole('radio', { name: /^float16/ })).toBeChecked();
  await expect(report).not.toContainText('storing rewrites the staged samples');
  await lab.store();
  await expectRow(lab, 'zipped', ['zipped', '6', '1', '1', '5', '4']);
  // 8 samples of 10..17 frames × 5 dims, 2 bytes each
  await expect(lab.datasetRow('zipped')).toContainText(`${((108 * 5 * 2) / 2 ** 20).toFixed(1)} MB float16`);
});

test('dropped manifest + np.savez_compressed .npz (real NumPy file), stored as float16', async ({ lab, page }) => {
  const npz = readFileSync(new URL('../src/data/fixtures/savez_compressed.npz', import.meta.url));
  const manifest = ['u1', 'u2', 'u3'].map((id, i) => JSON.stringify({ id, text: i ? 'X Y' : 'Y', split: i === 2 ? 'val' : 'train' })).join('\n');
  await dropFiles(page, [{ path: 'manifest.jsonl', bytes: Buffer.from(manifest) }, { path: 'feats.npz', bytes: npz }]);
  const report = page.getByRole('region', { name: 'Import report' });
  await expect(report).toContainText('2 train, 1 val, 0 test');
  await report.getByRole('radio', { name: /^float16/ }).check();
  await lab.store();
  await expectRow(lab, 'Imported dataset', ['Imported dataset', '2', '1', '0', '3', '2']);
  await expect(lab.datasetRow('Imported dataset')).toContainText('float16');
  // The inspector reads the float16 samples back as numbers (u1: 5 frames × 3 dims).
  await page.getByRole('button', { name: 'Inspect Imported dataset' }).click();
  await expect(page.getByRole('region', { name: 'Sample inspector' })).toContainText('Sample #0 of 3: u1');
});

test('aborting an import midway leaves nothing in IndexedDB, before and after a reload', async ({ lab, page }, testInfo) => {
  await page.getByRole('button', { name: 'Load demo dataset' }).click();
  await expect(lab.datasetRow('Demo (seed 42)')).toBeVisible();
  const before = await idbCounts(page);
  const { dir } = writeDatasetFolder(testInfo.outputPath('big'), { n: 1500, F: 100, T: 200 });
  await page.getByLabel('Import folder').setInputFiles(dir);
  const progress = page.getByRole('status').filter({ hasText: /Importing: \d+ \/ 1500 samples/ });
  await expect(progress).toBeVisible();
  await page.getByRole('button', { name: 'Abort import' }).click();
  await expect(page.getByRole('alert')).toContainText('import aborted; nothing was stored');
  await expect(page.getByRole('region', { name: 'Import report' })).toHaveCount(0);
  expect(await idbCounts(page)).toEqual(before);
  expect(await lab.datasetNames()).toEqual(['Demo (seed 42)']);
  await page.reload();
  await expect(lab.backend).not.toContainText('starting');
  expect(await idbCounts(page)).toEqual(before);
});

test('samples staged by an import interrupted by a reload are removed at the next start', async ({ lab, page }, testInfo) => {
  const { dir } = writeDatasetFolder(testInfo.outputPath('reloaded'), { n: 6, F: 3 });
  await page.getByLabel('Import folder').setInputFiles(dir);
  await expect(page.getByRole('region', { name: 'Import report' })).toBeVisible();
  expect(await idbCounts(page)).toEqual({ datasets: 0, samples: 6 }); // staged, not a dataset
  await page.reload(); // the report is never answered
  await expect(lab.backend).not.toContainText('starting');
  await expect.poll(() => idbCounts(page)).toEqual({ datasets: 0, samples: 0 });
  expect(await lab.datasetNames()).toEqual([]);
});
