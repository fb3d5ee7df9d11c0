// Guards the layer rule (layers.ts) over every source file, and checks the checker itself on
// imports that break it (so this test can fail for the reason it names).

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importSpecifiers, resolveSpec, violations, type ImportEdge } from './layers';

const SRC = join(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' ? [] : sources(p);
    return /\.(ts|svelte)$/.test(e.name) && !/\.test\.ts$/.test(e.name) && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

function edges(): ImportEdge[] {
  return sources(SRC).flatMap((file) => {
    const from = relative(SRC, file).split('\\').join('/');
    return importSpecifiers(readFileSync(file, 'utf8')).map((spec) => ({ from, spec, to: resolveSpec(from, spec) }));
  });
}

describe('layers: ui → client → worker → engine → data → lib', () => {
  it('no source file imports against the order', () => {
    const all = edges();
    expect(all.length).toBeGreaterThan(100); // the scan found the codebase
    expect(violations(all)).toEqual([]);
  });

  it('the checker names each kind of wrong import', () => {
    const e = (from: string, spec: string): ImportEdge => ({ from, spec, to: resolveSpec(from, spec) });
    expect(violations([e('data/import.ts', '../engine/diagnose/run')])).toEqual([
      'data/import.ts (data) imports engine/diagnose/run.ts (engine): data may import data, lib',
    ]);
    expect(violations([e('ui/TrainingPanel.svelte', '../engine/model/presets')])[0]).toContain('ui may import ui, client, worker, lib');
    expect(violations([e('client/lab.svelte.ts', '../worker/training')])[0]).toContain('only through worker/api.ts');
    expect(violations([e('client/lab.svelte.ts', '@tensorflow/tfjs')])[0]).toContain('only engine, worker, kernels may import TF.js');
    expect(violations([e('lib/rng.ts', '../data/types')])[0]).toContain('lib may import lib');
    expect(violations([e('engine/model/tcn.ts', '../../worker/api')])[0]).toContain('engine may import engine, data, lib');
    // Allowed: the protocol, lib, downward imports, packages.
    expect(
      violations([
        e('ui/App.svelte', '../worker/api'),
        e('client/x.ts', '../lib/align'),
        e('worker/training.ts', '../engine/train/trainer'),
        e('engine/a.ts', 'fflate'),
      ]),
    ).toEqual([]);
  });

  it('reads every import form: static, type-only, re-export, side effect, dynamic', () => {
    const src = [
      "import * as tf from '@tensorflow/tfjs';",
      "import type { A } from './a';",
      "import {\n  b,\n  c,\n} from '../b';",
      "export { d } from './d';",
      "export type { E } from './e';",
      "import './side';",
      "const m = await import('./dyn');",
    ].join('\n');
    expect(importSpecifiers(src)).toEqual(['@tensorflow/tfjs', './a', '../b', './d', './e', './side', './dyn']);
  });
});
