// What the bundles hold. The page's bundle never contains TF.js: the lab's page loads fast and
// TF.js runs only in the worker; the worker's chunk must hold TF.js (so the check looks where
// TF.js would be). The worker bundle loads only the TF.js it uses: the core (with its gradients
// and chained ops, engine/tfjs_register.ts), the WebGPU backend and the fallbacks initBackend can
// pick (WebGL, CPU), not the umbrella package @tensorflow/tfjs with layers, converter and data.
// Each builds the app as `npm run build` does (in memory) with one input and checks its modules.

import { build, type Rolldown, type UserConfig } from 'vite';
import viteConfig from '../../vite.config';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

type Chunk = Rolldown.OutputChunk;

const ROOT = join(import.meta.dirname, '..', '..');

/** The project's config with one input (the kernels page is a test harness), built in memory. */
async function buildInMemory(input: Record<string, string>): Promise<Rolldown.RolldownOutput[]> {
  const config = viteConfig as UserConfig;
  const out = await build({
    ...config,
    root: ROOT,
    configFile: false,
    logLevel: 'silent',
    build: { ...config.build, write: false, emptyOutDir: false, rollupOptions: { input } },
  });
  return (Array.isArray(out) ? out : [out]) as Rolldown.RolldownOutput[];
}

describe('bundles', () => {
  it("the page's entry chunk and its static imports hold no TF.js; the worker's chunk does", async () => {
    const outputs = await buildInMemory({ main: join(ROOT, 'index.html') });
    const chunks = outputs.flatMap((o) => o.output).filter((c): c is Chunk => c.type === 'chunk');
    const byName = new Map(chunks.map((c) => [c.fileName, c]));
    const page = chunks.find((c) => c.isEntry && c.facadeModuleId?.endsWith('/index.html'));
    expect(page, 'the page entry chunk (index.html)').toBeDefined();

    const seen = new Set<string>();
    const visit = (c: Chunk) => {
      if (seen.has(c.fileName)) return;
      seen.add(c.fileName);
      for (const i of c.imports) visit(byName.get(i)!);
    };
    visit(page!);
    const pageModules = [...seen].flatMap((f) => byName.get(f)!.moduleIds);
    expect(pageModules.some((m) => m.endsWith('/src/ui/App.svelte'))).toBe(true);
    expect(pageModules.filter((m) => m.includes('@tensorflow'))).toEqual([]);

    // The worker is emitted as an asset by the page's build; its code is built separately.
    const workerCode = outputs.flatMap((o) => o.output).find((c) => c.fileName.includes('lab.worker'));
    expect(workerCode, 'the worker bundle').toBeDefined();
    const text = workerCode!.type === 'chunk' ? workerCode!.code : String(workerCode!.source);
    expect(text).toContain('webgpu'); // TF.js's WebGPU backend is in the worker
  }, 120_000);
});

describe('worker bundle', () => {
  it('holds TF.js core, the WebGPU, WebGL and CPU backends, and no layers, converter or data', async () => {
    const outputs = await buildInMemory({ worker: join(ROOT, 'src/worker/lab.worker.ts') });
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
