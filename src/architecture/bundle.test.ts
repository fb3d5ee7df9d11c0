// The page's bundle never contains TF.js: the lab's page loads fast and TF.js runs only in the
// worker. Builds the app as `npm run build` does (in memory) and checks the modules of the page's
// entry chunk and of every chunk it imports statically; the worker's chunk must hold TF.js (so the
// check looks where TF.js would be).

import { build, type Rolldown, type UserConfig } from 'vite';
import viteConfig from '../../vite.config';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

type Chunk = Rolldown.OutputChunk;

const ROOT = join(import.meta.dirname, '..', '..');

describe('bundles', () => {
  it("the page's entry chunk and its static imports hold no TF.js; the worker's chunk does", async () => {
    // The project's config with the page as the only input (the kernels page is a test harness).
    const config = viteConfig as UserConfig;
    const out = await build({
      ...config,
      root: ROOT,
      configFile: false,
      logLevel: 'silent',
      build: { ...config.build, write: false, emptyOutDir: false, rollupOptions: { input: { main: join(ROOT, 'index.html') } } },
    });
    const outputs = (Array.isArray(out) ? out : [out]) as Rolldown.RolldownOutput[];
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
