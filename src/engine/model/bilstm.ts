// One bidirectional LSTM layer: h [B, T, Cin] → [B, T, 2H] (forward | backward), gates i, f, g, o.
// Weights: w_ih [2, Cin, 4H], w_hh [2, H, 4H], bias [2, 4H] (direction 0 = forward, 1 = backward).
// The backward direction reads each sample reversed within its own length (padding stays after
// the real frames), so real outputs never depend on padding in either direction.
//
// Two implementations of the same function:
//   composed  TF.js ops, one batched [2, B, H] @ [2, H, 4H] matmul per step and ~70 kernels per
//             step with autodiff. The reference, and the path on cpu and webgl.
//   fused     webgpu: the input projections are one matmul over all frames, then one WGSL
//             dispatch per step for both directions (lstm_program.ts), with a custom gradient
//             whose backward pass is one dispatch per step too; dW_hh is one matmul at the end.

import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { lstmLayout, LstmStepGradProgram, LstmStepProgram } from './lstm_program';

export interface BilstmWeights {
  wIh: tf.Tensor3D; // [2, Cin, 4H]
  wHh: tf.Tensor3D; // [2, H, 4H]
  bias: tf.Tensor2D; // [2, 4H]
}

/** 'auto': fused on webgpu, composed elsewhere. 'composed' forces the reference everywhere. */
export type Recurrence = 'auto' | 'composed';

export function bilstm(h: tf.Tensor3D, w: BilstmWeights, lens: readonly number[], recurrence: Recurrence = 'auto'): tf.Tensor3D {
  return recurrence === 'auto' && tf.getBackend() === 'webgpu' ? bilstmFused(h, w, lens) : bilstmComposed(h, w, lens);
}

/**
 * Flat row indices into [B·T, C] that reverse each sample's first lengths[b] frames and keep its
 * padding in place (an involution: the same gather reverses back).
 */
function reverseIndex(lengths: readonly number[], T: number): Int32Array {
  const idx = new Int32Array(lengths.length * T);
  lengths.forEach((n, b) => {
    for (let t = 0; t < T; t++) idx[b * T + t] = b * T + (t < n ? n - 1 - t : t);
  });
  return idx;
}

/**
 * Both directions at once from TF.js ops: the input projections are one batched matmul for all
 * frames; each step is one [2, B, H] @ [2, H, 4H].
 */
export function bilstmComposed(h: tf.Tensor3D, w: BilstmWeights, lens: readonly number[]): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, Cin] = h.shape;
    const H = w.wHh.shape[1];
    const rev = tf.tensor1d(reverseIndex(lens, T), 'int32');
    const flat = tf.reshape(h, [B * T, Cin]);
    const xs = tf.stack([flat, tf.gather(flat, rev)]) as tf.Tensor3D; // [2, B·T, Cin]
    const gx = tf.add(tf.matMul(xs, w.wIh), tf.expandDims(w.bias, 1));
    const byStep = tf.transpose(tf.reshape(gx, [2, B, T, 4 * H]), [2, 0, 1, 3]); // [T, 2, B, 4H]
    // tfjs's unstack gradient fails on a single output (it stacks a tensor, not a list): T = 1
    // is a batch of ≤ 4 input frames.
    const steps = T === 1 ? [tf.reshape(byStep, [2, B, 4 * H]) as tf.Tensor3D] : tf.unstack(byStep); // T × [2, B, 4H]
    const whh = w.wHh;
    let hs: tf.Tensor3D = tf.zeros([2, B, H]);
    let c: tf.Tensor = tf.zeros([2, B, H]);
    const outs: tf.Tensor3D[] = [];
    for (const g of steps) {
      const [i, f, u, o] = tf.split(tf.add(g, tf.matMul(hs, whh)), 4, 2);
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(u)));
      hs = tf.mul(tf.sigmoid(o), tf.tanh(c));
      outs.push(hs);
    }
    const [fw, bw] = tf.unstack(tf.reshape(tf.transpose(tf.stack(outs), [1, 2, 0, 3]), [2, B * T, H]));
    return tf.reshape(tf.concat([fw, tf.gather(bw, rev)], 1), [B, T, 2 * H]);
  });
}

export const LSTM_FORWARD_KERNEL = 'CtcLabLstmForward';
export const LSTM_BACKWARD_KERNEL = 'CtcLabLstmBackward';

/**
 * The forward recurrence: gx [B·T, 8H] (= [B, T, 2, 4H], input projections plus bias), whh
 * [2, H, 4H], lens [B] int32 → the state buffer (lstm_program.ts). `into` lets a test hand in
 * a poisoned buffer to prove that every element is written.
 */
export function runLstmForward(backend: WebGPUBackend, gx: tf.TensorInfo, whh: tf.TensorInfo, lens: tf.TensorInfo, into?: tf.TensorInfo): tf.TensorInfo {
  const B = lens.shape[0];
  const T = gx.shape[0] / B;
  const H = whh.shape[1];
  let out = into;
  for (let k = 0; k < T; k++) {
    out = backend.runWebGPUProgram(new LstmStepProgram(B, T, H), [gx, whh, lens], 'float32', uniforms(B, T, k), out);
  }
  return out!;
}

/** The backward recurrence: dy [B, T, 2H], state, whhT [2, 4H, H], lens → the dstate buffer. */
export function runLstmBackward(
  backend: WebGPUBackend,
  dy: tf.TensorInfo,
  state: tf.TensorInfo,
  whhT: tf.TensorInfo,
  lens: tf.TensorInfo,
  into?: tf.TensorInfo,
): tf.TensorInfo {
  const [B, T] = dy.shape;
  const H = whhT.shape[2];
  let out = into;
  for (let k = T - 1; k >= 0; k--) {
    out = backend.runWebGPUProgram(new LstmStepGradProgram(B, T, H), [dy, state, whhT, lens], 'float32', uniforms(B, T, k), out);
  }
  return out!;
}

function uniforms(...xs: number[]): { type: 'int32'; data: number[] }[] {
  return xs.map((x) => ({ type: 'int32', data: [x] }));
}

type Infos = Record<string, tf.TensorInfo>;
let registered = false;
/** Registers the fused recurrence kernels on webgpu (the only backend that has them); idempotent. */
export function registerLstmKernels(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel(LSTM_FORWARD_KERNEL, 'webgpu')) {
    tf.registerKernel({
      kernelName: LSTM_FORWARD_KERNEL,
      backendName: 'webgpu',
      kernelFunc: (({ inputs, backend }: { inputs: Infos; backend: WebGPUBackend }) =>
        runLstmForward(backend, inputs.gx, inputs.whh, inputs.lens)) as unknown as tf.KernelFunc,
    });
  }
  if (!tf.getKernel(LSTM_BACKWARD_KERNEL, 'webgpu')) {
    tf.registerKernel({
      kernelName: LSTM_BACKWARD_KERNEL,
      backendName: 'webgpu',
      kernelFunc: (({ inputs, backend }: { inputs: Infos; backend: WebGPUBackend }) =>
        runLstmBackward(backend, inputs.dy, inputs.state, inputs.whhT, inputs.lens)) as unknown as tf.KernelFunc,
    });
  }
}
registerLstmKernels();

function run(kernel: string, inputs: Record<string, tf.Tensor>): tf.Tensor1D {
  return tf.engine().runKernel(kernel, inputs as unknown as tf.NamedTensorMap, {}) as tf.Tensor1D;
}

/**
 * The recurrence as a differentiable op: gx [B·T, 8H], whh [2, H, 4H] → [B, T, 2H]; lens [B]
 * int32 (each sample's real frames) is a constant.
 */
function lstmRecurrence(gx: tf.Tensor2D, whh: tf.Tensor3D, lens: tf.Tensor1D): tf.Tensor3D {
  const B = lens.shape[0];
  const T = gx.shape[0] / B;
  const H = whh.shape[1];
  const { state: S, dstate: D } = lstmLayout(B, T, H);
  const bth = B * T * H;
  // customGrad passes (inputs..., save); its typings merge the two, hence the casts.
  return tf.customGrad(((gxIn: tf.Tensor, whhIn: tf.Tensor, save: tf.GradSaveFunc) => {
    const state = run(LSTM_FORWARD_KERNEL, { gx: gxIn, whh: whhIn, lens });
    // Closed-over tensors are gone by the time autodiff runs: what the gradient needs is saved.
    save([state, whhIn, lens]);
    return {
      value: tf.reshape(tf.slice(state, S.Y, 2 * bth), [B, T, 2 * H]),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [st, w, n] = saved;
        const whhT = tf.transpose(w, [0, 2, 1]); // [2, 4H, H]: each thread's column reads coalesce
        const d = run(LSTM_BACKWARD_KERNEL, { dy, state: st, whhT, lens: n });
        const dgx = tf.reshape(tf.slice(d, D.DGA, 8 * bth), [B * T, 8 * H]);
        // dW_hh[dir] = Σ over frames of h[k-1]ᵀ · dgates[k]: one batched matmul over all frames.
        const hp = tf.reshape(tf.slice(st, S.HP, 2 * bth), [2, B * T, H]);
        const dgb = tf.reshape(tf.slice(d, D.DGB, 8 * bth), [2, B * T, 4 * H]);
        return [dgx, tf.matMul(hp, dgb, true, false)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0])(gx, whh) as tf.Tensor3D;
}

/** Both directions as one fused recurrence (webgpu only). */
export function bilstmFused(h: tf.Tensor3D, w: BilstmWeights, lens: readonly number[]): tf.Tensor3D {
  return tf.tidy(() => {
    const [B, T, Cin] = h.shape;
    const H = w.wHh.shape[1];
    // [2, Cin, 4H] → [Cin, 2·4H]: one matmul gives both directions' projections, [B, T, 2, 4H].
    const wIh = tf.reshape(tf.transpose(w.wIh, [1, 0, 2]), [Cin, 8 * H]);
    const gx = tf.add(tf.matMul(tf.reshape(h, [B * T, Cin]), wIh), tf.reshape(w.bias, [8 * H])) as tf.Tensor2D;
    const n = tf.tensor1d(
      Int32Array.from(lens, (x) => Math.max(0, Math.min(T, x))),
      'int32',
    );
    return lstmRecurrence(gx, w.wHh, n);
  });
}
