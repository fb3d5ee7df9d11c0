// The fused WebGPU BiLSTM recurrence against the composed TF.js version, in real headless Chromium
// on its real WebGPU adapter (SwiftShader here): outputs and gradients within 1e-5 (relative to the
// largest value of each tensor), every output element written (NaN-poisoned buffers), batch
// independence, no leaked tensors; unequal lengths, H from 4 to 300.
import { test, expect } from '@playwright/test';
import type { LstmSelfTestResult } from '../src/engine/model/lstm_selftest';
import { kernelSelfTest } from './fixtures';

test('fused WebGPU BiLSTM equals the composed TF.js version (outputs and gradients, rel. error ≤ 1e-5)', async ({ page }) => {
  test.setTimeout(600_000); // SwiftShader: the composed reference runs ~70 kernels per step
  await kernelSelfTest(
    page,
    () => window.ctcLab.checkLstm(),
    6,
    (r: LstmSelfTestResult) => {
      const c = r.case;
      const what = `lens [${c.lens}]${c.padTo ? ` T${c.padTo}` : ''} Cin${c.Cin} H${c.H}`;
      const g = r.gradRelErr;
      console.log(
        `[lstm-kernel] ${what}: out ${r.outRelErr.toExponential(1)} grads x ${g.x.toExponential(1)} w_ih ${g.wIh.toExponential(1)} w_hh ${g.wHh.toExponential(1)} bias ${g.bias.toExponential(1)} alone ${r.aloneMaxDiff.toExponential(1)} dispatches ${r.dispatches.fused}/${r.dispatches.composed} ${r.ms.toFixed(0)} ms`,
      );
      expect.soft(r.outRelErr, what).toBeLessThanOrEqual(1e-5);
      for (const [k, v] of Object.entries(g)) expect.soft(v, `${what} grad ${k}`).toBeLessThanOrEqual(1e-5);
      expect.soft(r.aloneMaxDiff, what).toBeLessThanOrEqual(1e-5);
      expect.soft(r.unwritten, what).toBe(0);
      expect.soft(r.tensorsLeaked, what).toBe(0);
      // One dispatch per step and direction pair, forward and backward: far fewer than composed.
      expect.soft(r.dispatches.fused, what).toBeLessThan(r.dispatches.composed);
    },
  );
});
