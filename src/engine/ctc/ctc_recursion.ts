// Program 2 of the fused CTC loss (see ctc_program.ts for all four and the buffer layout): the
// alpha and beta recursions, one workgroup per sample.

import type { WebGPUProgram } from '@tensorflow/tfjs-backend-webgpu';
import { alphaBetaLanes, ctcLayout, grid, maxGroupsInWorkgroupMemory, type CtcLayout } from './ctc_program';
import { WGSL_COMMON, workgroupReduction } from './ctc_wgsl';

/**
 * Output: the CtcLayout buffer, written as whole vec4s (WGSL lets a store to one component of a
 * vec4 rewrite the whole vec4, so no two threads share one). One workgroup per sample; threads
 * [0, H) run alpha, [H, 2H) beta (forward only: H threads, alpha). Beta is alpha run on the
 * reversed frames and the reversed extended label sequence, so both directions execute the same
 * code without branches; beta's states sit r = (4 - S_b mod 4) mod 4 places into its rows, so that
 * its groups of 4 are alpha's groups reversed and its table rows are stored as aligned vec4s too.
 * A thread owns groups of 4 consecutive states q = lane, lane + H, ...; a group's states s - 1 and
 * s - 2 come from its own vec4 and the one before it (rows start with a NEG pad group). Per group
 * the direction keeps the classes of its two label states and which states may skip from s - 2.
 *
 * Band: at step k only states reachable from the direction's start (s <= 2k + 1) that can still
 * reach its end (s >= S_b - 2(T_b - k)) are computed; the rest are NEG (their occupancy is 0, and
 * no state in the band depends on them), so full-length inputs do ~25-35% less work.
 *
 * Renormalisation: every stored row is shifted by the running sum of the previous rows' maxima,
 * so values stay O(1) in magnitude (un-normalised log-alphas reach -3000 at T = 1000, where
 * float32 spacing is 2.4e-4, and the gradient lost three digits to that). The maximum of row k
 * is reduced lazily: each thread publishes its own states' maximum at the end of step k, and
 * step k + 1 folds those partials after the barrier that ends step k — one barrier per step.
 * Occupancies normalise over the states of each frame, so the per-row shifts cancel there.
 */
export class CtcAlphaBetaProgram implements WebGPUProgram {
  variableNames = ['logits', 'lse', 'labels', 'logitLengths', 'labelLengths'];
  variableComponents = [1, 1, 1, 1, 1];
  outputComponent = 4;
  outputShape: number[];
  shaderKey: string;
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  workgroupSize: [number, number, number];
  uniforms = 'T : i32, V : i32, L : i32, blank : i32, rowsOffset : i32, infoOffset : i32, nllOffset : i32,';
  readonly lanes: number;
  readonly withGrad: boolean;
  readonly rowsInWorkgroup: boolean;
  readonly layout: CtcLayout;
  private readonly qMax: number;

  /**
   * workgroupStorageBytes: the device's maxComputeWorkgroupStorageSize (rows beyond it live in
   * global memory); emulated: the adapter is a CPU emulation (lane count).
   */
  constructor(
    B: number,
    T: number,
    L: number,
    withGrad: boolean,
    opts: { workgroupStorageBytes: number; emulated: boolean; forceGlobalRows?: boolean; lanes?: number },
  ) {
    const dirs = withGrad ? 2 : 1;
    const groups = Math.ceil((2 * L + 1) / 4);
    this.withGrad = withGrad;
    this.lanes = opts.lanes ?? alphaBetaLanes(groups, opts.emulated);
    // Shader variants per bucket of 8 groups (32 states), so that label lengths varying from batch
    // to batch compile few pipelines.
    this.qMax = Math.ceil(groups / 8) * 8;
    this.rowsInWorkgroup = !opts.forceGlobalRows && this.qMax <= maxGroupsInWorkgroupMemory(opts.workgroupStorageBytes, dirs, this.lanes);
    this.layout = ctcLayout(B, T, L, withGrad, !this.rowsInWorkgroup);
    this.outputShape = [this.layout.size];
    this.dispatchLayout = { x: [0] };
    this.dispatch = grid(B);
    this.workgroupSize = [dirs * this.lanes, 1, 1];
    // Everything the code depends on: the workgroup arrays' size only where rows live there.
    this.shaderKey = `ctclab_alphabeta_${withGrad ? 'grad' : 'fwd'}_${this.lanes}_${this.rowsInWorkgroup ? this.qMax : 'global'}`;
  }

  getUserCode(): string {
    const H = this.lanes;
    const DIRS = this.withGrad ? 2 : 1;
    const wgRows = this.rowsInWorkgroup;
    const QM = this.qMax;
    const red = workgroupReduction({ array: 'partial', count: H });
    // Rows (vec4 groups, pad group first) and per-group info: workgroup memory, or the rows and
    // info regions of the output.
    const row = (i: string) => (wgRows ? `rows[${i}]` : `result[uniforms.rowsOffset / 4 + ${i}]`);
    const setRow = (i: string, v: string) => `${row(i)} = ${v};`;
    const info = (i: string) => (wgRows ? `stInfo[${i}]` : `vec4<i32>(result[uniforms.infoOffset / 4 + ${i}])`);
    const setInfo = (i: string, v: string) =>
      wgRows ? `stInfo[${i}] = ${v};` : `result[uniforms.infoOffset / 4 + ${i}] = vec4<f32>(${v});  // exact below 2^24`;
    const barrier = wgRows ? 'workgroupBarrier();' : 'storageBarrier(); workgroupBarrier();';

    const storeTables = !this.withGrad
      ? ''
      : `
          // Tables for the gradient, at frame t in forward state order: alpha's group as it is;
          // beta's without the emission at t, reversed (its group q is alpha's group Q_b - 1 - q).
          let at = select(Qb - 1 - q, q, dir == 0);
          result[tab4 + t * R4 + at] = select((value - e).wzyx, value, dir == 0);`;

    return `
    ${WGSL_COMMON}
    ${wgRows ? `var<workgroup> rows : array<vec4<f32>, ${DIRS * 2 * (QM + 1)}>;` : ''}
    ${wgRows ? `var<workgroup> stInfo : array<vec4<i32>, ${DIRS * QM}>;` : ''}
    var<workgroup> steps : i32;
    ${red.declare(DIRS * 2 * H)}
    fn main(index : i32) {
      let b = linearWorkgroup();
      let tid = i32(localId.x);
      let dir = tid / ${H};
      let lane = tid % ${H};
      let T = uniforms.T;
      let V = uniforms.V;
      let L = uniforms.L;
      let blank = uniforms.blank;
      let S = 2 * L + 1;
      let Q = (S + 3) / 4;
      let R4 = Q + 1;  // table row stride in vec4s
      let Tb = clamp(logitLengths[b], 0, T);
      let Lb = clamp(labelLengths[b], 0, L);
      let Sb = 2 * Lb + 1;
      let Qb = (Sb + 3) / 4;
      // The direction's state j sits at index i = j + r of its rows.
      let r = select(0, (4 - Sb % 4) % 4, dir == 1);
      let tab4 = (b * 2 + dir) * T * R4;
      let rowStride = ${wgRows ? QM + 1 : 'Q + 1'};
      let rowBase = ${wgRows ? `dir * ${2 * (QM + 1)}` : `(b * ${DIRS} + dir) * 2 * (Q + 1)`};
      let partBase = dir * ${2 * H};
      let stBase = ${wgRows ? `dir * ${QM}` : `(b * ${DIRS} + dir) * Q`};

      // Set-up: per group, the classes of its two label states (alpha: components 1 and 3; beta:
      // 0 and 2) and a bit per state that may skip from s - 2; the start row (parity 1): the
      // direction's state 0 at 0, the rest NEG.
      for (var q = lane; q < Qb; q += ${H}) {
        var g = vec4<i32>(0);
        for (var c = 0; c < 4; c++) {
          let j = 4 * q + c - r;
          if (j >= 0 && j < Sb && j % 2 == 1) {
            var st = j;
            var st2 = j - 2;
            if (dir == 1) { st = Sb - 1 - j; st2 = st + 2; }
            let cl = labels[b * L + st / 2];
            var c2 = blank;
            if (j >= 2) { c2 = labels[b * L + st2 / 2]; }
            g[c / 2] = max(cl, 0);
            if (j >= 2 && cl != blank && cl != c2) { g.z = g.z | (1 << u32(c)); }
          }
        }
        ${setInfo('stBase + q', 'g')}
      }
      for (var q = lane; q <= Qb; q += ${H}) {
        ${setRow('rowBase + q', 'vec4<f32>(NEG)')}
        ${setRow('rowBase + rowStride + q', 'select(vec4<f32>(NEG), select(vec4<f32>(NEG), vec4<f32>(0.0), vec4<i32>(0, 1, 2, 3) == vec4<i32>(r)), q == 1)')}
      }
      ${red.publish(`partBase + ${H}`, 'lane', '0.0')}
      ${wgRows ? '' : 'storageBarrier();  // the start rows, written to global memory'}
      if (tid == 0) { steps = Tb; }
      let nSteps = workgroupUniformLoad(&steps);  // also the barrier after the set-up

      var logScale = 0.0;  // sum of the row maxima subtracted so far (same in every thread of a direction)
      for (var k = 0; k < nSteps; k++) {
        ${red.fold(`partBase + ((k + 1) & 1) * ${H}`, 'M')}
        logScale += M;
        var t = k;
        if (dir == 1) { t = Tb - 1 - k; }
        let xrow = (b * T + t) * V;
        let rowLse = lse[b * T + t];
        let eB = logits[xrow + blank] - rowLse;
        let prev = rowBase + ((k + 1) & 1) * rowStride;
        let cur = rowBase + (k & 1) * rowStride;
        // The band, as indices of this direction's rows.
        let lo = max(Sb - 2 * (Tb - k), 0) + r;
        let hi = min(2 * k + 1, Sb - 1) + r;
        var localMax = NEG;
        for (var q = lo / 4 + lane; q <= hi / 4; q += ${H}) {
          let p0 = ${row('prev + q + 1')};
          let pm = ${row('prev + q')};
          let g = ${info('stBase + q')};
          let pen = select(vec4<f32>(NEG), vec4<f32>(0.0), (vec4<i32>(g.z) & vec4<i32>(1, 2, 4, 8)) != vec4<i32>(0));
          let a0 = p0 - M;
          let a1 = vec4<f32>(pm.w, p0.x, p0.y, p0.z) - M;
          let a2 = vec4<f32>(pm.z, pm.w, p0.x, p0.y) + pen - M;
          let mx = max(max(a0, a1), a2);
          let e0 = logits[xrow + g.x] - rowLse;
          let e1 = logits[xrow + g.y] - rowLse;
          let e = select(vec4<f32>(e0, eB, e1, eB), vec4<f32>(eB, e0, eB, e1), dir == 0);
          let i = vec4<i32>(4 * q) + vec4<i32>(0, 1, 2, 3);
          let inBand = (i >= vec4<i32>(lo)) & (i <= vec4<i32>(hi));
          let value = select(vec4<f32>(NEG), mx + log(exp(a0 - mx) + exp(a1 - mx) + exp(a2 - mx)) + e, inBand);
          ${setRow('cur + q + 1', 'value')}
          localMax = max(localMax, max(max(value.x, value.y), max(value.z, value.w)));
          ${storeTables}
        }
        ${red.publish(`partBase + (k & 1) * ${H}`, 'lane', 'localMax')}
        ${barrier}
      }

      if (lane == 0) {
        // Both directions end in their own last two states (alpha: the last label and the final
        // blank; beta: the first label and the first blank). With no frames, the start row.
        let last = rowBase + ((nSteps + 1) & 1) * rowStride + 1;
        let i0 = Sb - 1 + r;
        let i1 = Sb + 2 + r;  // state Sb - 2, 4 places on; the pad group when Sb = 1 and r = 0
        let ll = lse2(${row('last + i0 / 4')}[i0 % 4], ${row('last + i1 / 4 - 1')}[i1 % 4]);
        var nll = -(ll + logScale);
        if (ll <= NEG_THRESHOLD) { nll = uniforms.INFINITY; }
        result[uniforms.nllOffset / 4 + b * ${DIRS} + dir] = vec4<f32>(nll, 0.0, 0.0, 0.0);
      }
    }`;
  }
}
