// ctcLoss: the engine's CTC op. Two kernels, registered per backend:
//   CtcLabLoss      forward: the per-sample nll, and with computeGrad what the backward pass needs
//   CtcLabLossGrad  backward: d loss / d logits, already scaled by the upstream gradient dy
//   webgpu    fused programs in ctc_program.ts (no read-back): forward 3 dispatches (row
//             log-sum-exp, alpha/beta, nll), backward 1 (the gradient, scaled by dy as it is written)
//   cpu/webgl float64 reference (ctc_reference.ts), which computes the gradient in the forward
//             pass (as warp-ctc and PyTorch do); readSync is free on cpu, acceptable on webgl
// tf.customGrad saves the forward kernel's state and runs the backward kernel on dy.
// Semantics follow torch.nn.functional.ctc_loss(log_softmax(logits).transpose(0, 1), ...).

import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { ctcLossReference } from './ctc_reference';
import { CtcGradProgram, CtcNllProgram, CtcRowLseProgram, ctcLayout, uniformsI32 } from './ctc_program';
import { CtcAlphaBetaProgram } from './ctc_recursion';

export const CTC_KERNEL = 'CtcLabLoss';
export const CTC_GRAD_KERNEL = 'CtcLabLossGrad';

export interface CtcLossOptions {
  blank?: number; // default 0
  reduction?: 'none' | 'sum' | 'mean'; // default 'mean' (each loss / max(labelLength, 1), then batch mean)
  zeroInfinity?: boolean; // default false
}

interface CtcAttrs {
  blank: number;
  zeroInfinity: boolean;
  computeGrad: boolean;
}

type CtcInputs = { logits: tf.TensorInfo; labels: tf.TensorInfo; logitLengths: tf.TensorInfo; labelLengths: tf.TensorInfo };

type KernelArgs<B> = {
  inputs: CtcInputs;
  backend: B;
  attrs: CtcAttrs;
};

/** The backward kernel's inputs: the forward's, its two state tensors, and dy [B]. */
type GradKernelArgs<B> = {
  inputs: CtcInputs & { state0: tf.TensorInfo; state1: tf.TensorInfo; dy: tf.TensorInfo };
  backend: B;
  attrs: CtcAttrs;
};

type BackendWithMake = tf.KernelBackend & {
  makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
};

function ctcKernelReference(args: KernelArgs<tf.KernelBackend>): tf.TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const [B, T, V] = inputs.logits.shape;
  const L = inputs.labels.shape[1];
  const read = (t: tf.TensorInfo) => backend.readSync(t.dataId) as ArrayLike<number>;
  const { nll, grad } = ctcLossReference(
    {
      logits: read(inputs.logits),
      labels: read(inputs.labels),
      logitLengths: read(inputs.logitLengths),
      labelLengths: read(inputs.labelLengths),
      B,
      T,
      V,
      L,
      blank: attrs.blank,
    },
    attrs.computeGrad,
  );
  const nll32 = new Float32Array(B);
  for (let b = 0; b < B; b++) {
    const bad = !Number.isFinite(nll[b]);
    nll32[b] = bad && attrs.zeroInfinity ? 0 : nll[b];
    if (bad && attrs.zeroInfinity && grad) grad.fill(0, b * T * V, (b + 1) * T * V);
  }
  const be = backend as BackendWithMake;
  const empty = () => be.makeTensorInfo([0], 'float32', new Float32Array(0));
  // State for the backward kernel: the unscaled gradient.
  return [be.makeTensorInfo([B], 'float32', nll32), grad ? be.makeTensorInfo([B, T, V], 'float32', Float32Array.from(grad)) : empty(), empty()];
}

/** Backward on cpu/webgl: the saved unscaled gradient times dy[b]. */
function ctcGradKernelReference(args: GradKernelArgs<tf.KernelBackend>): tf.TensorInfo {
  const { inputs, backend } = args;
  const [B, T, V] = inputs.logits.shape;
  const grad = backend.readSync(inputs.state0.dataId) as Float32Array;
  const dy = backend.readSync(inputs.dy.dataId) as Float32Array;
  const out = new Float32Array(B * T * V);
  for (let b = 0, i = 0; b < B; b++) for (let k = 0; k < T * V; k++, i++) out[i] = grad[i] * dy[b];
  return (backend as BackendWithMake).makeTensorInfo([B, T, V], 'float32', out);
}

export interface CtcProgramOutputs {
  lse: tf.TensorInfo; // [B*T] log-sum-exp of each row of logits
  tab: tf.TensorInfo; // program 2's buffer: alpha/beta tables and nll per direction (ctcLayout)
  nll: tf.TensorInfo; // [B]
  grad: tf.TensorInfo | null; // [B, T, V]
  stages: string[]; // the programs dispatched, in order (the benchmark times each one)
}

export interface CtcRunOptions {
  /** Pre-filled output tensors, so a test can poison them and prove every element is written. */
  into?: Partial<Pick<CtcProgramOutputs, 'lse' | 'tab' | 'nll' | 'grad'>>;
  /** Keep the recursion's rows in global memory even where they fit in workgroup memory (tests the fallback). */
  forceGlobalRows?: boolean;
  /** Threads per direction in the recursion instead of the device's choice (tests the other layout). */
  lanes?: number;
}

/** Forward programs: row log-sum-exp, alpha/beta (with the tables for the gradient when computeGrad), nll. */
export function runCtcForward(backend: WebGPUBackend, inputs: CtcInputs, attrs: CtcAttrs, opts: CtcRunOptions = {}): Omit<CtcProgramOutputs, 'grad'> {
  const into = opts.into ?? {};
  const [B, T, V] = inputs.logits.shape;
  const L = inputs.labels.shape[1];
  const zi = attrs.zeroInfinity ? 1 : 0;
  const lse = backend.runWebGPUProgram(new CtcRowLseProgram(B * T, V), [inputs.logits], 'float32', uniformsI32(B * T, V), into.lse);
  const abProgram = new CtcAlphaBetaProgram(B, T, L, attrs.computeGrad, {
    workgroupStorageBytes: backend.device.limits.maxComputeWorkgroupStorageSize,
    emulated: isEmulatedAdapter(backend),
    forceGlobalRows: opts.forceGlobalRows,
    lanes: opts.lanes,
  });
  const layout = abProgram.layout;
  const tab = backend.runWebGPUProgram(
    abProgram,
    [inputs.logits, lse, inputs.labels, inputs.logitLengths, inputs.labelLengths],
    'float32',
    uniformsI32(T, V, L, attrs.blank, layout.rows, layout.info, layout.nll),
    into.tab,
  );
  const nll = backend.runWebGPUProgram(new CtcNllProgram(B), [tab], 'float32', uniformsI32(B, layout.dirs * 4, layout.nll, zi), into.nll);
  return { lse, tab, nll, stages: ['row log-sum-exp', 'alpha/beta', 'nll'] };
}

/** Backward program: d nll / d logits from the forward's lse and tables, times dy[b] where given. */
export function runCtcGradient(
  backend: WebGPUBackend,
  inputs: CtcInputs,
  lse: tf.TensorInfo,
  tab: tf.TensorInfo,
  attrs: Omit<CtcAttrs, 'computeGrad'>,
  dy: tf.TensorInfo | null,
  into?: tf.TensorInfo,
): tf.TensorInfo {
  const [B, T, V] = inputs.logits.shape;
  const L = inputs.labels.shape[1];
  const layout = ctcLayout(B, T, L, true, false);
  const u = uniformsI32(T, V, L, attrs.blank, attrs.zeroInfinity ? 1 : 0, layout.nll, B * T);
  const x = [inputs.logits, lse, tab, inputs.labels, inputs.logitLengths, inputs.labelLengths, ...(dy ? [dy] : [])];
  return backend.runWebGPUProgram(new CtcGradProgram(B, T, V, dy !== null), x, 'float32', u, into);
}

/**
 * Runs the fused programs, forward then backward (unscaled gradient), through the same functions
 * as the kernels: used by the self-test and the benchmark.
 */
export function runCtcPrograms(backend: WebGPUBackend, inputs: CtcInputs, attrs: CtcAttrs, opts: CtcRunOptions = {}): CtcProgramOutputs {
  const f = runCtcForward(backend, inputs, attrs, opts);
  if (!attrs.computeGrad) return { ...f, grad: null };
  const grad = runCtcGradient(backend, inputs, f.lse, f.tab, attrs, null, opts.into?.grad ?? undefined);
  return { ...f, grad, stages: [...f.stages, 'gradient'] };
}

/** A CPU emulation of a GPU (SwiftShader, or an adapter flagged as a fallback): fewer, wider threads suit it. */
export function isEmulatedAdapter(backend: WebGPUBackend): boolean {
  // tfjs keeps the adapter's GPUAdapterInfo fields (vendor, architecture) on adapterInfo.
  return (backend.adapterInfo as unknown as { architecture?: string } | undefined)?.architecture === 'swiftshader';
}

function ctcKernelWebGPU(args: KernelArgs<WebGPUBackend>): tf.TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { lse, tab, nll } = runCtcForward(backend, inputs, attrs);
  if (attrs.computeGrad) return [nll, lse, tab]; // state for the backward kernel
  backend.disposeData(lse.dataId);
  backend.disposeData(tab.dataId);
  return [nll, backend.makeTensorInfo([0], 'float32'), backend.makeTensorInfo([0], 'float32')];
}

function ctcGradKernelWebGPU(args: GradKernelArgs<WebGPUBackend>): tf.TensorInfo {
  const { inputs, backend, attrs } = args;
  return runCtcGradient(backend, inputs, inputs.state0, inputs.state1, attrs, inputs.dy);
}

let registered = false;
/** Registers the CTC kernel on every backend; idempotent. Called on import. */
export function registerCtcKernels(): void {
  if (registered) return;
  registered = true;
  const kernels: [string, string, unknown][] = [
    [CTC_KERNEL, 'cpu', ctcKernelReference],
    [CTC_KERNEL, 'webgl', ctcKernelReference],
    [CTC_KERNEL, 'webgpu', ctcKernelWebGPU],
    [CTC_GRAD_KERNEL, 'cpu', ctcGradKernelReference],
    [CTC_GRAD_KERNEL, 'webgl', ctcGradKernelReference],
    [CTC_GRAD_KERNEL, 'webgpu', ctcGradKernelWebGPU],
  ];
  for (const [kernelName, backendName, kernelFunc] of kernels) {
    if (!tf.getKernel(kernelName, backendName)) tf.registerKernel({ kernelName, backendName, kernelFunc: kernelFunc as tf.KernelFunc });
  }
}
registerCtcKernels();

/** The forward kernel: [nll, state0, state1] (the state is what the backward kernel needs). */
function runCtcKernel(logits: tf.Tensor3D, labels: tf.Tensor2D, logitLengths: tf.Tensor1D, labelLengths: tf.Tensor1D, attrs: CtcAttrs): tf.Tensor[] {
  const inputs = { logits, labels, logitLengths, labelLengths } as unknown as tf.NamedTensorMap;
  return tf.engine().runKernel(CTC_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
}

/**
 * CTC loss. logits [B, T, V] float32 unnormalised; labels [B, L] int32 padded;
 * logitLengths, labelLengths [B] int32. Differentiable w.r.t. logits only.
 */
export function ctcLoss(logits: tf.Tensor3D, labels: tf.Tensor2D, logitLengths: tf.Tensor1D, labelLengths: tf.Tensor1D, opts: CtcLossOptions = {}): tf.Tensor {
  const blank = opts.blank ?? 0;
  const reduction = opts.reduction ?? 'mean';
  const zeroInfinity = opts.zeroInfinity ?? false;
  if (logits.rank !== 3) throw new Error(`ctcLoss: logits must be [B, T, V], got shape [${logits.shape}]`);
  if (labels.rank !== 2 || labels.shape[0] !== logits.shape[0]) {
    throw new Error(`ctcLoss: labels must be [B, L] with B = ${logits.shape[0]}, got [${labels.shape}]`);
  }
  if (blank < 0 || blank >= logits.shape[2]) throw new Error(`ctcLoss: blank ${blank} outside [0, ${logits.shape[2]})`);
  return tf.tidy(() => {
    // A zero-width label tensor cannot be bound on the GPU; one padded column changes nothing.
    const lab = (labels.shape[1] === 0 ? tf.zeros([labels.shape[0], 1], 'int32') : labels.toInt()) as tf.Tensor2D;
    const xl = logitLengths.toInt() as tf.Tensor1D;
    const yl = labelLengths.toInt() as tf.Tensor1D;
    // customGrad passes (inputs..., save); its typings merge the two, hence the casts.
    const attrs = { blank, zeroInfinity, computeGrad: true };
    const perSample = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      const [nll, state0, state1] = runCtcKernel(x as tf.Tensor3D, lab, xl, yl, attrs);
      // Everything the backward kernel reads outlives this tidy through save().
      save([x, lab, xl, yl, state0, state1]);
      return {
        value: nll,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [logits, labels, logitLengths, labelLengths, s0, s1] = saved;
          const inputs = { logits, labels, logitLengths, labelLengths, state0: s0, state1: s1, dy } as unknown as tf.NamedTensorMap;
          return tf.engine().runKernel(CTC_GRAD_KERNEL, inputs, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
        },
      };
    }) as unknown as Parameters<typeof tf.customGrad>[0])(logits) as tf.Tensor1D;
    if (reduction === 'none') return perSample;
    if (reduction === 'sum') return tf.sum(perSample);
    return tf.mean(tf.div(perSample, tf.maximum(yl, 1).toFloat()));
  });
}

/** Per-sample nll without the gradient pass (evaluation): forward recursion only. */
export function ctcNll(
  logits: tf.Tensor3D,
  labels: tf.Tensor2D,
  logitLengths: tf.Tensor1D,
  labelLengths: tf.Tensor1D,
  opts: { blank?: number; zeroInfinity?: boolean } = {},
): tf.Tensor1D {
  return tf.tidy(() => {
    const lab = (labels.shape[1] === 0 ? tf.zeros([labels.shape[0], 1], 'int32') : labels.toInt()) as tf.Tensor2D;
    const [nll, ...state] = runCtcKernel(logits, lab, logitLengths.toInt() as tf.Tensor1D, labelLengths.toInt() as tf.Tensor1D, {
      blank: opts.blank ?? 0,
      zeroInfinity: opts.zeroInfinity ?? false,
      computeGrad: false,
    });
    tf.dispose(state);
    return nll as tf.Tensor1D;
  });
}
