// The fused WebGPU ops of the transformer and tcn presets (model/fused_program.ts) against the
// composed TF.js ops they replace, in real headless Chromium on its real WebGPU adapter
// (SwiftShader here): layer norm, the scaled and masked softmax, the residual add with dropout and
// mask, im2col, and a tiny transformer and tcn trained one step fused against composed. Outputs
// and every gradient within 1e-5 relative to the largest value of each tensor, no leaked tensors,
// fewer dispatches than composed.
// Under 30 s on SwiftShader (2 cores).
import { test, expect } from '@playwright/test';
import type { FusedSelfTestResult } from '../src/engine/model/fused_selftest';
import { describeFusedCase, FUSED_SELFTEST_CASES } from '../src/engine/model/fused_selftest';
import { kernelSelfTest } from './fixtures';

test('fused WebGPU ops of the transformer and tcn equal the composed TF.js ops (outputs and gradients, rel. error ≤ 1e-5)', async ({ page }) => {
  test.setTimeout(180_000);
  await kernelSelfTest(
    page,
    () => window.ctcLab.checkFused(),
    FUSED_SELFTEST_CASES.length,
    (r: FusedSelfTestResult) => {
      const what = describeFusedCase(r.case);
      const worst = Math.max(...r.gradRelErr);
      console.log(
        `[kernels] ${what}: out ${r.outRelErr.toExponential(1)} grads ≤ ${worst.toExponential(1)} dispatches ${r.dispatches.fused}/${r.dispatches.composed} ${r.ms.toFixed(0)} ms`,
      );
      expect.soft(r.outRelErr, what).toBeLessThanOrEqual(1e-5);
      r.gradRelErr.forEach((g, i) => expect.soft(g, `${what} gradient ${i}`).toBeLessThanOrEqual(1e-5));
      expect.soft(r.tensorsLeaked, what).toBe(0);
      // Never more dispatches than composed; fewer wherever the fused op replaces a chain (a plain
      // residual add, no dropout and no mask, is one dispatch either way).
      const plainAdd = r.case.op === 'residual' && r.case.rate === 0 && !r.case.masked;
      if (plainAdd) expect.soft(r.dispatches.fused, what).toBeLessThanOrEqual(r.dispatches.composed);
      else expect.soft(r.dispatches.fused, what).toBeLessThan(r.dispatches.composed);
    },
  );
});
