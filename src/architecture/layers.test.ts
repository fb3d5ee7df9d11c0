// Guards the layer rule, the worker-feature rule and the record-cast rule (layers.ts) over every
// source file, and checks each checker itself on a planted break (so this test can fail for the
// reason it names).

import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { declaredTypes, importSpecifiers, recordCasts, resolveSpec, violations, type ImportEdge } from './layers';

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

  it('no worker feature imports another; the checker refuses a planted sibling import', () => {
    const e = (from: string, spec: string): ImportEdge => ({ from, spec, to: resolveSpec(from, spec) });
    expect(violations([e('worker/training.ts', './distill')])).toEqual([
      'worker/training.ts imports worker/distill.ts: a worker feature imports no other feature (only worker/api.ts, worker/changes.ts, worker/jobs.ts, worker/runtime.ts, worker/staged_imports.ts, worker/testhooks.ts); shared rules go in engine/',
    ]);
    expect(violations([e('worker/diagnostics.ts', './checkpoints')])[0]).toContain('a worker feature imports no other feature');
    // Allowed: the infrastructure, and the entry wiring the features.
    expect(
      violations([
        e('worker/training.ts', './jobs'),
        e('worker/training.ts', './runtime'),
        e('worker/outputs.ts', './staged_imports'),
        e('worker/changes.ts', './api'),
        e('worker/lab.worker.ts', './training'),
      ]),
    ).toEqual([]);
    // And the real tree has none (the first test scans it; this names the rule if it fails).
    expect(violations(edges()).filter((v) => v.includes('a worker feature'))).toEqual([]);
  });

  it('no source casts to a record or protocol type; the checker refuses planted casts', () => {
    const records = new Set([
      ...declaredTypes(readFileSync(join(SRC, 'data/types.ts'), 'utf8')),
      ...declaredTypes(readFileSync(join(SRC, 'worker/api.ts'), 'utf8')),
    ]);
    expect([...records]).toEqual(
      expect.arrayContaining(['RunRecord', 'CheckpointRecord', 'EpochRecord', 'HistoryRow', 'DistillationRecord', 'RunInfo', 'CheckpointInfo']),
    );
    const casts = sources(SRC).flatMap((file) => recordCasts(relative(SRC, file).split('\\').join('/'), readFileSync(file, 'utf8'), records));
    expect(casts).toEqual([]);
    const planted = [
      "const h = [...trainer.state.history] as unknown as store.RunRecord['history'];",
      'this.epochs = e.run.history as unknown as EpochRecord[];',
      'listCheckpoints: (id) => store.listCheckpoints(id) as Promise<CheckpointInfo[]>,',
      'const r = raw as RunRecord;',
    ].join('\n');
    expect(recordCasts('worker/x.ts', planted, records)).toEqual([
      "worker/x.ts: casts to RunRecord (as unknown as store.RunRecord['history']): a record is built or checked, never cast",
      'worker/x.ts: casts to EpochRecord (as unknown as EpochRecord[]): a record is built or checked, never cast',
      'worker/x.ts: casts to CheckpointInfo (as Promise<CheckpointInfo[]>): a record is built or checked, never cast',
      'worker/x.ts: casts to RunRecord (as RunRecord): a record is built or checked, never cast',
    ]);
    // Not record casts: other types, `as const`, import renames, comments.
    const fine = [
      "import { a as RunRecord } from './x';",
      'const k = [1, 2] as const;',
      'const f = kernel as unknown as tf.KernelFunc;',
      '// stored as RunRecord rows',
    ].join('\n');
    expect(recordCasts('engine/y.ts', fine, records)).toEqual([]);
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
