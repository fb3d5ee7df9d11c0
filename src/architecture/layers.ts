// The layer rule of the codebase, as data and a checker (used by layers.test.ts):
//
//   ui → client → worker → engine → data → lib
//
// A file may import from its own layer and the layers below it, with one more restriction on the
// page side: ui/ and client/ reach below the worker only through its protocol (worker/api.ts) and
// the shared helpers in lib/ — never engine/ or data/ directly, and never TF.js. Only the engine
// and the worker (which owns the engine) import TF.js. kernels/ (the kernel self-test page) is a
// test harness over the engine and the benchmarks (bench/). Test files (*.test.ts) are exempt: they cross layers on purpose
// (oracles, fixtures).
//
// Two more rules keep each idea in one place:
//   worker features: a worker/<feature>.ts adapts (message → storage → engine → storage → report) and
//     imports no other feature module, only the worker's infrastructure (WORKER_SHARED); only the
//     entry (lab.worker.ts) wires the features together. Rules shared by features live in engine/.
//   record casts: no source casts a value to a stored record or protocol type (declared in
//     data/types.ts or worker/api.ts), directly or through `unknown`: protocol types derive from
//     the records (Pick/Omit), so a value either is one or is checked by a schema.

export type Layer = 'ui' | 'client' | 'worker' | 'engine' | 'data' | 'lib' | 'kernels' | 'main' | 'architecture';

/** What each layer may import (by layer), before the page-side restriction. */
export const ALLOWED: Record<Layer, Layer[]> = {
  main: ['ui'],
  ui: ['ui', 'client', 'worker', 'lib'],
  client: ['client', 'worker', 'lib'],
  worker: ['worker', 'engine', 'data', 'lib'],
  engine: ['engine', 'data', 'lib'],
  data: ['data', 'lib'],
  lib: ['lib'],
  kernels: ['kernels', 'engine', 'data', 'lib'],
  architecture: ['architecture'],
};

/** Page-side layers: below the worker they may only import its protocol file. */
const PAGE: Layer[] = ['main', 'ui', 'client'];
const PROTOCOL = 'worker/api.ts';
const TFJS = /^@tensorflow\//;
const TFJS_ALLOWED: Layer[] = ['engine', 'worker', 'kernels'];

/** Worker modules every feature may import: the protocol, storage-change messages, the job discipline, start-up, staged imports, test hooks. */
export const WORKER_SHARED = ['worker/api.ts', 'worker/changes.ts', 'worker/jobs.ts', 'worker/runtime.ts', 'worker/staged_imports.ts', 'worker/testhooks.ts'];
const WORKER_ENTRY = 'worker/lab.worker.ts';

export interface ImportEdge {
  from: string; // path under src/, e.g. "ui/App.svelte"
  spec: string; // as written
  to: string | null; // resolved path under src/ (null: a package)
}

export function layerOf(path: string): Layer {
  const top = path.split('/')[0];
  if (top === 'main.ts') return 'main';
  if (top in ALLOWED) return top as Layer;
  throw new Error(`${path}: not in a known layer (${Object.keys(ALLOWED).join(', ')})`);
}

/** Import specifiers of a TypeScript or Svelte source (static, re-exports, dynamic; types too). */
export function importSpecifiers(source: string): string[] {
  const out: string[] = [];
  const re = /\b(?:import|export)\s[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]|\bimport\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (const m of source.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** Resolves a relative specifier against the importing file (paths under src/), else null. */
export function resolveSpec(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const parts = from.split('/').slice(0, -1);
  let up = 0; // levels above src/
  for (const p of spec.split('/')) {
    if (p === '..') {
      if (parts.length) parts.pop();
      else up++;
    } else if (p !== '.') parts.push(p);
  }
  const path = '../'.repeat(up) + parts.join('/');
  return /\.(ts|svelte|js|mjs|css|json)$/.test(path) ? path : `${path}.ts`;
}

/** Every import that breaks the rule, as a sentence naming the file and what it imports. */
export function violations(edges: ImportEdge[]): string[] {
  const bad: string[] = [];
  for (const e of edges) {
    const from = layerOf(e.from);
    if (e.to === null) {
      if (TFJS.test(e.spec) && !TFJS_ALLOWED.includes(from)) bad.push(`${e.from} imports ${e.spec}: only ${TFJS_ALLOWED.join(', ')} may import TF.js`);
      continue;
    }
    if (e.to.startsWith('../')) {
      // The kernels page runs the benchmarks (bench/) in the browser; nothing else reaches outside src/.
      if (!(from === 'kernels' && e.to.startsWith('../bench/'))) bad.push(`${e.from} imports ${e.spec}: outside src/`);
      continue;
    }
    const to = layerOf(e.to);
    if (!ALLOWED[from].includes(to)) bad.push(`${e.from} (${from}) imports ${e.to} (${to}): ${from} may import ${ALLOWED[from].join(', ')}`);
    else if (PAGE.includes(from) && to === 'worker' && e.to !== PROTOCOL)
      bad.push(`${e.from} (${from}) imports ${e.to}: the page reaches the worker only through ${PROTOCOL}`);
    else if (from === 'worker' && to === 'worker' && e.from !== WORKER_ENTRY && !WORKER_SHARED.includes(e.to) && e.from !== e.to)
      bad.push(`${e.from} imports ${e.to}: a worker feature imports no other feature (only ${WORKER_SHARED.join(', ')}); shared rules go in engine/`);
  }
  return bad;
}

/**
 * Object types a file declares at top level: `export interface X`, and `export type X = …` built
 * from an object or a generic (`{…}`, `Omit<…>`), not a union of names (`'train' | 'val'`).
 */
export function declaredTypes(source: string): string[] {
  const interfaces = [...source.matchAll(/^export\s+interface\s+([A-Za-z_$][\w$]*)/gm)].map((m) => m[1]);
  const aliases = [...source.matchAll(/^export\s+type\s+([A-Za-z_$][\w$]*)(?:<[^=]*>)?\s*=([^;]*);/gm)].filter((m) => /[{<]/.test(m[2])).map((m) => m[1]);
  return [...interfaces, ...aliases];
}

/**
 * Casts to a record type in one source: `as X`, `as unknown as X`, `as X[]`, `as Promise<X>`,
 * `as store.X['field']`…, where X is one of `records`. Comments and import/export lines are skipped.
 */
export function recordCasts(file: string, source: string, records: ReadonlySet<string>): string[] {
  const code = source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1')
    .replace(/^\s*(?:import|export)\b[^;]*?\bfrom\s*['"][^'"]+['"];?/gm, '');
  const bad: string[] = [];
  for (const m of code.matchAll(/\bas\s+((?:unknown\s+as\s+)?[\w$.<>[\]'"| &]+)/g)) {
    const names = m[1].match(/[A-Za-z_$][\w$]*/g) ?? [];
    const hit = names.find((n) => records.has(n));
    if (hit) bad.push(`${file}: casts to ${hit} (as ${m[1].trim()}): a record is built or checked, never cast`);
  }
  return bad;
}
