#!/usr/bin/env node
// `npm run bench`: builds the app, serves it, runs the CTC benchmark in headless Chromium on its
// WebGPU adapter (kernels.html), runs PyTorch's CPU ctc_loss on the same inputs where Debian's
// python3-torch is installed, and writes the results into BENCHMARKS.md (date and machine).
//   BENCH_REPS=5  BENCH_SHAPES='[{"name":"x","B":8,"T":75,"L":28,"V":1296}]'  CHROMIUM_PATH=...
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import { chromium } from '@playwright/test';

const port = Number(process.env.BENCH_PORT || 4183);
const reps = Number(process.env.BENCH_REPS || 5);
const shapes = process.env.BENCH_SHAPES ? JSON.parse(process.env.BENCH_SHAPES) : undefined;

execFileSync('npx', ['vite', 'build'], { stdio: 'inherit' });
const server = spawn('npx', ['vite', 'preview', '--port', String(port), '--strictPort'], { stdio: 'ignore', detached: true });
const url = `http://localhost:${port}/kernels.html`;
for (let i = 0; ; i++) {
  try {
    if ((await fetch(url)).ok) break;
  } catch {}
  if (i > 100) throw new Error('vite preview did not start');
  await new Promise((r) => setTimeout(r, 200));
}

let results, problems, backend, trainResults;
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
  results = await page.evaluate(([s, r]) => window.ctcLab.bench(s ?? undefined, r), [shapes ?? null, reps]);
  problems = await page.evaluate((rs) => rs.map((r) => ({ ...window.ctcLab.problem(r.shape), fusedLoss: r.loss })), results);
  trainResults = process.env.BENCH_SKIP_TRAIN ? [] : await page.evaluate(() => window.ctcLab.benchTrain());
} finally {
  await browser.close();
  try { process.kill(-server.pid); } catch {}
}

// PyTorch CPU on the same inputs, if available.
mkdirSync('bench/out', { recursive: true });
writeFileSync('bench/out/ctc_problems.json', JSON.stringify(problems));
let torch = [];
const py = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const probe = spawnSync(py, ['-c', 'import torch']);
if (probe.status === 0) {
  const r = spawnSync(py, ['bench/ctc_torch.py', 'bench/out/ctc_problems.json'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/ctc_torch.py failed: ${r.stderr}`);
  torch = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
} else {
  console.log('PyTorch not importable: skipping the PyTorch CPU comparison (apt-get install python3-torch)');
}
writeFileSync('bench/out/ctc.json', JSON.stringify({ backend, results, torch }, null, 2));

// Machine description.
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const chromiumVersion = (() => {
  try { return execFileSync(process.env.CHROMIUM_PATH || '/usr/bin/chromium', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim(); } catch { return 'Chromium'; }
})();
const adapter = backend.adapter ? `${backend.adapter.vendor} / ${backend.adapter.architecture}${backend.adapter.description ? ` (${backend.adapter.description})` : ''}` : backend.name;
const f = (x, d = 1) => (x >= 100 ? x.toFixed(0) : x.toFixed(d));
const lines = [
  `### CTC loss, forward + backward — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB; ${chromiumVersion}; WebGPU adapter: ${adapter}.`,
  `Median of ${reps} runs (composed: of fewer), each one \`valueAndGrads\` of the summed loss and a read-back of one scalar of the gradient.`,
  '',
  '| shape | fused kernel | composed TF.js ops (loop over T) | speed-up | dispatches: fused (CTC programs) / composed | fused vs composed loss | PyTorch CPU ctc_loss | fused / PyTorch time |',
  '|---|---|---|---|---|---|---|---|',
];
for (const r of results) {
  const t = torch.find((x) => x.name === r.shape.name);
  const s = r.shape;
  lines.push(
    `| ${s.name} B${s.B} T${s.T} L${s.L} V${s.V} | ${f(r.fused.ms)} ms | ${f(r.composed.ms)} ms | ${r.speedup.toFixed(1)}× | ${r.fused.dispatches} (${r.fused.ctcDispatches}) / ${r.composed.dispatches} | ${r.agreeRelErr.toExponential(1)} | ` +
      (t ? `${f(t.ms, 2)} ms (torch ${t.torch}, ${t.threads} threads; loss rel. diff ${t.relErrVsFused.toExponential(1)}) | ${(r.fused.ms / t.ms).toFixed(1)}× |` : 'not installed | – |'),
  );
}
lines.push('', 'GPU time per fused program (WebGPU timestamp queries), ms:', '', '| shape | log-softmax | alpha/beta | nll | gradient |', '|---|---|---|---|---|');
for (const r of results) {
  const p = r.programMs;
  lines.push(p ? `| ${r.shape.name} | ${f(p.logSoftmax, 2)} | ${f(p.alphaBeta, 2)} | ${f(p.nll, 2)} | ${f(p.grad, 2)} |` : `| ${r.shape.name} | n/a | | | |`);
}
const section = lines.join('\n');

const trainLines = [
  `### Training throughput, tcn preset — ${new Date().toISOString().slice(0, 10)}`,
  '',
  `Machine: as above. Synthetic data; batch assembly is the CPU time of one \`makeBatch\`; FLOPs count convolutions and matmuls (forward × 3 for forward + backward).`,
  '',
  '| shape | params | ms / step | input frames / s | model GFLOP / step | device matmul GFLOP/s (1024²) | MFU | read-backs / step | tensor growth (step 3 → last) | batch assembly / step time |',
  '|---|---|---|---|---|---|---|---|---|---|',
  ...trainResults.map((r) => {
    const s = r.shape;
    return `| ${s.name} B${s.B} T${s.T} F${s.F} V${s.V} C${s.channels} | ${r.params} | ${f(r.msPerStep)} | ${f(r.framesPerSecond)} | ${r.modelGflopPerStep.toFixed(2)} | ${r.matmulGflops.toFixed(2)} | ${(100 * r.mfu).toFixed(0)}% | ${r.readbacksPerStep.toFixed(2)} | ${r.tensorGrowth} | ${r.batchAssemblyMs.toFixed(1)} ms / ${f(r.msPerStep)} ms |`;
  }),
];

const file = 'BENCHMARKS.md';
let doc = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmarks\n\nWritten by `npm run bench`; each section is replaced by its latest run.\n\n';
const put = (name, body) => {
  const begin = `<!-- ${name}:begin -->`, end = `<!-- ${name}:end -->`;
  if (doc.includes(begin)) doc = doc.slice(0, doc.indexOf(begin)) + `${begin}\n${body}\n${end}` + doc.slice(doc.indexOf(end) + end.length);
  else doc += `\n${begin}\n${body}\n${end}\n`;
};
put('ctc', section);
if (trainResults.length) put('train', trainLines.join('\n'));
writeFileSync(file, doc);
console.log(section);
if (trainResults.length) console.log(trainLines.join('\n'));
