// Start-up of the lab page (`npm run bench`, BENCH_ONLY=startup): the worker bundle's size, and the
// time from page load to the compute backend being ready (the worker's bundle loaded and run, the
// WebGPU device up), to the demo dataset stored, and to the first training step, each in a fresh
// browser context (empty cache and storage). Times are the page's performance.now(): since
// navigation start.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser } from '@playwright/test';
import { expect } from '@playwright/test';
import { LabPage } from '../e2e/pages';
import { timing, type Timing } from './ctc.bench';

export interface StartupResult {
  workerBundle: { file: string; bytes: number; gzipBytes: number };
  backendReadyMs: Timing; // page load -> the header names the compute backend
  demoStoredMs: Timing; // -> the demo dataset stored (clicked as soon as the backend is ready)
  firstStepMs: Timing; // -> the first training step reported (Start training clicked at once)
  backend: string;
}

/** The worker chunk of a production build (assets/lab.worker-*.js). */
export function workerBundle(distDir: string): StartupResult['workerBundle'] {
  const file = readdirSync(join(distDir, 'assets')).find((f) => /^lab\.worker-.*\.js$/.test(f));
  if (!file) throw new Error(`startup benchmark: no assets/lab.worker-*.js in ${distDir}`);
  const bytes = readFileSync(join(distDir, 'assets', file));
  return { file, bytes: bytes.byteLength, gzipBytes: gzipSync(bytes).byteLength };
}

export async function benchStartup(browser: Browser, baseURL: string, distDir: string, runs = 3): Promise<StartupResult> {
  const backendReady: number[] = [],
    demoStored: number[] = [],
    firstStep: number[] = [];
  let backend = '';
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ baseURL });
    try {
      const page = await context.newPage();
      const lab = new LabPage(page);
      const now = () => page.evaluate(() => performance.now());
      await lab.open();
      backendReady.push(await now());
      backend = (await lab.backend.innerText()).trim();
      await lab.datasets.loadDemo();
      demoStored.push(await now());
      await lab.training.start({ Epochs: 1 });
      await expect(lab.training.progress).toBeVisible({ timeout: 600_000 });
      await page.waitForFunction(() => Number(document.querySelector('progress[aria-label="Training progress"]')?.getAttribute('value') ?? 0) >= 1, null, {
        timeout: 600_000,
        polling: 50,
      });
      firstStep.push(await now());
      await lab.training.stop();
    } finally {
      await context.close();
    }
  }
  return {
    workerBundle: workerBundle(distDir),
    backendReadyMs: timing(backendReady),
    demoStoredMs: timing(demoStored),
    firstStepMs: timing(firstStep),
    backend,
  };
}

/** The start-up section of BENCHMARKS.md. */
export function startupMarkdown(r: StartupResult): string {
  const t = (x: Timing) => `${(x.ms / 1000).toFixed(2)} s (${(x.min / 1000).toFixed(2)}–${(x.max / 1000).toFixed(2)})`;
  return [
    `### Page start-up — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `Machine: as above; ${r.backend}. Each run in a fresh browser context (empty cache and storage), times from navigation start; median of ${r.backendReadyMs.all.length} (minimum–maximum). The demo dataset and the training are started as soon as the page allows (1 epoch, defaults).`,
    '',
    '| worker bundle | to the compute backend ready | to the demo dataset stored | to the first training step |',
    '|---|---|---|---|',
    `| ${r.workerBundle.file}: ${(r.workerBundle.bytes / 1024).toFixed(0)} KiB (${(r.workerBundle.gzipBytes / 1024).toFixed(0)} KiB gzip) | ${t(r.backendReadyMs)} | ${t(r.demoStoredMs)} | ${t(r.firstStepMs)} |`,
  ].join('\n');
}
