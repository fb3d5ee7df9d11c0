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
  }
  return bad;
}
