// Fixed values from PyTorch (tools/make_ctc_fixtures.py, Debian's python3-torch, float64):
// the float64 reference must match to ~1e-9, the ctcLoss op (float32 out) to ~1e-5 relative.
import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fixtures from './fixtures/torch_ctc.json';
import { ctcLossReference } from './ctc_reference';
import { ctcLoss } from './ctc_loss';

interface TorchCase {
  name: string;
  B: number;
  T: number;
  V: number;
  L: number;
  logits: number[];
  labels: number[];
  logitLengths: number[];
  labelLengths: number[];
  results: { reduction: 'none' | 'sum' | 'mean'; zeroInfinity: boolean; loss: number | string | (number | string)[]; grad: number[] | null }[];
}
const cases = (fixtures as { cases: TorchCase[] }).cases;
const num = (x: number | string) => (x === 'inf' ? Infinity : (x as number));

/** The reference's per-sample nll and gradient, reduced the way PyTorch reduces. */
function reduceReference(c: TorchCase, reduction: string, zeroInfinity: boolean) {
  const { nll, grad } = ctcLossReference({ ...c });
  const per = Array.from(nll, (v) => (zeroInfinity && !Number.isFinite(v) ? 0 : v));
  const g = grad!.slice();
  const TV = c.T * c.V;
  const scale = per.map((_, b) => (reduction === 'mean' ? 1 / Math.max(c.labelLengths[b], 1) / c.B : 1));
  for (let b = 0; b < c.B; b++) for (let i = 0; i < TV; i++) g[b * TV + i] = zeroInfinity && !Number.isFinite(nll[b]) ? 0 : g[b * TV + i] * scale[b];
  const loss = reduction === 'none' ? per : per.reduce((s, v, b) => s + v * scale[b], 0);
  return { loss, grad: g };
}

const relErr = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(b), 1e-12));
const maxAbs = (xs: ArrayLike<number>) => Array.from(xs).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('PyTorch fixtures', () => {
  for (const c of cases) {
    for (const r of c.results) {
      const label = `${c.name}: reduction=${r.reduction} zeroInfinity=${r.zeroInfinity}`;
      it(`float64 reference — ${label}`, () => {
        const mine = reduceReference(c, r.reduction, r.zeroInfinity);
        const want = Array.isArray(r.loss) ? r.loss.map(num) : [num(r.loss)];
        const got = Array.isArray(mine.loss) ? mine.loss : [mine.loss];
        want.forEach((w, i) => (Number.isFinite(w) ? expect(relErr(got[i], w)).toBeLessThan(1e-9) : expect(got[i]).toBe(w)));
        if (r.grad) {
          const scale = maxAbs(r.grad);
          r.grad.forEach((w, i) => expect(Math.abs(mine.grad[i] - w) / scale).toBeLessThan(1e-9));
        }
      });
      it(`ctcLoss op (cpu) — ${label}`, () => {
        const x = tf.tensor3d(c.logits, [c.B, c.T, c.V]);
        const labels = tf.tensor2d(c.labels, [c.B, c.L], 'int32');
        const xl = tf.tensor1d(c.logitLengths, 'int32');
        const yl = tf.tensor1d(c.labelLengths, 'int32');
        const f = (z: tf.Tensor) => tf.tidy(() => tf.sum(ctcLoss(z as tf.Tensor3D, labels, xl, yl, { reduction: r.reduction, zeroInfinity: r.zeroInfinity })));
        const loss = ctcLoss(x, labels, xl, yl, { reduction: r.reduction, zeroInfinity: r.zeroInfinity });
        const got = Array.from(loss.dataSync());
        const want = Array.isArray(r.loss) ? r.loss.map(num) : [num(r.loss)];
        want.forEach((w, i) => (Number.isFinite(w) ? expect(relErr(got[i], w)).toBeLessThan(1e-5) : expect(got[i]).toBe(w)));
        if (r.grad) {
          const g = tf.grad(f)(x);
          const gv = g.dataSync();
          const scale = maxAbs(r.grad);
          r.grad.forEach((w, i) => expect(Math.abs(gv[i] - w) / scale).toBeLessThan(1e-5));
          g.dispose();
        }
        tf.dispose([x, labels, xl, yl, loss]);
      });
    }
  }
});
