import { readFileSync, readdirSync } from 'node:fs';
import { zipSync } from 'fflate';
import { join } from 'node:path';
import { test, expect, writeDatasetFolder } from './fixtures';
import type { Page } from '@playwright/test';

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

/** Samples and datasets in the page's IndexedDB, read directly (not through the app). */
async function idbCounts(page: Page): Promise<{ datasets: number; samples: number }> {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const req = indexedDB.open('ctc-lab');
        req.onerror = () => reject(req.error);
        req.onsuccess = () => {
          const tx = req.result.transaction(['datasets', 'samples']);
          const a = tx.objectStore('datasets').count(),
            b = tx.objectStore('samples').count();
          tx.oncomplete = () => {
            resolve({ datasets: a.result, samples: b.result });
            req.result.close();
          };
        };
      }),
  );
}

test('folder import: counts shown, still listed after reload', async ({ lab }, testInfo) => {
  const ds = lab.datasets;
  const { dir } = writeDatasetFolder(testInfo.outputPath('mydata'), { n: 8, F: 6, splits: true });
  await ds.importFolder(dir);
  await expect(ds.report).toContainText('6 train, 1 val, 1 test');
  await expect(ds.report).toContainText('not stored as a dataset yet');
  expect(await ds.names()).toEqual([]);
  await ds.store();
  await expect(ds.status('Stored "mydata": 8 samples.')).toBeVisible();
  // name, train, val, test, feature dim, vocabulary size
  expect((await ds.cells('mydata')).slice(0, 6)).toEqual(['mydata', '6', '1', '1', '6', '4']);
  await expect(lab.selectedDataset).toContainText('mydata (8 samples)');
  await lab.reload();
  expect((await ds.cells('mydata')).slice(0, 6)).toEqual(['mydata', '6', '1', '1', '6', '4']);
});

test('dropped files import (manifest + npy, seeded 90/10 split)', async ({ lab }, testInfo) => {
  const ds = lab.datasets;
  const { dir } = writeDatasetFolder(testInfo.outputPath('dropped'), { n: 10, F: 4 });
  await ds.drop(folderFiles(dir));
  await ds.store();
  await expect(ds.status('samples.')).toBeVisible();
  expect((await ds.cells('Imported dataset')).slice(0, 6)).toEqual(['Imported dataset', '9', '1', '0', '4', '4']);
});

test('a malformed .npy is named in the error and stored datasets are unchanged', async ({ lab }, testInfo) => {
  const ds = lab.datasets;
  const good = writeDatasetFolder(testInfo.outputPath('good'), { n: 6, F: 3 });
  await ds.importFolder(good.dir);
  await ds.store();
  await expect(ds.row('good')).toBeVisible();
  const before = await ds.names();

  const bad = writeDatasetFolder(testInfo.outputPath('bad'), { n: 6, F: 3, corrupt: 'utt3' });
  await ds.importFolder(bad.dir);
  await expect(ds.alert).toContainText('bad/feats/utt3.npy');
  await expect(ds.alert).toContainText('not a .npy file');
  expect(await ds.names()).toEqual(before);

  await lab.reload();
  await expect(ds.row('good')).toBeVisible();
  expect(await ds.names()).toEqual(before);
});

test('samples with NaN features are listed before storing, and dropped when the user chooses so', async ({ lab }, testInfo) => {
  const ds = lab.datasets;
  const { dir } = writeDatasetFolder(testInfo.outputPath('withnan'), { n: 6, F: 3, nan: 'utt2', splits: true });
  await ds.importFolder(dir);
  await expect(ds.report).toContainText('1 samples contain NaN/Inf and are left out: utt2 (withnan/feats/utt2.npy: NaN value at frame 1, feature 1)');
  await ds.store('Drop 1 samples with NaN/Inf and store');
  expect((await ds.cells('withnan')).slice(0, 5)).toEqual(['withnan', '3', '1', '1', '3']);
});

test('cancelling the import report stores nothing', async ({ lab }, testInfo) => {
  const ds = lab.datasets;
  const { dir } = writeDatasetFolder(testInfo.outputPath('nope'), { n: 4, F: 2 });
  await ds.importFolder(dir);
  await expect(ds.report).toBeVisible();
  await ds.cancel();
  await expect(ds.report).toHaveCount(0);
  expect(await ds.names()).toEqual([]);
});

test('datasets list: inspect a sample (transcript, heat map), rename (kept after reload), delete with confirmation', async ({ lab }) => {
  const ds = lab.datasets;
  await ds.loadDemo();
  await ds.inspect('Demo (seed 42)');
  await expect(ds.inspector).toContainText('Sample #0 of 160: demo-0000');
  await expect(ds.inspector.getByLabel('Transcript')).not.toBeEmpty();
  await expect(ds.inspector.getByRole('img', { name: 'Feature heat map' })).toBeVisible();
  await ds.inspector.getByRole('button', { name: 'Next sample' }).click();
  await expect(ds.inspector).toContainText('Sample #1 of 160: demo-0001');

  await ds.rename('Demo (seed 42)', 'My demo');
  await expect(ds.row('My demo')).toBeVisible();
  await lab.reload();
  await expect(ds.row('My demo')).toBeVisible();

  await ds.remove('My demo', false); // "Delete …?" → No: nothing happens
  await expect(ds.row('My demo')).toBeVisible();
  await ds.remove('My demo', true);
  await expect(ds.region.getByText('No dataset stored in this browser yet.')).toBeVisible();
  await expect(lab.selectedDataset).toContainText('none selected');
});

test('dropped .zip of a folder, float16 chosen before the import', async ({ lab }, testInfo) => {
  const ds = lab.datasets;
  const { dir } = writeDatasetFolder(testInfo.outputPath('zipped'), { n: 8, F: 5, splits: true });
  const members = Object.fromEntries(folderFiles(dir).map((f) => [`zipped/${f.path}`, new Uint8Array(f.bytes)]));
  await ds.open();
  await ds.region.getByRole('combobox', { name: 'Store features as' }).selectOption('float16');
  await ds.drop([{ path: 'zipped.zip', bytes: Buffer.from(zipSync(members, { level: 6 })) }]);
  await expect(ds.report).toContainText('6 train, 1 val, 1 test');
  await expect(ds.report.getByRole('radio', { name: /^float16/ })).toBeChecked();
  await expect(ds.report).not.toContainText('storing rewrites the staged samples');
  await ds.store();
  const cells = await ds.cells('zipped');
  expect(cells.slice(0, 6)).toEqual(['zipped', '6', '1', '1', '5', '4']);
  // 8 samples of 10..17 frames × 5 dims, 2 bytes each
  expect(cells.at(-1)).toBe(`${((108 * 5 * 2) / 2 ** 20).toFixed(1)} MB float16`);
});

test('dropped manifest + np.savez_compressed .npz (real NumPy file), stored as float16', async ({ lab }) => {
  const ds = lab.datasets;
  const npz = readFileSync(new URL('../src/data/fixtures/savez_compressed.npz', import.meta.url));
  const manifest = ['u1', 'u2', 'u3'].map((id, i) => JSON.stringify({ id, text: i ? 'X Y' : 'Y', split: i === 2 ? 'val' : 'train' })).join('\n');
  await ds.drop([
    { path: 'manifest.jsonl', bytes: Buffer.from(manifest) },
    { path: 'feats.npz', bytes: npz },
  ]);
  await expect(ds.report).toContainText('2 train, 1 val, 0 test');
  await ds.report.getByRole('radio', { name: /^float16/ }).check();
  await ds.store();
  const cells = await ds.cells('Imported dataset');
  expect(cells.slice(0, 6)).toEqual(['Imported dataset', '2', '1', '0', '3', '2']);
  expect(cells.at(-1)).toMatch(/float16$/);
  // The inspector reads the float16 samples back as numbers (u1: 5 frames × 3 dims).
  await ds.inspect('Imported dataset');
  await expect(ds.inspector).toContainText('Sample #0 of 3: u1');
});

test('aborting an import midway leaves nothing in IndexedDB, before and after a reload', async ({ lab, page }, testInfo) => {
  const ds = lab.datasets;
  await ds.loadDemo();
  const before = await idbCounts(page);
  const { dir } = writeDatasetFolder(testInfo.outputPath('big'), { n: 1500, F: 100, T: 200 });
  await ds.importFolder(dir);
  await expect(ds.status(/Importing: \d+ \/ 1500 samples/)).toBeVisible();
  await ds.button('Abort import').click();
  await expect(ds.alert).toContainText('import aborted; nothing was stored');
  await expect(ds.report).toHaveCount(0);
  expect(await idbCounts(page)).toEqual(before);
  expect(await ds.names()).toEqual(['Demo (seed 42)']);
  await lab.reload();
  expect(await idbCounts(page)).toEqual(before);
});

test('samples staged by an import interrupted by a reload are removed at the next start', async ({ lab, page }, testInfo) => {
  const ds = lab.datasets;
  const { dir } = writeDatasetFolder(testInfo.outputPath('reloaded'), { n: 6, F: 3 });
  await ds.importFolder(dir);
  await expect(ds.report).toBeVisible();
  expect(await idbCounts(page)).toEqual({ datasets: 0, samples: 6 }); // staged, not a dataset
  await lab.reload(); // the report is never answered
  await expect.poll(() => idbCounts(page)).toEqual({ datasets: 0, samples: 0 });
  expect(await ds.names()).toEqual([]);
});

test('sections are deep-linkable and reachable by keyboard', async ({ lab, page }) => {
  await lab.open('#training');
  await expect(lab.training.region).toBeVisible();
  await expect(lab.datasets.region).toBeHidden();
  const nav = page.getByRole('navigation', { name: 'Sections' });
  await expect(nav.getByRole('link', { name: 'Training' })).toHaveAttribute('aria-current', 'page');
  await nav.getByRole('link', { name: 'Diagnostics' }).focus();
  await page.keyboard.press('Enter');
  await expect(lab.diagnostics.region).toBeVisible();
  await expect(page).toHaveURL(/#diagnostics$/);
  await page.goBack();
  await expect(lab.training.region).toBeVisible();
});
