#!/usr/bin/env node
// `npm run bench`: builds the app, serves it, runs the CTC benchmark in headless Chromium on its
// WebGPU adapter (kernels.html), runs PyTorch's CPU ctc_loss on the same inputs where Debian's
// python3-torch is installed, and writes the results into BENCHMARKS.md (date and machine).
// It also imports a generated 6000-sample dataset (≈300 frames × 100 dims, float32 .npy files in
// the OS temp folder) through the streaming importer, sampling peak memory over CDP.
//   BENCH_DIST=dist (build folder)  BENCH_NO_BUILD=1 (serve BENCH_DIST as it is)  BENCH_STARTUP_RUNS=3
//   BENCH_STARTUP_BASELINE=<another build folder> (start-up: that build too, served on BENCH_PORT+1,
//   started in turn with this one; e.g. a build of an earlier commit) BENCH_STARTUP_BASELINE_LABEL=...
//   BENCH_REPS=5  BENCH_SHAPES='[{"name":"x","B":8,"T":75,"L":28,"V":1296,"fullLength":true}]'  CHROMIUM_PATH=...
// A CTC result that disagrees with the float64 reference (or PyTorch's with the fused one) fails
// the run (non-zero exit) before anything is written. `npm run bench:node` runs the CTC and
// training benchmarks without a browser, on Dawn (bench/node.mjs).
//   BENCH_ONLY=ctc,train,import,align,distill,startup,profile (default: all)  BENCH_IMPORT_SAMPLES=6000
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { chromium } from '@playwright/test';
import { createServer } from 'vite';

// TypeScript shared with the app and with bench:node (the .npy writer, the CTC report), through Vite.
const tsLoader = await createServer({ configFile: false, logLevel: 'error', appType: 'custom', server: { middlewareMode: true, hmr: false } });
const { writeNpy } = await tsLoader.ssrLoadModule('/src/data/npy.ts');
const ctcReport = await tsLoader.ssrLoadModule('/bench/ctc_report.node.ts');
const startup = await tsLoader.ssrLoadModule('/bench/startup.node.ts');
await tsLoader.close();

const port = Number(process.env.BENCH_PORT || 4183);
const reps = Number(process.env.BENCH_REPS || 5);
const shapes = process.env.BENCH_SHAPES ? JSON.parse(process.env.BENCH_SHAPES) : undefined;
const only = new Set((process.env.BENCH_ONLY || 'ctc,train,import,align,distill,startup,profile').split(','));

/** Writes the import benchmark's dataset: n samples, frames uniform in [150, 450], 100 dims, 40 words. */
function writeImportDataset(dir, n) {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(join(dir, 'feats'), { recursive: true });
  let s = 12345;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const rows = [];
  for (let i = 0; i < n; i++) {
    const T = 150 + Math.floor(rnd() * 301),
      F = 100;
    const data = new Float32Array(T * F);
    for (let k = 0; k < data.length; k++) data[k] = rnd() * 2 - 1;
    writeFileSync(join(dir, 'feats', `s${i}.npy`), writeNpy(data, [T, F]));
    const words = Array.from({ length: 3 + Math.floor(rnd() * 8) }, () => `W${Math.floor(rnd() * 40)}`);
    rows.push(JSON.stringify({ id: `s${i}`, text: words.join(' '), features: `feats/s${i}.npy` }));
  }
  writeFileSync(join(dir, 'manifest.jsonl'), rows.join('\n') + '\n');
}

const outDir = process.env.BENCH_DIST || 'dist'; // build folder (another one leaves dist/ to others)
if (!process.env.BENCH_NO_BUILD) execFileSync('npx', ['vite', 'build', '--outDir', outDir, '--emptyOutDir'], { stdio: 'inherit' });
const server = spawn('npx', ['vite', 'preview', '--outDir', outDir, '--port', String(port), '--strictPort'], { stdio: 'ignore', detached: true });
const baselineDir = only.has('startup') ? process.env.BENCH_STARTUP_BASELINE : undefined;
const baselineServer = baselineDir
  ? spawn('npx', ['vite', 'preview', '--outDir', baselineDir, '--port', String(port + 1), '--strictPort'], { stdio: 'ignore', detached: true })
  : null;
const url = `http://localhost:${port}/kernels.html`;
for (const u of [url, ...(baselineDir ? [`http://localhost:${port + 1}/`] : [])])
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(u)).ok) break;
    } catch {
      // not up yet: poll again
    }
    if (i > 100) throw new Error(`vite preview did not start (${u})`);
    await new Promise((r) => setTimeout(r, 200));
  }

let startupResult = null;
let results = [],
  problems = [],
  backend,
  trainResults = [],
  importResult = null,
  memory = null,
  alignResults = [],
  distillResults = [],
  profileResults = [];
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--enable-unsafe-webgpu', '--enable-features=Vulkan', '--no-sandbox', '--disable-background-networking', '--disable-component-update'],
});
try {
  const page = await browser.newPage();
  page.on('console', (m) => console.log(`[page] ${m.text()}`));
  await page.goto(url);
  backend = await page.evaluate(async () => await window.ctcLab.ready);
  console.log(`backend: ${JSON.stringify(backend)}`);
  if (only.has('ctc')) {
    results = await page.evaluate(([s, r]) => window.ctcLab.bench(s ?? undefined, { reps: r }), [shapes ?? null, reps]);
    problems = await page.evaluate((rs) => rs.map((r) => window.ctcLab.problem(r.shape)), results);
  }
  if (only.has('train')) trainResults = await page.evaluate(() => window.ctcLab.benchTrain());
  if (only.has('align')) alignResults = await page.evaluate(() => window.ctcLab.benchAlign());
  if (only.has('distill')) distillResults = await page.evaluate(() => window.ctcLab.benchDistill());
  if (only.has('profile')) profileResults = await page.evaluate(() => window.ctcLab.benchProfile());
  if (only.has('startup')) {
    const builds = [{ label: 'this build', baseURL: `http://localhost:${port}`, distDir: outDir }];
    if (baselineDir)
      builds.unshift({ label: process.env.BENCH_STARTUP_BASELINE_LABEL || baselineDir, baseURL: `http://localhost:${port + 1}`, distDir: baselineDir });
    startupResult = await startup.benchStartup(browser, builds, Number(process.env.BENCH_STARTUP_RUNS || 3));
  }
  if (only.has('import')) {
    const dir = join(os.tmpdir(), 'ctc-lab-import-bench');
    const n = Number(process.env.BENCH_IMPORT_SAMPLES || 6000);
    console.log(`writing ${n} samples to ${dir}`);
    writeImportDataset(dir, n);
    await page.getByLabel('Import benchmark folder').setInputFiles(dir);
    const cdp = await page.context().newCDPSession(page);
    const heap = async () => {
      const h = await cdp.send('Runtime.getHeapUsage');
      return { js: h.usedSize, buffers: h.backingStorageSize ?? 0 };
    };
    const files = () => Array.from(document.getElementById('bench-files').files);
    /** Runs a page phase, sampling memory every 50 ms; returns its result and the peak above the level after a GC. */
    const measured = async (fn, arg) => {
      await cdp.send('HeapProfiler.collectGarbage');
      const base = await heap();
      let peak = { ...base },
        peakSum = base.js + base.buffers,
        sampling = true;
      const sampler = (async () => {
        while (sampling) {
          const h = await heap();
          peak = { js: Math.max(peak.js, h.js), buffers: Math.max(peak.buffers, h.buffers) };
          peakSum = Math.max(peakSum, h.js + h.buffers);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const result = await page.evaluate(fn, arg);
      sampling = false;
      await sampler;
      return { result, mem: { overBaseMB: (peakSum - base.js - base.buffers) / 2 ** 20, peakJsMB: peak.js / 2 ** 20, peakBuffersMB: peak.buffers / 2 ** 20 } };
    };
    const plain = await page.evaluate(`window.ctcLab.benchImport.plainRead((${files})())`);
    const f32 = await measured((src) => window.ctcLab.benchImport.importOnce(eval(src)(), 'float32', 'float32'), `(${files})`);
    const loader = await page.evaluate((id) => window.ctcLab.benchImport.loaderStats(id), f32.result.id);
    await page.evaluate((id) => window.ctcLab.benchImport.deleteDataset(id), f32.result.id);
    const f16 = await measured((src) => window.ctcLab.benchImport.importOnce(eval(src)(), 'float16', 'float16'), `(${files})`);
    await page.evaluate((id) => window.ctcLab.benchImport.deleteDataset(id), f16.result.id);
    const f16late = await measured((src) => window.ctcLab.benchImport.importOnce(eval(src)(), 'float32', 'float16'), `(${files})`);
    await page.evaluate((id) => window.ctcLab.benchImport.deleteDataset(id), f16late.result.id);
    importResult = { plain, f32: f32.result, f16: f16.result, f16late: f16late.result, loader };
    memory = { f32: f32.mem, f16: f16.mem, f16late: f16late.mem };
    console.log(JSON.stringify({ importResult, memory }));
    rmSync(dir, { recursive: true, force: true });
  }
} finally {
  await browser.close();
  for (const p of [server, baselineServer])
    try {
      if (p) process.kill(-p.pid);
    } catch {
      /* already gone */
    }
}

// PyTorch CPU on the same inputs (written as .npy), if available; it checks its loss against the fused one.
mkdirSync('bench/out', { recursive: true });
const torch = results.length ? ctcReport.runTorch(results, problems.map(ctcReport.problemFromBase64), 'bench/out/ctc') : null;
if (results.length && !torch) console.log('PyTorch not importable: skipping the PyTorch CPU comparison (apt-get install python3-torch)');
writeFileSync('bench/out/ctc.json', JSON.stringify({ backend, results, torch }, null, 2));

// Machine description.
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const chromiumVersion = (() => {
  try {
    return execFileSync(process.env.CHROMIUM_PATH || '/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'Chromium';
  }
})();
const adapter = backend.adapter
  ? `${backend.adapter.vendor} / ${backend.adapter.architecture} / ${backend.adapter.device || '(no device id)'}${backend.adapter.description ? ` (${backend.adapter.description})` : ''}`
  : backend.name;
const f = (x, d = 1) => (x >= 100 ? x.toFixed(0) : x.toFixed(d));
// Every section names its machine, browser and adapter, and the command that reproduces it.
const machine = `Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ${chromiumVersion}; WebGPU adapter: ${adapter}.`;
const reproduce = (name) => `Reproduce: \`BENCH_ONLY=${name} npm run bench\`.`;
const section = ctcReport.ctcMarkdown({
  title: 'CTC loss, forward + backward',
  machine: `${machine} ${reproduce('ctc')}`,
  reps,
  results,
  torch,
});

const trainLines = [
  `### Training throughput per model preset — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${machine} ${reproduce('train')} Synthetic data; batch assembly is the CPU time of one \`makeBatch\`; FLOPs count convolutions, matmuls and LSTM recurrences (\`forwardFlops\` of each model; × 3 for forward + backward). Loader: the trainer assembles the next step's batches on the CPU while the GPU runs the current one (prefetch); the last column sets that CPU time against the step time. ms / step: median of the steps after 3 warm-up steps (min–max). Dispatches: WebGPU compute dispatches per optimizer step (\`runWebGPUProgram\` calls).`,
  '',
  '| preset | shape | params | ms / step (min–max) | dispatches / step | input frames / s | model GFLOP / step | device matmul GFLOP/s (1024²) | MFU | read-backs / step | tensor growth (step 3 → last) | batch assembly / step time |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...trainResults.map((r) => {
    const s = r.shape;
    const shape = `${s.name} B${s.B} T${s.T} F${s.F} V${s.V} C${s.channels} L${s.layers}${s.hidden ? ` H${s.hidden}` : ''}${s.heads ? ` heads${s.heads}` : ''}`;
    return `| ${s.preset} | ${shape} | ${r.params} | ${f(r.msPerStep)} (${f(r.msSpread[0])}–${f(r.msSpread[1])}) | ${f(r.dispatchesPerStep)} | ${f(r.framesPerSecond)} | ${r.modelGflopPerStep.toFixed(2)} | ${r.matmulGflops.toFixed(2)} | ${(100 * r.mfu).toFixed(0)}% | ${r.readbacksPerStep.toFixed(2)} | ${r.tensorGrowth} | ${r.batchAssemblyMs.toFixed(1)} ms / ${f(r.msPerStep)} ms |`;
  }),
  ...(trainResults.some((r) => r.composed)
    ? [
        '',
        // Each preset's fused programs: the BiLSTM recurrence (lstm_program.ts); layer norm, masked softmax, residual + dropout, im2col (fused_program.ts).
        "Fused WGSL programs (tconv-bilstm: the BiLSTM recurrence, one dispatch per time step per layer; tcn and transformer: layer norm, the masked softmax, residual + dropout + mask, the taps as im2col) against composed TF.js ops (`kernels: 'composed'`), same data, seeds and dropout masks, side by side in this run; step losses checked to agree first:",
        '',
        '| preset | dispatches / step: composed → fused | ratio | ms / step: composed → fused (min–max) | speed-up | step losses, max rel. difference |',
        '|---|---|---|---|---|---|',
        ...trainResults
          .filter((r) => r.composed)
          .map((r) => {
            const c = r.composed;
            return `| ${r.shape.preset} | ${f(c.dispatchesPerStep)} → ${f(r.dispatchesPerStep)} | ${(c.dispatchesPerStep / r.dispatchesPerStep).toFixed(1)}× | ${f(c.msPerStep)} (${f(c.msSpread[0])}–${f(c.msSpread[1])}) → ${f(r.msPerStep)} (${f(r.msSpread[0])}–${f(r.msSpread[1])}) | ${(c.msPerStep / r.msPerStep).toFixed(2)}× | ${c.lossMaxRelDiff.toExponential(1)} |`;
          }),
      ]
    : []),
];

const ir = importResult;
const importLines = ir
  ? [
      `### Dataset import and loader — ${new Date().toISOString().slice(0, 10)}`,
      '',
      `${machine} ${reproduce('import')} ${ir.plain.files - 1} generated samples (frames uniform in 150–450, 100 float32 dims) as one .npy each plus manifest.jsonl, ${f(ir.plain.megabytes)} MiB, picked as a folder. The importer runs on the main thread of kernels.html with the worker's code: read-ahead of the next file, parse, validate (NaN/Inf, dims), Welford/Chan statistics, staged IndexedDB writes in 8 MB transactions with one write in flight, then the commit. Memory: the page's V8 heap plus ArrayBuffer backing stores (CDP Runtime.getHeapUsage every 50 ms), peak above the level after a forced GC before the phase; it includes garbage not yet collected.`,
      '',
      '| measure | value |',
      '|---|---|',
      `| plain file read (File.arrayBuffer, same files) | ${f(ir.plain.MBs)} MiB/s |`,
      `| import, float32 (read → staged in IndexedDB) | ${f(ir.f32.MBs)} MiB/s (${((100 * ir.f32.MBs) / ir.plain.MBs).toFixed(0)}% of plain read); commit ${(ir.f32.commitSeconds * 1000).toFixed(0)} ms; ${f(ir.f32.storedMB)} MiB stored |`,
      `| import + commit, float16 chosen before the import (encoded while staging) | ${f(ir.f16.totalMBs)} MiB/s; ${f(ir.f16.storedMB)} MiB stored |`,
      `| import + commit, float16 chosen on the report (staged as float32, rewritten at commit) | ${f(ir.f16late.totalMBs)} MiB/s (commit ${ir.f16late.commitSeconds.toFixed(1)} s); ${f(ir.f16late.storedMB)} MiB stored |`,
      `| peak memory above baseline, float32 import | ${f(memory.f32.overBaseMB)} MiB (V8 heap peak ${f(memory.f32.peakJsMB)} MiB, buffers peak ${f(memory.f32.peakBuffersMB)} MiB) |`,
      `| peak memory above baseline, float16 import | ${f(memory.f16.overBaseMB)} MiB (V8 heap peak ${f(memory.f16.peakJsMB)} MiB, buffers peak ${f(memory.f16.peakBuffersMB)} MiB) |`,
      `| peak memory above baseline, float16 chosen on the report (commit rewrite) | ${f(memory.f16late.overBaseMB)} MiB |`,
      `| padding efficiency, batch ${ir.loader.batchSize}: length-bucketed / random batches | ${(100 * ir.loader.bucketed).toFixed(1)}% / ${(100 * ir.loader.unbucketed).toFixed(1)}% |`,
      `| batch assembly (makeBatch, ${ir.loader.batchSize} × ~300 × 100, CPU) | ${ir.loader.batchAssemblyMs.toFixed(2)} ms |`,
    ]
  : [];

const alignLines = [
  `### Forced alignment (CPU) — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${machine} ${reproduce('align')} On the page's main thread (V8, no GPU). One sample; \`forcedAlign\` (Viterbi over the CTC topology, float64, with its NaN scan of the [T, C] input) against the CTC forward pass on the same log-probabilities: the float64 reference's (log-softmax + alpha recursion, no gradient) and \`ctcLogLikelihood\` (the alpha recursion alone, what the outputs diagnostics use). Median of 7 runs after a warm-up (the page's timer has 0.1 ms steps); each result checked first (the path collapses to the labels, its score ≤ the log-likelihood, \`ctcLogLikelihood\` = the reference).`,
  '',
  '| shape | forcedAlign | token spans | CTC forward (reference) | ctcLogLikelihood | align / ctcLogLikelihood | best path vs log-likelihood |',
  '|---|---|---|---|---|---|---|',
  ...alignResults.map(
    (r) =>
      `| ${r.shape.name} T${r.shape.T} L${r.shape.L} C${r.shape.C} | ${f(r.alignMs, 2)} ms | ${r.spansMs < 0.1 ? '< 0.1' : f(r.spansMs, 2)} ms | ${f(r.forwardMs, 2)} ms | ${f(r.logLikMs, 2)} ms | ${(r.alignMs / r.logLikMs).toFixed(2)} | ${r.score.toFixed(1)} ≤ ${r.logLikelihood.toFixed(1)} |`,
  ),
];

const knobs = (k) =>
  `${k.preset}${k.subsampling ? ` ×${k.subsampling}` : ''} C${k.channels} L${k.layers}${k.hidden ? ` H${k.hidden}` : ''}${k.heads ? ` heads${k.heads}` : ''}`;
const distillLines = [
  `### Distillation step vs plain step — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${machine} ${reproduce('distill')} Synthetic data, one optimizer step per batch; median ms per step (3 steps after 2 warm-up steps, in each of 2 interleaved rounds of the three runs); the same student trained on CTC alone, with a teacher model run in eval mode in every step (a checkpoint as teacher), and with the teacher's log-probs handed in per batch (an imported output set; here from memory, so IndexedDB reads are not counted). Loss ctcWeight·CTC + kdWeight·τ²·KL, τ 8, blank excluded. Checked first: the KD op against the float64 reference at this shape, and a student that is a copy of its teacher gets a KL of exactly 0.`,
  '',
  '| shape | student (params) | teacher (params) | plain step | + teacher model | + stored teacher outputs | teacher forward alone | added by the teacher model | KD op vs float64 |',
  '|---|---|---|---|---|---|---|---|---|',
  ...distillResults.map(
    (r) =>
      `| ${r.shape.name} B${r.shape.B} T${r.shape.T} F${r.shape.F} V${r.shape.V} | ${knobs(r.shape.student)} (${r.studentParams}) | ${knobs(r.shape.teacher)} (${r.teacherParams}) | ${f(r.plainMs)} ms | ${f(r.modelTeacherMs)} ms (${(r.modelTeacherMs / r.plainMs).toFixed(2)}×) | ${f(r.storedTeacherMs)} ms (${(r.storedTeacherMs / r.plainMs).toFixed(2)}×) | ${f(r.teacherForwardMs)} ms | ${f(r.modelTeacherMs - r.plainMs)} ms | ${r.kdOpRelErr.toExponential(1)} |`,
  ),
];

const ms1 = (x) => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
const profileLines = [
  `### Speed report: profiled stages against the real step — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `${machine} ${reproduce('profile')} Synthetic data, batch 8, no accumulation. Each preset trains ${profileResults[0]?.shape.steps ?? 8} steps with no syncs, as a run does; after step 3 the worker's probe (\`measureRunSpeed\`, engine/train/profile.ts) profiles one step beside training (timers around awaited stages, the queue drained between them; GPU time per stage from timestamp queries where the adapter offers them); real step: median of the steps after the probe (min–max), from the end of one step's hooks to the next step's end. Check: the stages' sum within 10% of the real step. Checked first: every loss finite, the probe leaves the tensor count as it was.`,
  '',
  '| preset | shape | real ms / step (min–max) | data | upload | forward | CTC | backward | optimiser | read-back | stage sum | sum / real | within 10% | method | GPU ms (fwd / CTC / bwd / opt / read) | dispatches / step: probe / real | MFU | first advice |',
  '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
  ...profileResults.map((x) => {
    const s = x.shape,
      r = x.report,
      w = Object.fromEntries(r.stages.map((t) => [t.stage, t]));
    const shape = `${s.name} B${s.B} T${s.T} F${s.F} V${s.V} C${s.channels} L${s.layers}${s.hidden ? ` H${s.hidden}` : ''}${s.heads ? ` heads${s.heads}` : ''}`;
    const gpu = r.method === 'timestamp-query' ? ['forward', 'ctc', 'backward', 'optimizer', 'readback'].map((k) => ms1(w[k].gpuMs)).join(' / ') : '–';
    const a = r.advice[0];
    return `| ${s.preset} | ${shape} | ${ms1(x.stepMs)} (${ms1(x.stepSpread[0])}–${ms1(x.stepSpread[1])}) | ${['data', 'upload', 'forward', 'ctc', 'backward', 'optimizer', 'readback'].map((k) => ms1(w[k].ms)).join(' | ')} | ${ms1(r.profiledMs)} | ${x.sumOverStep.toFixed(3)} | ${x.within10 ? 'yes' : '**no**'} | ${r.method} | ${gpu} | ${r.dispatches ?? '–'} / ${x.stepDispatches ?? '–'} | ${(100 * r.mfu).toFixed(0)}% | ${a ? `${a.title} (${a.speedup.toFixed(2)}×)` : 'none'} |`;
  }),
];

const file = 'BENCHMARKS.md';
let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\nWritten by `npm run bench`; each section is replaced by its latest run.\n\n';
const put = (name, body) => {
  const begin = `<!-- ${name}:begin -->`,
    end = `<!-- ${name}:end -->`;
  if (doc.includes(begin)) doc = doc.slice(0, doc.indexOf(begin)) + `${begin}\n${body}\n${end}` + doc.slice(doc.indexOf(end) + end.length);
  else doc += `\n${begin}\n${body}\n${end}\n`;
};
if (results.length) put('ctc', section);
if (trainResults.length) put('train', trainLines.join('\n'));
if (importResult) put('import', importLines.join('\n'));
if (alignResults.length) put('align', alignLines.join('\n'));
if (distillResults.length) put('distill', distillLines.join('\n'));
if (profileResults.length) put('profile', profileLines.join('\n'));
if (startupResult) put('startup', startup.startupMarkdown(startupResult, `${machine} ${reproduce('startup')}`));
writeFileSync(file, doc);
console.log(section);
if (trainResults.length) console.log(trainLines.join('\n'));
if (importResult) console.log(importLines.join('\n'));
if (alignResults.length) console.log(alignLines.join('\n'));
if (distillResults.length) console.log(distillLines.join('\n'));
if (profileResults.length) console.log(profileLines.join('\n'));
if (startupResult) console.log(startup.startupMarkdown(startupResult, `${machine} ${reproduce('startup')}`));
