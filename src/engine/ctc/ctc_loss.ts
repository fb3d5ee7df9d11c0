// ctcLoss: the engine's CTC op. One kernel, `CtcLabLoss`, registered per backend:
//   webgpu    fused programs in ctc_program.ts (no read-back; 4 dispatches with the gradient, 3 without)
//   cpu/webgl float64 reference (ctc_reference.ts); readSync is free on cpu, acceptable on webgl
// The kernel returns the per-sample nll and its gradient together (computed in the same pass,
// as warp-ctc and PyTorch do); tf.customGrad hands the saved gradient to autodiff.
// Semantics follow torch.nn.functional.ctc_loss(log_softmax(logits).transpose(0, 1), ...).

import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { ctcLossReference } from './ctc_reference';
import { CtcAlphaBetaProgram, CtcGradProgram, CtcNllProgram, CtcRowLseProgram, uniformsI32 } from './ctc_program';

export const CTC_KERNEL = 'CtcLabLoss';

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

type KernelArgs<B> = {
  inputs: { logits: tf.TensorInfo; labels: tf.TensorInfo; logitLengths: tf.TensorInfo; labelLengths: tf.TensorInfo };
  backend: B;
  attrs: CtcAttrs;
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
  const be = backend as tf.KernelBackend & {
    makeTensorInfo(shape: number[], dtype: tf.DataType, values?: tf.backend_util.BackendValues): tf.TensorInfo;
  };
  return [
    be.makeTensorInfo([B], 'float32', nll32),
    grad ? be.makeTensorInfo([B, T, V], 'float32', Float32Array.from(grad)) : be.makeTensorInfo([0], 'float32', new Float32Array(0)),
  ];
}

export interface CtcProgramOutputs {
  lse: tf.TensorInfo; // [B*T] log-sum-exp of each row of logits
  tab: tf.TensorInfo; // program 2's buffer: alpha/beta rows, occupancies, nll per direction, class map (ctcLayout)
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

/**
 * Runs the fused programs: the one dispatch path of the op, used by the kernel, the self-test
 * and the benchmark. The kernel lets the backend allocate the outputs.
 */
export function runCtcPrograms(
  backend: WebGPUBackend,
  inputs: KernelArgs<WebGPUBackend>['inputs'],
  attrs: CtcAttrs,
  opts: CtcRunOptions = {},
): CtcProgramOutputs {
  const into = opts.into ?? {};
  const [B, T, V] = inputs.logits.shape;
  const L = inputs.labels.shape[1];
  const withGrad = attrs.computeGrad;
  const lens = [inputs.logitLengths, inputs.labelLengths];
  const zi = attrs.zeroInfinity ? 1 : 0;
  const stages = ['row log-sum-exp', 'alpha/beta'];
  const lse = backend.runWebGPUProgram(new CtcRowLseProgram(B * T, V), [inputs.logits], 'float32', uniformsI32(B * T, V), into.lse);
  const abProgram = new CtcAlphaBetaProgram(B, T, L, withGrad, {
    workgroupStorageBytes: backend.device.limits.maxComputeWorkgroupStorageSize,
    emulated: isEmulatedAdapter(backend),
    forceGlobalRows: opts.forceGlobalRows,
    lanes: opts.lanes,
  });
  const layout = abProgram.layout;
  const tab = backend.runWebGPUProgram(
    abProgram,
    [inputs.logits, lse, inputs.labels, ...lens],
    'float32',
    uniformsI32(T, V, L, attrs.blank, layout.rows, layout.info, layout.nll),
    into.tab,
  );
  let grad: tf.TensorInfo | null = null;
  if (withGrad) {
    stages.push('gradient');
    const u = uniformsI32(T, V, L, attrs.blank, zi, layout.nll, B * T);
    grad = backend.runWebGPUProgram(new CtcGradProgram(B, T, V), [inputs.logits, lse, tab, inputs.labels, ...lens], 'float32', u, into.grad ?? undefined);
  }
  stages.push('nll');
  const nll = backend.runWebGPUProgram(new CtcNllProgram(B), [tab], 'float32', uniformsI32(B, layout.dirs, layout.nll, zi), into.nll);
  return { lse, tab, nll, grad, stages };
}

/** A CPU emulation of a GPU (SwiftShader, or an adapter flagged as a fallback): fewer, wider threads suit it. */
export function isEmulatedAdapter(backend: WebGPUBackend): boolean {
  // tfjs keeps the adapter's GPUAdapterInfo fields (vendor, architecture) on adapterInfo.
  return (backend.adapterInfo as unknown as { architecture?: string } | undefined)?.architecture === 'swiftshader';
}

function ctcKernelWebGPU(args: KernelArgs<WebGPUBackend>): tf.TensorInfo[] {
  const { inputs, backend, attrs } = args;
  const { lse, tab, nll, grad } = runCtcPrograms(backend, inputs, attrs);
  backend.disposeData(lse.dataId);
  backend.disposeData(tab.dataId);
  return [nll, grad ?? backend.makeTensorInfo([0], 'float32')];
}

let registered = false;
/** Registers the CTC kernel on every backend; idempotent. Called on import. */
export function registerCtcKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of ['cpu', 'webgl']) {
    if (!tf.getKernel(CTC_KERNEL, backendName)) {
      tf.registerKernel({ kernelName: CTC_KERNEL, backendName, kernelFunc: ctcKernelReference as unknown as tf.KernelFunc });
    }
  }
  if (!tf.getKernel(CTC_KERNEL, 'webgpu')) {
    tf.registerKernel({ kernelName: CTC_KERNEL, backendName: 'webgpu', kernelFunc: ctcKernelWebGPU as unknown as tf.KernelFunc });
  }
}
registerCtcKernels();

function runCtcKernel(
  logits: tf.Tensor3D,
  labels: tf.Tensor2D,
  logitLengths: tf.Tensor1D,
  labelLengths: tf.Tensor1D,
  attrs: CtcAttrs,
): [tf.Tensor1D, tf.Tensor3D] {
  const out = tf
    .engine()
    .runKernel(
      CTC_KERNEL,
      { logits, labels, logitLengths, labelLengths } as unknown as tf.NamedTensorMap,
      attrs as unknown as tf.NamedAttrMap,
    ) as unknown as tf.Tensor[];
  return [out[0] as tf.Tensor1D, out[1] as tf.Tensor3D];
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
    const perSample = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
      const [nll, grad] = runCtcKernel(x as tf.Tensor3D, lab, xl, yl, { blank, zeroInfinity, computeGrad: true });
      save([grad]);
      return {
        value: nll,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(saved[0], tf.reshape(dy, [-1, 1, 1])),
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
    const [nll, grad] = runCtcKernel(logits, lab, logitLengths.toInt() as tf.Tensor1D, labelLengths.toInt() as tf.Tensor1D, {
      blank: opts.blank ?? 0,
      zeroInfinity: opts.zeroInfinity ?? false,
      computeGrad: false,
    });
    grad.dispose();
    return nll;
  });
}
