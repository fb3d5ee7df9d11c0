#!/usr/bin/env node
// The augmentation cost benchmark (bench/augment.bench.ts) in Node on the TF.js cpu backend, the
// no-GPU machine's view: the same training run with augmentation off and on, step times side by
// side, after the augmented batch was checked against the float64 reference. Prints JSON and a
// Markdown table row for BENCHMARKS.md (not written by itself).
//   BENCH_AUGMENT_SHAPE='{"name":"digits-like","preset":"tcn","B":8,"T":150,"F":40,"V":11,"L":4,"steps":10,"channels":64,"layers":3,"hidden":0,"heads":0}'
import { createServer } from 'vite';

const loader = await createServer({ configFile: false, logLevel: 'error', appType: 'custom', server: { middlewareMode: true, hmr: false } });
let status = 0;
try {
  const { benchAugment, useCpuBackend } = await loader.ssrLoadModule('/bench/augment.bench.ts');
  await useCpuBackend();
  const shape = process.env.BENCH_AUGMENT_SHAPE
    ? JSON.parse(process.env.BENCH_AUGMENT_SHAPE)
    : { name: 'digits-like', preset: 'tcn', B: 8, T: 150, F: 40, V: 11, L: 4, steps: 10, channels: 64, layers: 3, hidden: 0, heads: 0 };
  // Stretch + feature warp + masks (the recipe), with noise and frame dropping too: every op on.
  const augment = {
    stretchMin: 0.8,
    stretchMax: 1.2,
    timeMasks: 2,
    timeMaskWidth: 0.05,
    featureMasks: 2,
    featureMaskWidth: 0.15,
    featureWarp: 0.1,
    noise: 0.05,
    frameDrop: 0.1,
  };
  const r = await benchAugment(shape, augment);
  console.log(JSON.stringify(r, null, 1));
  const f = (x) => x.toFixed(1);
  console.log(
    `| ${shape.name} ${shape.preset} B${shape.B} T${shape.T} F${shape.F} c${shape.channels} | ${r.backend} | ${f(r.off.cpuMsPerStep)} | ${f(r.on.cpuMsPerStep)} | ` +
      `${f(((r.on.cpuMsPerStep - r.off.cpuMsPerStep) / r.off.cpuMsPerStep) * 100)}% | ${f(r.off.msPerStep)} (${r.off.msSpread.map(f).join('–')}) | ` +
      `${f(r.on.msPerStep)} (${r.on.msSpread.map(f).join('–')}) | ${r.planMs.toFixed(2)} | ` +
      `${r.off.readbacksPerStep} / ${r.on.readbacksPerStep} | ${r.on.tensorGrowth} | ${r.checkMaxAbsDiff.toExponential(1)} |`,
  );
} catch (e) {
  console.error(e instanceof Error ? (e.stack ?? e.message) : e);
  status = 1;
} finally {
  await loader.close();
}
process.exit(status);
