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
  label: string; // which build
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

/** One build to start: its label (e.g. "this build", "baseline"), where it is served and its folder. */
export interface StartupBuild {
  label: string;
  baseURL: string;
  distDir: string;
}

/** One fresh-context start of a build: the three times since navigation start, and the backend named. */
async function startOnce(browser: Browser, baseURL: string): Promise<{ backendReady: number; demoStored: number; firstStep: number; backend: string }> {
  const context = await browser.newContext({ baseURL });
  try {
    const page = await context.newPage();
    const lab = new LabPage(page);
    const now = () => page.evaluate(() => performance.now());
    await lab.open();
    const backendReady = await now();
    const backend = (await lab.backend.innerText()).trim();
    await lab.datasets.loadDemo();
    const demoStored = await now();
    await lab.training.start({ Epochs: 1 });
    await expect(lab.training.progress).toBeVisible({ timeout: 600_000 });
    await page.waitForFunction(() => Number(document.querySelector('progress[aria-label="Training progress"]')?.getAttribute('value') ?? 0) >= 1, null, {
      timeout: 600_000,
      polling: 50,
    });
    const firstStep = await now();
    await lab.training.stop();
    return { backendReady, demoStored, firstStep, backend };
  } finally {
    await context.close();
  }
}

/**
 * Start-up of each build, `runs` times, interleaved (build A, build B, A, B, ...) so that a change
 * in the machine's load falls on all of them alike; the ratios between rows are side by side.
 */
export async function benchStartup(browser: Browser, builds: StartupBuild[], runs = 3): Promise<StartupResult[]> {
  const times = builds.map(() => ({ backendReady: [] as number[], demoStored: [] as number[], firstStep: [] as number[], backend: '' }));
  for (let i = 0; i < runs; i++)
    for (const [k, b] of builds.entries()) {
      const r = await startOnce(browser, b.baseURL);
      times[k].backendReady.push(r.backendReady);
      times[k].demoStored.push(r.demoStored);
      times[k].firstStep.push(r.firstStep);
      times[k].backend = r.backend;
    }
  return builds.map((b, k) => ({
    label: b.label,
    workerBundle: workerBundle(b.distDir),
    backendReadyMs: timing(times[k].backendReady),
    demoStoredMs: timing(times[k].demoStored),
    firstStepMs: timing(times[k].firstStep),
    backend: times[k].backend,
  }));
}

/** The start-up section of BENCHMARKS.md: one row per build (the first is the one the others are compared with). */
export function startupMarkdown(rs: StartupResult[], machine: string): string {
  const t = (x: Timing) => `${(x.ms / 1000).toFixed(2)} s (${(x.min / 1000).toFixed(2)}–${(x.max / 1000).toFixed(2)})`;
  const first = rs[0];
  const vs = (x: Timing, y: Timing) => (rs.length > 1 ? ` · ${(x.ms / y.ms).toFixed(2)}×` : '');
  return [
    `### Page start-up — ${new Date().toISOString().slice(0, 10)}`,
    '',
    `${machine} ${first.backend}. Each run in a fresh browser context (empty cache and storage), times from navigation start; median of ${first.backendReadyMs.all.length} (minimum–maximum)${rs.length > 1 ? ', the builds started in turn (A, B, A, B, ...); × is the time relative to the first row' : ''}. The demo dataset and the training are started as soon as the page allows (1 epoch, defaults).`,
    '',
    '| build | worker bundle | to the compute backend ready | to the demo dataset stored | to the first training step |',
    '|---|---|---|---|---|',
    ...rs.map(
      (r) =>
        `| ${r.label} | ${r.workerBundle.file}: ${(r.workerBundle.bytes / 1024).toFixed(0)} KiB (${(r.workerBundle.gzipBytes / 1024).toFixed(0)} KiB gzip) | ${t(r.backendReadyMs)}${vs(r.backendReadyMs, first.backendReadyMs)} | ${t(r.demoStoredMs)}${vs(r.demoStoredMs, first.demoStoredMs)} | ${t(r.firstStepMs)}${vs(r.firstStepMs, first.firstStepMs)} |`,
    ),
  ].join('\n');
}
