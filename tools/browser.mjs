// Which Chromium the tests and benchmarks drive: CHROMIUM_PATH when set, else a system Chrome or
// Chromium in the usual places, else Playwright's own browser (installed by `node tools/browser.mjs
// --ensure`, the `pretest` step, where a network allows). Used by playwright.config.ts and bench/.

import { existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const CANDIDATES = {
  linux: [
    '/usr/bin/chromium',
    '/usr/bin/chromium-browser',
    '/snap/bin/chromium',
    '/usr/bin/google-chrome-stable',
    '/usr/bin/google-chrome',
    '/opt/google/chrome/chrome',
  ],
  darwin: [
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
    '/Applications/Chromium.app/Contents/MacOS/Chromium',
    join(homedir(), 'Applications/Google Chrome.app/Contents/MacOS/Google Chrome'),
  ],
  win32: [
    join(process.env['PROGRAMFILES'] ?? 'C:\\Program Files', 'Google\\Chrome\\Application\\chrome.exe'),
    join(process.env['PROGRAMFILES(X86)'] ?? 'C:\\Program Files (x86)', 'Google\\Chrome\\Application\\chrome.exe'),
    join(process.env['LOCALAPPDATA'] ?? '', 'Google\\Chrome\\Application\\chrome.exe'),
  ],
};

/** A system browser's path, or undefined to use Playwright's own Chromium. */
export function findBrowser() {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return (CANDIDATES[process.platform] ?? []).find((p) => existsSync(p));
}

/** Whether Playwright's own Chromium is installed. */
async function playwrightBrowserInstalled() {
  try {
    const { chromium } = await import('@playwright/test');
    return existsSync(chromium.executablePath());
  } catch {
    return false;
  }
}

// `node tools/browser.mjs --ensure`: make sure some browser is there (the pretest step).
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href && process.argv.includes('--ensure')) {
  const found = findBrowser();
  if (found) {
    if (process.env.CHROMIUM_PATH && !existsSync(found)) {
      console.error(`CHROMIUM_PATH=${found} does not exist; point it at a Chrome or Chromium 113+ binary.`);
      process.exit(1);
    }
    console.log(`[tests] browser: ${found}`);
  } else if (await playwrightBrowserInstalled()) {
    console.log("[tests] browser: Playwright's Chromium");
  } else {
    console.log("[tests] no Chrome or Chromium found; installing Playwright's Chromium (npx playwright install chromium)");
    try {
      execFileSync('npx', ['playwright', 'install', 'chromium'], { stdio: 'inherit', shell: process.platform === 'win32' });
    } catch {
      console.error(
        'No browser for the end-to-end tests: install Chrome or Chromium 113+ (e.g. `apt-get install chromium`), or set CHROMIUM_PATH to one, or allow `npx playwright install chromium` to download.',
      );
      process.exit(1);
    }
  }
}
