// The worker bundle loads only the TF.js it uses: the core (with its gradients and chained ops,
// engine/tfjs_register.ts), the WebGPU backend and the fallbacks initBackend can pick (WebGL,
// CPU), not the umbrella package @tensorflow/tfjs with layers, converter and data. Builds the
// worker as its own entry (in memory) and checks the modules it holds.

import { build, type Rolldown, type UserConfig } from 'vite';
import viteConfig from '../../vite.config';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

describe('worker bundle', () => {
  it('holds TF.js core, the WebGPU, WebGL and CPU backends, and no layers, converter or data', async () => {
    const config = viteConfig as UserConfig;
    const out = await build({
      ...config,
      root: ROOT,
      configFile: false,
      logLevel: 'silent',
      build: { ...config.build, write: false, emptyOutDir: false, rollupOptions: { input: { worker: join(ROOT, 'src/worker/lab.worker.ts') } } },
    });
    const outputs = (Array.isArray(out) ? out : [out]) as Rolldown.RolldownOutput[];
    const modules = outputs
      .flatMap((o) => o.output)
      .flatMap((c) => (c.type === 'chunk' ? c.moduleIds : []))
      .filter((m) => m.includes('/node_modules/@tensorflow/'));
    const packages = new Set(modules.map((m) => /\/node_modules\/(@tensorflow\/[^/]+)\//.exec(m)![1]));
    expect([...packages].sort()).toEqual([
      '@tensorflow/tfjs-backend-cpu',
      '@tensorflow/tfjs-backend-webgl',
      '@tensorflow/tfjs-backend-webgpu',
      '@tensorflow/tfjs-core',
    ]);
    // The gradients and chained ops are in (training needs them).
    expect(modules.some((m) => m.endsWith('/register_all_gradients.js'))).toBe(true);
    expect(modules.some((m) => m.endsWith('/register_all_chained_ops.js'))).toBe(true);
  }, 180_000);
});
