#!/usr/bin/env node
// `node bench/lm_pool.mjs`: the page's decode pool (src/worker/lm_pool.ts with its workers,
// src/worker/lm_decode.worker.ts) timed with 1 and 2 workers side by side in one run, against the
// same searches on one thread (engine/diagnose/lm_decoding.ts inlineDecoder), on bench/lm_decode's
// PHOENIX-like set (T' = 75, 1296 classes, a 3-gram over 1,200 glosses, beam 10, α 0.8, β 1). Node has
// no Web Worker: a stand-in runs the bundled decode worker module in a worker_threads thread with
// `self` mapped to its port (structured clone and transfer as in a browser). Checked before timing:
// each pool's hypotheses equal the one thread's.   BENCH_LM_UTTS=400  BENCH_REPS=5
import { mkdtempSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir, cpus, loadavg } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker as NodeWorker, isMainThread, parentPort, workerData } from 'node:worker_threads';

if (!isMainThread) {
  globalThis.self = {
    postMessage: (d, transfer) => parentPort.postMessage(d, transfer),
    set onmessage(f) {
      parentPort.on('message', (data) => f({ data }));
    },
  };
  await import(workerData.bundle);
} else {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const N = Number(process.env.BENCH_LM_UTTS || 400);
  const reps = Number(process.env.BENCH_REPS || 5);
  const dir = mkdtempSync(join(tmpdir(), 'lm-pool-bench-'));
  const entry = join(dir, 'entry.ts');
  writeFileSync(
    entry,
    [
      `export { makeBenchSet, SHAPE } from '${join(root, 'bench/lm_decode.node.ts')}';`,
      `export { decodePool } from '${join(root, 'src/worker/lm_pool.ts')}';`,
      `export { inlineDecoder } from '${join(root, 'src/engine/diagnose/lm_decoding.ts')}';`,
    ].join('\n'),
  );
  const { build } = await import('rolldown');
  await build({ input: entry, output: { file: join(dir, 'lib.mjs'), format: 'esm' }, logLevel: 'silent' });
  await build({ input: join(root, 'src/worker/lm_decode.worker.ts'), output: { file: join(dir, 'worker.mjs'), format: 'esm' }, logLevel: 'silent' });
  const workerBundle = pathToFileURL(join(dir, 'worker.mjs')).href;
  const self = fileURLToPath(import.meta.url);

  // The stand-in Web Worker: what lm_pool.ts uses of one (postMessage with transfer, message and error listeners, terminate).
  globalThis.Worker = class {
    constructor() {
      this.w = new NodeWorker(self, { workerData: { bundle: workerBundle } });
      this.map = new Map();
    }
    postMessage(d, transfer) {
      this.w.postMessage(d, transfer);
    }
    addEventListener(type, l) {
      const h = type === 'message' ? (data) => l({ data }) : (e) => l({ message: e.message });
      this.map.set(l, [type, h]);
      this.w.on(type, h);
    }
    removeEventListener(_type, l) {
      const [type, h] = this.map.get(l) ?? [];
      if (h) this.w.off(type, h);
      this.map.delete(l);
    }
    terminate() {
      void this.w.terminate();
    }
  };

  const lib = await import(pathToFileURL(join(dir, 'lib.mjs')).href);
  const set = lib.makeBenchSet(N);
  const setup = { lm: set.lm, classes: set.classes, blank: 0, beamWidth: lib.SHAPE.beamWidth, prune: Math.log(1e-4) };
  const samples = set.utts.map((u) => ({ logProbs: u.logProbs, frames: lib.SHAPE.T }));
  const [alpha, beta] = [0.8, 1];
  const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const timed = async (d) => {
    const ms = [];
    for (let r = 0; r < reps; r++) {
      const s = performance.now();
      await d.decode(alpha, beta, true);
      ms.push(performance.now() - s);
    }
    return median(ms);
  };

  const one = lib.inlineDecoder(setup, samples);
  const reference = JSON.stringify(await one.decode(alpha, beta, true));
  const rows = [['one thread (inlineDecoder)', await timed(one)]];
  for (const size of [1, 2]) {
    const s = performance.now();
    const pool = await lib.decodePool(size)(setup, samples);
    const first = await pool.decode(alpha, beta, true);
    const startMs = performance.now() - s;
    if (JSON.stringify(first) !== reference) throw new Error(`the pool of ${size} gives other hypotheses than one thread`);
    rows.push([`pool, ${size} worker${size > 1 ? 's' : ''} (start + first decode ${startMs.toFixed(0)} ms)`, await timed(pool)]);
    pool.close();
  }
  console.log(
    `${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${cpus().length} × ${cpus()[0].model}, load average ${loadavg()
      .map((x) => x.toFixed(1))
      .join(' / ')} at the end; ${N} utterances, ${reps} reps (medians); every pool's hypotheses equal one thread's.`,
  );
  console.log('| decoder | utterances / s | ms / decoding of the set |\n| --- | ---: | ---: |');
  for (const [name, ms] of rows) console.log(`| ${name} | ${((N * 1000) / ms).toFixed(0)} | ${ms.toFixed(0)} |`);
}
