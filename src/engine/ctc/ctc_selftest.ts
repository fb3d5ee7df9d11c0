// Self-test of the fused WebGPU CTC kernel against the float64 reference, on random problems.
// Runs wherever a WebGPU backend is active (the e2e suite runs it in headless Chromium; a user can
// run it on their own GPU from kernels.html). Two checks per case:
//   1. the programs alone, with every output buffer pre-filled with NaN (poison), so an element the
//      kernel forgot to write shows up; per-sample nll and the unscaled gradient vs the reference;
//      in the device's layout and in the other one (rows in global memory, another thread count);
//   2. the ctcLoss op as training uses it: the reduced loss and tf.grad w.r.t. the logits; and the
//      forward-only op (ctcNll, evaluation) against the same per-sample nll.

import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { Rng } from '../../lib/rng';
import { ctcLoss, ctcNll, runCtcPrograms } from './ctc_loss';
import { ctcLayout } from './ctc_program';
import { ctcLossReference, ctcMinFrames } from './ctc_reference';

export interface CtcSelfTestCase {
  B: number;
  T: number;
  V: number;
  L: number; // max label length; sample 0 gets exactly L
  reduction: 'none' | 'sum' | 'mean';
  zeroInfinity: boolean;
  infeasible: boolean; // make the last sample impossible to align (T_b < L_b + repeats)
  seed: number;
  fullLength?: boolean; // every sample T frames and L labels (repeats removed where they would not fit)
  globalRows?: boolean; // programs: keep the recursion's rows in global memory (the fallback past workgroup memory)
  lanes?: number; // programs: threads per direction in the recursion (default: the device's choice)
}

export interface CtcSelfTestResult {
  case: CtcSelfTestCase;
  nllRelErr: number; // programs and the forward-only op (ctcNll): max over samples of |gpu - ref| / |ref| (finite ones)
  gradRelErr: number; // programs: max |gpu - ref| / max |ref|
  infMatches: boolean; // +inf exactly where the reference has +inf, NaN gradients exactly where it has NaN
  unwritten: number; // poisoned elements still NaN where a number was due
  opLossRelErr: number; // ctcLoss with the case's reduction vs the reduced reference
  opGradRelErr: number; // tf.grad of it vs the reduced reference gradient
  tensorsLeaked: number; // tf.memory().numTensors growth over 3 more calls
  ms: number;
}

/** Threads per direction of the second layout the self-test checks (the first: the device's choice). */
const ALTERNATIVE_LANES = 16;

export function makeProblem(c: CtcSelfTestCase) {
  const rng = new Rng(c.seed);
  const { B, T, V, L } = c;
  const logits = Float32Array.from({ length: B * T * V }, () => rng.normal() * 2);
  const labels = new Int32Array(B * L);
  const labelLengths = new Int32Array(B);
  const logitLengths = new Int32Array(B);
  for (let b = 0; b < B; b++) {
    let Lb = b === 0 || c.fullLength ? L : rng.int(0, L);
    // Repeats are common in real transcripts (and need a blank between them): draw from a
    // small pool half the time.
    const pool = rng.next() < 0.5 ? Math.min(V - 1, 3) : V - 1;
    let lab = Array.from({ length: Lb }, () => rng.int(1, pool));
    // Full length: break repeats (last ones first) until the transcript fits in T frames.
    for (let i = Lb - 1; c.fullLength && i > 0 && ctcMinFrames(lab) > T; i--) {
      if (lab[i] !== lab[i - 1]) continue;
      for (let k = 1; k < V; k++)
        if (k !== lab[i - 1] && k !== lab[i + 1]) {
          lab[i] = k;
          break;
        }
    }
    // Shrink until feasible within T.
    while (ctcMinFrames(lab) > T) lab = lab.slice(0, --Lb);
    labels.set(lab, b * L);
    labelLengths[b] = Lb;
    const need = Math.max(1, ctcMinFrames(lab));
    logitLengths[b] = b === 0 || c.fullLength ? T : rng.int(need, T);
    if (c.infeasible && b === B - 1 && B > 1 && need >= 2) logitLengths[b] = need - 1;
  }
  return { logits, labels, labelLengths, logitLengths };
}

export async function ctcSelfTest(c: CtcSelfTestCase): Promise<CtcSelfTestResult> {
  const t0 = performance.now();
  const { B, T, V, L } = c;
  const p = makeProblem(c);
  const ref = ctcLossReference({ ...p, B, T, V, L });
  const logits = tf.tensor3d(p.logits, [B, T, V]);
  const labels = tf.tensor2d(p.labels, [B, L], 'int32');
  const xl = tf.tensor1d(p.logitLengths, 'int32');
  const yl = tf.tensor1d(p.labelLengths, 'int32');

  // 1. Programs with poisoned outputs, in the layout this device uses and in the other one
  //    (the recursion's rows in global memory, another thread count), so both are checked
  //    wherever the self-test runs. Errors are the worst of the two.
  const backend = tf.backend() as WebGPUBackend;
  if (tf.getBackend() !== 'webgpu') throw new Error(`ctcSelfTest needs the webgpu backend, active: ${tf.getBackend()}`);
  const layouts = c.globalRows || c.lanes ? [{ forceGlobalRows: c.globalRows, lanes: c.lanes }] : [{}, { forceGlobalRows: true, lanes: ALTERNATIVE_LANES }];
  let nllRelErr = 0;
  let infMatches = true;
  let unwritten = 0;
  let gradMax = 0,
    gradErr = 0;
  const TV = T * V;
  for (const layout of layouts) {
    const poison = {
      lse: tf.fill([B * T], NaN),
      tab: tf.fill([ctcLayout(B, T, L, true, true).size], NaN), // the larger layout (rows in global memory)
      nll: tf.fill([B], NaN),
      grad: tf.fill([B, T, V], NaN),
    };
    // Any WebGPU validation error (a shader that fails to compile, a bad binding) fails the case.
    backend.device.pushErrorScope('validation');
    runCtcPrograms(
      backend,
      { logits, labels, logitLengths: xl, labelLengths: yl },
      { blank: 0, zeroInfinity: c.zeroInfinity, computeGrad: true },
      { into: poison, ...layout },
    );
    const nll = await poison.nll.data();
    const grad = await poison.grad.data();
    const gpuError = await backend.device.popErrorScope();
    if (gpuError) throw new Error(`WebGPU validation error in the CTC programs: ${gpuError.message}`);
    for (let b = 0; b < B; b++) {
      const want = c.zeroInfinity && !Number.isFinite(ref.nll[b]) ? 0 : ref.nll[b];
      if (Number.isNaN(nll[b])) unwritten++;
      if (!Number.isFinite(want) || !Number.isFinite(nll[b])) {
        if (want !== nll[b]) infMatches = false;
        continue;
      }
      nllRelErr = Math.max(nllRelErr, Math.abs(nll[b] - want) / Math.max(Math.abs(want), 1e-6));
    }
    for (let b = 0; b < B; b++) {
      const infeasible = !Number.isFinite(ref.nll[b]);
      for (let i = 0; i < TV; i++) {
        const k = b * TV + i;
        const t = Math.floor(i / V);
        const padded = t >= p.logitLengths[b];
        if (infeasible && !c.zeroInfinity && !padded) {
          // The reference gives NaN here (undefined gradient); the kernel must write NaN too.
          if (!Number.isNaN(grad[k])) infMatches = false;
          continue;
        }
        const want = infeasible && c.zeroInfinity ? 0 : ref.grad![k];
        if (Number.isNaN(grad[k])) {
          unwritten++;
          continue;
        }
        gradMax = Math.max(gradMax, Math.abs(want));
        gradErr = Math.max(gradErr, Math.abs(grad[k] - want));
      }
    }
    tf.dispose(Object.values(poison));
  }

  // 1b. The forward-only op (evaluation: alpha alone, no tables): the same per-sample nll.
  const fwdT = ctcNll(logits, labels, xl, yl, { zeroInfinity: c.zeroInfinity });
  const fwd = await fwdT.data();
  fwdT.dispose();
  for (let b = 0; b < B; b++) {
    const want = c.zeroInfinity && !Number.isFinite(ref.nll[b]) ? 0 : ref.nll[b];
    if (!Number.isFinite(want) || !Number.isFinite(fwd[b])) {
      if (want !== fwd[b]) infMatches = false;
      continue;
    }
    nllRelErr = Math.max(nllRelErr, Math.abs(fwd[b] - want) / Math.max(Math.abs(want), 1e-6));
  }

  // 2. The op as training uses it.
  const f = (x: tf.Tensor) => tf.tidy(() => tf.sum(ctcLoss(x as tf.Tensor3D, labels, xl, yl, { reduction: c.reduction, zeroInfinity: c.zeroInfinity })));
  const perRef = Array.from(ref.nll, (v) => (c.zeroInfinity && !Number.isFinite(v) ? 0 : v));
  const scale = perRef.map((_, b) => (c.reduction === 'mean' ? 1 / Math.max(p.labelLengths[b], 1) / B : 1));
  const refLoss = c.reduction === 'none' ? perRef.reduce((s, v) => s + v, 0) : perRef.reduce((s, v, b) => s + v * scale[b], 0);
  const lossT = f(logits);
  const opLoss = (await lossT.data())[0];
  lossT.dispose();
  const opLossRelErr = Number.isFinite(refLoss) ? Math.abs(opLoss - refLoss) / Math.max(Math.abs(refLoss), 1e-6) : opLoss === refLoss ? 0 : Infinity;
  let opGradRelErr = 0;
  if (Number.isFinite(refLoss)) {
    const g = tf.grad(f)(logits);
    const gv = await g.data();
    g.dispose();
    let m = 0,
      e = 0;
    for (let b = 0; b < B; b++) {
      const zero = c.zeroInfinity && !Number.isFinite(ref.nll[b]);
      for (let i = 0; i < TV; i++) {
        const want = zero ? 0 : ref.grad![b * TV + i] * scale[b];
        m = Math.max(m, Math.abs(want));
        e = Math.max(e, Math.abs(gv[b * TV + i] - want));
      }
    }
    opGradRelErr = e / Math.max(m, 1e-30);
  }

  // Tensor count over repeated calls.
  const before = tf.memory().numTensors;
  for (let k = 0; k < 3; k++) {
    const g = tf.grad(f)(logits);
    await g.data();
    g.dispose();
  }
  const tensorsLeaked = tf.memory().numTensors - before;
  tf.dispose([logits, labels, xl, yl]);
  return {
    case: c,
    nllRelErr,
    gradRelErr: gradErr / Math.max(gradMax, 1e-30),
    infMatches,
    unwritten,
    opLossRelErr,
    opGradRelErr,
    tensorsLeaked,
    ms: performance.now() - t0,
  };
}

/** The default suite: the shapes of the CTC issue, from tiny to the largest (T 1000, L 300, V 1300). */
export const CTC_SELFTEST_CASES: CtcSelfTestCase[] = [
  { B: 1, T: 1, V: 2, L: 1, reduction: 'none', zeroInfinity: false, infeasible: false, seed: 1 },
  { B: 3, T: 20, V: 5, L: 4, reduction: 'none', zeroInfinity: false, infeasible: false, seed: 2 },
  { B: 5, T: 30, V: 10, L: 8, reduction: 'sum', zeroInfinity: false, infeasible: true, seed: 3 },
  { B: 16, T: 50, V: 30, L: 10, reduction: 'mean', zeroInfinity: true, infeasible: true, seed: 4 },
  { B: 8, T: 75, V: 1296, L: 28, reduction: 'mean', zeroInfinity: false, infeasible: false, seed: 5 },
  { B: 16, T: 400, V: 32, L: 100, reduction: 'sum', zeroInfinity: false, infeasible: false, seed: 6 },
  { B: 2, T: 1000, V: 40, L: 300, reduction: 'none', zeroInfinity: false, infeasible: false, seed: 7 },
  { B: 3, T: 600, V: 1300, L: 60, reduction: 'mean', zeroInfinity: true, infeasible: true, seed: 8 },
  { B: 2, T: 1000, V: 1300, L: 300, reduction: 'mean', zeroInfinity: false, infeasible: false, seed: 9 },
  // Long input: log-probabilities of a whole path reach ~-10^4, far past float32's exp range.
  { B: 1, T: 3000, V: 40, L: 200, reduction: 'sum', zeroInfinity: false, infeasible: false, seed: 10 },
];
