// Page object and fixtures for the lab. Each test gets a fresh browser context (fresh IndexedDB);
// the page's and worker's console go into the test's attachments on failure.

import { test as base, expect, type Locator, type Page } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeNpy } from '../src/data/npy';

export class LabPage {
  readonly backend: Locator;
  readonly datasets: Locator;
  constructor(readonly page: Page) {
    this.backend = page.getByRole('region', { name: 'Compute backend' });
    this.datasets = page.getByRole('table', { name: 'Stored datasets' });
  }
  async open() {
    await this.page.goto('/');
    await expect(this.backend).not.toContainText('starting');
  }
  datasetRow(name: string): Locator {
    return this.datasets.getByRole('row').filter({ hasText: name });
  }
  /** The import report appears; store the dataset. */
  async store(button = 'Store dataset') {
    await expect(this.page.getByRole('region', { name: 'Import report' })).toBeVisible();
    await this.page.getByRole('button', { name: button }).click();
  }
  async datasetNames(): Promise<string[]> {
    if ((await this.datasets.count()) === 0) return [];
    return (await this.datasets.locator('tbody tr td:nth-child(2)').allInnerTexts()).map((s) => s.trim());
  }
}

type Fixtures = { lab: LabPage; logs: string[] };

export const test = base.extend<Fixtures>({
  logs: async ({ page }, use, testInfo) => {
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
  lab: async ({ page, logs }, use) => {
    void logs;
    const lab = new LabPage(page);
    await lab.open();
    await use(lab);
  },
});
export { expect };

/** Writes a small dataset folder: manifest.jsonl + feats/<id>.npy, DESIGN.md format. */
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
