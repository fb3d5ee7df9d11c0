#!/usr/bin/env node
// `npm run bench:node`: the CTC and training benchmarks of `npm run bench`, without a browser, on
// Dawn (the `webgpu` npm package) with the same kernels through tfjs-backend-webgpu, so a machine
// with a GPU and no display can run them. Each result names its adapter (vendor, architecture,
// device); the results go to bench/out/node-<adapter>.json and to BENCHMARKS.md, in a section of
// their own per adapter, so figures from different machines are never mixed.
//   BENCH_ONLY=ctc,train (default both)  BENCH_REPS=5  BENCH_SHAPES='[...]' (as for npm run bench)
//   BENCH_NO_WRITE=1 (print only)
// Dawn finds Vulkan through the system's loader (libvulkan.so.1) and its GPU drivers. Where the
// system has no Vulkan loader, Chromium's bundled loader and its SwiftShader (a CPU emulation) are
// used when present (/usr/lib/chromium), as headless Chromium does. A wrong CTC result (checked
// against the float64 reference, and PyTorch's loss against the fused one) fails the run.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const CHROMIUM_LIB = '/usr/lib/chromium';

function hasSystemVulkanLoader() {
  try {
    return /libvulkan\.so\.1\b/.test(execFileSync('ldconfig', ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }));
  } catch {
    return ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1', '/usr/lib/libvulkan.so.1'].some(existsSync);
  }
}

// The Vulkan loader is found when the process starts, so the benchmark runs in a child process
// with the environment set.
if (!process.env.CTC_LAB_BENCH_NODE_CHILD) {
  const env = { ...process.env, CTC_LAB_BENCH_NODE_CHILD: '1' };
  if (process.platform === 'linux' && !hasSystemVulkanLoader() && existsSync(`${CHROMIUM_LIB}/libvulkan.so.1`)) {
    env.LD_LIBRARY_PATH = [CHROMIUM_LIB, env.LD_LIBRARY_PATH].filter(Boolean).join(':');
    env.VK_ICD_FILENAMES ??= `${CHROMIUM_LIB}/vk_swiftshader_icd.json`;
    console.log(`bench:node: no system Vulkan loader; using Chromium's (${CHROMIUM_LIB}) and ${env.VK_ICD_FILENAMES}`);
  }
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit', env });
  process.exit(r.status ?? 1);
}

const { createServer } = await import('vite');
const loader = await createServer({ configFile: false, logLevel: 'error', appType: 'custom', server: { middlewareMode: true, hmr: false } });
let status = 0;
try {
  const { main } = await loader.ssrLoadModule('/bench/dawn.node.ts');
  await main();
} catch (e) {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  status = 1;
} finally {
  await loader.close();
}
// Dawn keeps handles open; the results are written, so leave now.
process.exit(status);
