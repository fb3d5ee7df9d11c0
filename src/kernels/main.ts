// kernels.html: checks the fused CTC kernel against the float64 reference on this machine's GPU,
// and benchmarks it against the same loss composed from TF.js ops. The e2e suite and
// `npm run bench` drive it through window.ctcLab.

import * as tf from '@tensorflow/tfjs-core';
import '../engine/tfjs_register'; // gradients and chained ops (TF.js core without the umbrella package)
import { initBackend, type BackendInfo } from '../engine/backend';
import { ctcSelfTest, CTC_SELFTEST_CASES, type CtcSelfTestCase, type CtcSelfTestResult } from '../engine/ctc/ctc_selftest';
import { lstmSelfTest, LSTM_SELFTEST_CASES, type LstmSelfTestCase, type LstmSelfTestResult } from '../engine/model/lstm_selftest';
import { describeFusedCase, fusedSelfTest, FUSED_SELFTEST_CASES, type FusedSelfTestCase, type FusedSelfTestResult } from '../engine/model/fused_selftest';
import { benchTrain, DEFAULT_TRAIN_SHAPES } from '../../bench/train.bench';
import { benchImport } from '../../bench/import.bench';
import { benchAlign, DEFAULT_ALIGN_SHAPES } from '../../bench/align.bench';
import { benchDistill, DEFAULT_DISTILL_SHAPES } from '../../bench/distill.bench';
import { benchProfile, DEFAULT_PROFILE_SHAPES } from '../../bench/profile.bench';
import { benchCtc, benchProblemBase64, DEFAULT_BENCH_SHAPES, type BenchShape, type CtcBenchOptions, type CtcBenchResult } from '../../bench/ctc.bench';

const out = document.getElementById('out')!;
const log = (s: string) => (out.textContent += s + '\n');

const ready: Promise<BackendInfo> = initBackend().then((b) => {
  document.getElementById('backend')!.textContent =
    b.name === 'webgpu'
      ? `WebGPU · ${b.adapter?.vendor} / ${b.adapter?.architecture} ${b.adapter?.description ?? ''}`
      : `${b.name} (${b.fallbackReasons.join('; ')})`;
  return b;
});

/** Runs `each` over the items in turn once the backend is up, logging a line per result. */
async function runEach<S, R>(items: S[], each: (s: S) => Promise<R>, line: (r: R, s: S) => string = (r) => JSON.stringify(r)): Promise<R[]> {
  await ready;
  const results: R[] = [];
  for (const s of items) {
    const r = await each(s);
    results.push(r);
    log(line(r, s));
  }
  return results;
}

const check = (cases: CtcSelfTestCase[] = CTC_SELFTEST_CASES): Promise<CtcSelfTestResult[]> =>
  runEach(
    cases,
    ctcSelfTest,
    (r, c) =>
      `B${c.B} T${c.T} V${c.V} L${c.L} ${c.reduction}${c.zeroInfinity ? ' zeroInf' : ''}${c.infeasible ? ' infeasible' : ''}: ` +
      `nll ${r.nllRelErr.toExponential(2)} grad ${r.gradRelErr.toExponential(2)} op-loss ${r.opLossRelErr.toExponential(2)} ` +
      `op-grad ${r.opGradRelErr.toExponential(2)} inf ${r.infMatches ? 'ok' : 'MISMATCH'} unwritten ${r.unwritten} leaked ${r.tensorsLeaked} (${r.ms.toFixed(0)} ms)`,
  );

const checkLstm = (cases: LstmSelfTestCase[] = LSTM_SELFTEST_CASES): Promise<LstmSelfTestResult[]> =>
  runEach(cases, lstmSelfTest, (r, c) => {
    const g = r.gradRelErr;
    return (
      `LSTM lens [${c.lens}]${c.padTo ? ` T${c.padTo}` : ''} Cin${c.Cin} H${c.H}: out ${r.outRelErr.toExponential(2)} ` +
      `grad x ${g.x.toExponential(2)} w_ih ${g.wIh.toExponential(2)} w_hh ${g.wHh.toExponential(2)} bias ${g.bias.toExponential(2)} ` +
      `alone ${r.aloneMaxDiff.toExponential(2)} unwritten ${r.unwritten} dispatches ${r.dispatches.fused} / ${r.dispatches.composed} leaked ${r.tensorsLeaked} (${r.ms.toFixed(0)} ms)`
    );
  });

const checkFused = (cases: FusedSelfTestCase[] = FUSED_SELFTEST_CASES): Promise<FusedSelfTestResult[]> =>
  runEach(
    cases,
    fusedSelfTest,
    (r, c) =>
      `fused ${describeFusedCase(c)}: out ${r.outRelErr.toExponential(2)} grads ≤ ${Math.max(...r.gradRelErr).toExponential(2)} ` +
      `dispatches ${r.dispatches.fused} / ${r.dispatches.composed} leaked ${r.tensorsLeaked} (${r.ms.toFixed(0)} ms)`,
  );

const bench = (shapes: BenchShape[] = DEFAULT_BENCH_SHAPES, opts: CtcBenchOptions = {}): Promise<CtcBenchResult[]> => runEach(shapes, (s) => benchCtc(s, opts));

const trainBench = (shapes = DEFAULT_TRAIN_SHAPES) => runEach(shapes, benchTrain);

/** Distillation step vs plain step, same student; the teacher's forward (bench/distill.bench.ts). */
const distillBench = (shapes = DEFAULT_DISTILL_SHAPES) => runEach(shapes, benchDistill);

/** The speed report's stages against the real step time, per preset (bench/profile.bench.ts). */
const profileBench = (shapes = DEFAULT_PROFILE_SHAPES) => runEach(shapes, benchProfile);

declare global {
  interface Window {
    ctcLab: {
      ready: Promise<BackendInfo>;
      check: typeof check;
      checkLstm: typeof checkLstm;
      checkFused: typeof checkFused;
      bench: typeof bench;
      problem: typeof benchProblemBase64;
      benchTrain: typeof trainBench;
      benchImport: typeof benchImport;
      benchAlign: typeof alignBench;
      benchDistill: typeof distillBench;
      benchProfile: typeof profileBench;
      tf: typeof tf;
    };
  }
}

/** Forced alignment on this page's CPU (no GPU involved). */
function alignBench(shapes = DEFAULT_ALIGN_SHAPES, reps = 7) {
  return shapes.map((s) => {
    const r = benchAlign(s, reps);
    log(JSON.stringify(r));
    return r;
  });
}

window.ctcLab = {
  ready,
  check,
  checkLstm,
  checkFused,
  bench,
  problem: benchProblemBase64,
  benchTrain: trainBench,
  benchImport,
  benchAlign: alignBench,
  benchDistill: distillBench,
  benchProfile: profileBench,
  tf,
};
document.getElementById('check')!.onclick = () => void check();
document.getElementById('check-lstm')!.onclick = () => void checkLstm();
document.getElementById('check-fused')!.onclick = () => void checkFused();
document.getElementById('bench')!.onclick = () => void bench();
