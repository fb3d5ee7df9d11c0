// bench:node (launched by bench/node.mjs): the CTC and training benchmarks of kernels.html, run in
// Node on Dawn (the `webgpu` package) through tfjs-backend-webgpu, with the engine's own kernels.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { create, globals } from 'webgpu';
import type { BackendInfo } from '../src/engine/backend';
import type { BenchShape, CtcBenchResult } from './ctc.bench';
import type { TrainBenchResult } from './train.bench';
import { ctcMarkdown, runTorch } from './ctc_report.node';

/** Installs Dawn as navigator.gpu (Node 21+ has a navigator of its own; Node 20 none). */
function installWebGpu(): void {
  Object.assign(globalThis, globals);
  const gpu = create([]);
  const g = globalThis as { navigator?: object };
  if (g.navigator) Object.defineProperty(g.navigator, 'gpu', { value: gpu, configurable: true });
  else g.navigator = { gpu };
}

const webgpuVersion = (): string => {
  try {
    return JSON.parse(readFileSync('node_modules/webgpu/package.json', 'utf8')).version;
  } catch {
    return '?';
  }
};

/** The adapter in words, and a slug naming its BENCHMARKS.md section. */
function describe(b: BackendInfo): { text: string; slug: string } {
  const a = b.adapter!;
  const text = `${a.vendor || '(no vendor)'} / ${a.architecture || '(no architecture)'} / ${a.device || '(no device id)'}${a.description ? ` (${a.description})` : ''}`;
  const slug =
    [a.vendor, a.architecture, a.device]
      .filter(Boolean)
      .join('-')
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '_') || 'unknown';
  return { text, slug };
}

type TrainRow = TrainBenchResult & { msSpread?: [number, number]; dispatchesPerStep?: number; composed?: { msPerStep: number; dispatchesPerStep: number } };

function trainMarkdown(results: TrainBenchResult[]): string {
  const f = (x: number) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  return [
    '| preset | shape | params | ms / step (min–max) | dispatches / step | input frames / s | MFU vs device matmul rate | read-backs / step | tensor growth |',
    '|---|---|---|---|---|---|---|---|---|',
    ...(results as TrainRow[]).map((r) => {
      const s = r.shape;
      const spread = r.msSpread ? ` (${f(r.msSpread[0])}–${f(r.msSpread[1])})` : '';
      return `| ${s.preset} | ${s.name} B${s.B} T${s.T} F${s.F} V${s.V} | ${r.params} | ${f(r.msPerStep)}${spread} | ${r.dispatchesPerStep ?? 'n/a'} | ${f(r.framesPerSecond)} | ${(100 * r.mfu).toFixed(0)}% (${r.matmulGflops.toFixed(1)} GFLOP/s) | ${r.readbacksPerStep.toFixed(2)} | ${r.tensorGrowth} |`;
    }),
  ].join('\n');
}

export async function main(): Promise<void> {
  const only = new Set((process.env.BENCH_ONLY || 'ctc,train').split(','));
  const reps = Number(process.env.BENCH_REPS || 5);

  // tfjs-backend-webgpu registers itself on import only where navigator.gpu exists: install Dawn first.
  installWebGpu();
  await import('@tensorflow/tfjs'); // Node: registers the ops' gradients and chained methods (engine/tfjs_register.ts)
  const { initBackend } = await import('../src/engine/backend');
  const { benchCtc, benchProblem, DEFAULT_BENCH_SHAPES } = await import('./ctc.bench');
  const { benchTrain, DEFAULT_TRAIN_SHAPES } = await import('./train.bench');
  const backend = await initBackend(['webgpu']).catch((e: Error) => {
    throw new Error(
      `bench:node: no WebGPU adapter from Dawn (${e.message}). On Linux without a GPU, install a Vulkan driver or point VK_ICD_FILENAMES at SwiftShader's ICD.`,
    );
  });
  const adapter = describe(backend);
  const machine = `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.version}, Dawn (npm webgpu ${webgpuVersion()}); WebGPU adapter: ${adapter.text}.`;
  console.log(`bench:node — adapter: ${adapter.text}`);

  const shapes: BenchShape[] = process.env.BENCH_SHAPES ? JSON.parse(process.env.BENCH_SHAPES) : DEFAULT_BENCH_SHAPES;
  const ctc: CtcBenchResult[] = [];
  if (only.has('ctc')) {
    for (const s of shapes) {
      const r = await benchCtc(s, { reps });
      ctc.push(r);
      console.log(
        `[ctc] ${adapter.slug} ${s.name} ${s.fullLength ? 'full' : 'random'}: ${r.fused.ms.toFixed(1)} ms (${r.fused.min.toFixed(1)}–${r.fused.max.toFixed(1)}); checked: loss ${r.check.lossRelErr.toExponential(1)}, grad ${r.check.gradRelErr.toExponential(1)}`,
      );
    }
  }
  const torch = ctc.length
    ? runTorch(
        ctc,
        ctc.map((r) => benchProblem(r.shape)),
        'bench/out/ctc-node',
      )
    : null;
  if (ctc.length && !torch) console.log('PyTorch not importable: no PyTorch comparison');

  const train: TrainBenchResult[] = [];
  if (only.has('train')) {
    for (const s of DEFAULT_TRAIN_SHAPES) {
      const r = await benchTrain(s);
      train.push(r);
      console.log(`[train] ${adapter.slug} ${s.preset}: ${r.msPerStep.toFixed(0)} ms / step`);
    }
  }

  const date = new Date().toISOString().slice(0, 10);
  const sections = [`### Node on Dawn — ${adapter.text} — ${date}`, '', `${machine} Reproduce: \`npm run bench:node\` (BENCH_ONLY=ctc,train).`, ''];
  if (ctc.length) sections.push(ctcMarkdown({ title: 'CTC loss, forward + backward (bench:node)', machine: '', reps, results: ctc, torch }), '');
  if (train.length)
    sections.push(
      `#### Training throughput per model preset (bench:node) — ${date}`,
      '',
      'Synthetic data as in `npm run bench`; ms / step over the steps after 3 warm-up steps.',
      '',
      trainMarkdown(train),
    );
  const body = sections.join('\n').replace(/\n{3,}/g, '\n\n');
  console.log(body);

  mkdirSync('bench/out', { recursive: true });
  writeFileSync(`bench/out/node-${adapter.slug}.json`, JSON.stringify({ adapter: backend.adapter, machine, ctc, torch, train }, null, 2));
  if (process.env.BENCH_NO_WRITE) return;
  const file = 'BENCHMARKS.md';
  let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n';
  const begin = `<!-- node:${adapter.slug}:begin -->`,
    end = `<!-- node:${adapter.slug}:end -->`;
  if (doc.includes(begin)) doc = doc.slice(0, doc.indexOf(begin)) + `${begin}\n${body}\n${end}` + doc.slice(doc.indexOf(end) + end.length);
  else doc += `\n${begin}\n${body}\n${end}\n`;
  writeFileSync(file, doc);
}
