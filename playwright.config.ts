import { defineConfig } from '@playwright/test';

// CHROMIUM_PATH, else a system Chrome/Chromium, else Playwright's own (tools/browser.mjs). Without a GPU,
// WebGPU is SwiftShader's CPU adapter.
import { findBrowser } from './tools/browser.mjs';

const executablePath = findBrowser();
const port = Number(process.env.E2E_PORT || 4173);
// E2E_DIST: serve another build folder (several builds side by side on one machine).
const outDir = process.env.E2E_DIST ? ` --outDir ${process.env.E2E_DIST}` : '';

export default defineConfig({
  testDir: 'e2e',
  // Several runs side by side (E2E_PORT) keep their artifacts apart.
  outputDir: process.env.E2E_PORT ? `test-results/port-${port}` : 'test-results',
  timeout: 300_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [['list']],
  use: {
    baseURL: `http://localhost:${port}`,
    acceptDownloads: true,
    launchOptions: {
      executablePath,
      args: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--no-sandbox', '--disable-background-networking', '--disable-component-update'],
    },
    trace: 'retain-on-failure',
  },
  webServer: {
    // The production build, served as users get it.
    command: `npx vite preview --port ${port} --strictPort${outDir}`,
    url: `http://localhost:${port}`,
    reuseExistingServer: !process.env.CI,
    timeout: 60_000,
  },
});
