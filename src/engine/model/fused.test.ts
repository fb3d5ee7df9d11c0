// The fused ops (fused.ts) on the cpu backend, where their kernels are float64 references: each op
// and its gradients against the composed TF.js ops it replaces, and the transformer and tcn presets'
// fused paths against their composed paths (training mode with dropout: the same draws). The WGSL
// programs themselves are checked against the composed ops on WebGPU by fused_selftest.ts
// (e2e/kernels.spec.ts).
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../lib/rng';
import { layerNorm, lengthMask } from './base';
import { im2colFused, layerNormFused, maskedSoftmaxFused, residualDropoutFused } from './fused';
import { createModel, modelConfig } from './registry';
import type { TcnModel } from './tcn';
import type { TransformerModel } from './transformer';
import { dilatedConv1d } from './tcn';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const rng = new Rng(7);
const rand = (shape: number[], scale = 1, offset = 0) =>
  tf.tensor(
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => offset + scale * rng.normal()),
    shape,
  );

function relErr(a: tf.Tensor, b: tf.Tensor): number {
  const x = a.dataSync(),
    y = b.dataSync();
  expect(a.shape).toEqual(b.shape);
  let m = 0,
    e = 0;
  for (let i = 0; i < y.length; i++) {
    m = Math.max(m, Math.abs(y[i]));
    e = Math.max(e, Number.isFinite(x[i]) ? Math.abs(x[i] - y[i]) : Infinity);
  }
  return e / Math.max(m, 1e-30);
}

/** Output and gradients of sum(f(xs) · readout) for the fused and composed versions; the largest relative error. */
function compare(fused: (...xs: tf.Tensor[]) => tf.Tensor, composed: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): { out: number; grads: number[] } {
  const yF = fused(...xs);
  const yC = composed(...xs);
  const readout = rand(yC.shape);
  const loss =
    (f: typeof fused) =>
    (...a: tf.Tensor[]) =>
      tf.sum(tf.mul(f(...a), readout)) as tf.Scalar;
  const gF = tf.grads(loss(fused))(xs);
  const gC = tf.grads(loss(composed))(xs);
  return { out: relErr(yF, yC), grads: gF.map((g, i) => relErr(g, gC[i])) };
}

describe('fused ops equal the composed ops (cpu, float64 reference kernels)', () => {
  it('layer norm: output and gradients of x, gamma, beta', () => {
    // Rows with an offset and unequal scales (the variance matters); D not a multiple of 4.
    const r = compare(layerNormFused as never, layerNorm as never, [rand([7, 13], 2, 3), rand([13], 1, 1), rand([13])]);
    expect(r.out).toBeLessThan(1e-5);
    for (const g of r.grads) expect(g).toBeLessThan(1e-4);
  });

  it('a wrong layer norm gradient is caught by the same comparison', () => {
    // Planted fault: the composed reference with an extra eps term changes the output, so the check can fail.
    const r = compare(layerNormFused as never, ((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor) => layerNorm(x, g, b, 1e-1)) as never, [
      rand([4, 6]),
      rand([6]),
      rand([6]),
    ]);
    expect(r.out).toBeGreaterThan(1e-3);
  });

  it('masked softmax with its scale: output and gradient, padded keys get no weight', () => {
    const [B, heads, T] = [3, 2, 5];
    const mask = lengthMask([5, 3, 1], T);
    const keyBias = tf.reshape(tf.mul(tf.sub(1, mask), -1e9), [B, 1, 1, T]);
    const scale = 1 / Math.sqrt(8);
    const fused = (s: tf.Tensor) =>
      tf.reshape(maskedSoftmaxFused(tf.reshape(s, [B * heads, T, T]) as tf.Tensor3D, tf.reshape(mask, [B, T]) as tf.Tensor2D, heads, scale), [B, heads, T, T]);
    const composed = (s: tf.Tensor) => tf.softmax(tf.add(tf.mul(s, scale), keyBias));
    const r = compare(fused, composed, [rand([B, heads, T, T], 3)]);
    expect(r.out).toBeLessThan(1e-5);
    expect(r.grads[0]).toBeLessThan(1e-4);
    const y = fused(rand([B, heads, T, T])).arraySync() as number[][][][];
    expect(y[2][1][0][1]).toBe(0); // sample 2 has one real key
    expect(y[2][1][0][0]).toBeCloseTo(1, 6);
  });

  it("residual add with dropout and mask: tf.dropout's draws, gradients of both inputs", () => {
    const mask = lengthMask([4, 2], 4);
    const composed = (s: tf.Tensor, y: tf.Tensor) => tf.mul(tf.add(s, tf.dropout(y, 0.3, undefined, 11)), mask);
    const fused = (s: tf.Tensor, y: tf.Tensor) => residualDropoutFused(s, y, { rate: 0.3, seed: 11, mask });
    const r = compare(fused, composed, [rand([2, 4, 5]), rand([2, 4, 5])]);
    expect(r.out).toBeLessThan(1e-6);
    for (const g of r.grads) expect(g).toBeLessThan(1e-6);
    // No dropout, no mask: a plain residual add.
    const plain = compare(
      (s, y) => residualDropoutFused(s, y, { rate: 0 }),
      (s, y) => tf.add(s, y),
      [rand([6, 3]), rand([6, 3])],
    );
    expect(Math.max(plain.out, ...plain.grads)).toBeLessThan(1e-6);
    // Another seed draws another mask: the comparison would notice a wrong one.
    const other = compare((s, y) => residualDropoutFused(s, y, { rate: 0.3, seed: 12, mask }), composed, [rand([2, 4, 5]), rand([2, 4, 5])]);
    expect(other.out).toBeGreaterThan(1e-2);
  });

  it('im2col (and its col2im gradient) equals the pad/slice/concat taps, K 3 and 5, dilations 1, 2, 4', () => {
    for (const [K, dil] of [
      [3, 1],
      [3, 2],
      [3, 4],
      [5, 2],
    ]) {
      const w = rand([K, 3, 2]);
      const fused = (x: tf.Tensor) => tf.reshape(tf.matMul(im2colFused(x as tf.Tensor3D, K, dil), tf.reshape(w, [K * 3, 2])), [2, 6, 2]);
      const composed = (x: tf.Tensor) => dilatedConv1d(x as tf.Tensor3D, w as tf.Tensor3D, dil);
      const r = compare(fused, composed, [rand([2, 6, 3])]);
      expect(r.out, `K${K} dilation ${dil}`).toBeLessThan(1e-6);
      expect(r.grads[0], `K${K} dilation ${dil}`).toBeLessThan(1e-6);
    }
  });
});

describe("the presets' fused paths equal their composed paths (cpu)", () => {
  const F = 5,
    V = 6;
  for (const preset of ['transformer', 'tcn'] as const) {
    it(`${preset}: logits and every parameter's gradient, training with dropout, unequal lengths`, () => {
      const cfg = modelConfig({ preset, channels: 16, layers: 2, hidden: 8, heads: 2, dropout: 0.2 }, F, V);
      const model = createModel(cfg, 3) as TransformerModel | TcnModel;
      const frames = [13, 9, 4];
      const T = 13;
      const x = tf.mul(rand([3, T, F]), lengthMask(frames, T)) as tf.Tensor3D;
      const T2 = model.outFrames(T);
      const mask = lengthMask(
        frames.map((n) => model.outFrames(n)),
        T2,
      );
      const readout = rand([3, T2, V]); // V classes, blank included
      const vars = [...model.params.values()];
      const run = (kernels: 'fused' | 'composed') => {
        model.kernels = kernels;
        const logits = model.apply({ x, frames, mask }, true, 5);
        const { grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply({ x, frames, mask }, true, 5), readout)) as tf.Scalar, vars);
        return { logits, grads: vars.map((v) => grads[v.name]) };
      };
      const f = run('fused');
      const c = run('composed');
      expect(relErr(f.logits, c.logits)).toBeLessThan(1e-5);
      [...model.params.keys()].forEach((name, i) => expect(relErr(f.grads[i], c.grads[i]), name).toBeLessThan(1e-4));
      model.dispose();
    });
  }
});
