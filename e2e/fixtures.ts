// Fixtures for the lab's specs: every test gets a fresh browser context (fresh IndexedDB), the
// page's and worker's console collected (attached on failure) and the lab opened through its page
// object. Test data written to disk: writeDatasetFolder. The kernel specs' run of kernels.html:
// kernelSelfTest.

import { test as base, expect, type Page } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeNpy } from '../src/data/npy';
import { LabPage } from './pages';
import type {} from '../src/kernels/main'; // window.ctcLab

type Fixtures = { lab: LabPage; logs: string[] };

export const test = base.extend<Fixtures>({
  logs: [
    async ({ page }, use, testInfo) => {
      const logs: string[] = [];
      page.on('console', (m) => logs.push(`[${m.type()}] ${m.text()}`));
      page.on('pageerror', (e) => logs.push(`[pageerror] ${e.message}`));
      page.on('worker', (w) => {
        logs.push(`[worker started] ${w.url()}`);
        w.on('console', (m) => logs.push(`[worker ${m.type()}] ${m.text()}`));
      });
      await use(logs);
      if (testInfo.status !== testInfo.expectedStatus) await testInfo.attach('console', { body: logs.join('\n') });
    },
    { auto: true },
  ],
  lab: async ({ page }, use) => {
    const lab = new LabPage(page);
    await lab.open();
    await use(lab);
  },
});
export { expect, LabPage };

/** Writes a small dataset folder: manifest.jsonl + feats/<id>.npy, docs/ARCHITECTURE.md "Dataset format". */
export function writeDatasetFolder(
  root: string,
  opts: { n?: number; F?: number; T?: number; corrupt?: string; nan?: string; splits?: boolean } = {},
): { dir: string; ids: string[] } {
  const n = opts.n ?? 8;
  const F = opts.F ?? 6;
  const words = ['A', 'B', 'C', 'D'];
  const lines: string[] = [];
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = `utt${i}`;
    ids.push(id);
    const T = (opts.T ?? 10) + (opts.T ? i % 7 : i);
    const x = new Float32Array(T * F).map((_, k) => Math.sin(k * 0.37 + i));
    if (id === opts.nan) x[F + 1] = NaN;
    const path = join(root, 'feats', `${id}.npy`);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, id === opts.corrupt ? Buffer.from('this is not an npy file') : writeNpy(x, [T, F]));
    const split = opts.splits ? (i < n - 2 ? 'train' : i === n - 2 ? 'val' : 'test') : undefined;
    lines.push(JSON.stringify({ id, text: `${words[i % 4]} ${words[(i + 1) % 4]}`, features: `feats/${id}.npy`, ...(split ? { split } : {}) }));
  }
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'manifest.jsonl'), lines.join('\n') + '\n');
  return { dir: root, ids };
}

/**
 * Opens kernels.html, which must run on WebGPU, runs one of its self-tests (window.ctcLab) and
 * checks each result, their number, and that the page logged no error.
 */
export async function kernelSelfTest<R>(page: Page, run: () => Promise<R[]>, count: number, check: (r: R) => void): Promise<void> {
  const logs: string[] = [];
  page.on('console', (m) => logs.push(m.text()));
  await page.goto('/kernels.html');
  const backend = await page.evaluate(async () => (await window.ctcLab.ready).name);
  expect(backend).toBe('webgpu');
  const results = await page.evaluate(run);
  for (const r of results) check(r);
  expect(results).toHaveLength(count);
  expect(logs.filter((l) => /error/i.test(l))).toEqual([]);
}
