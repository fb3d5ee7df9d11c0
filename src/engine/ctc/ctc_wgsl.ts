// WGSL building blocks shared by the CTC programs (ctc_program.ts).
//
// -inf is represented by NEG = -1e30 inside the kernels: WGSL lets implementations assume that
// infinities are absent, so they appear only in the values written out (nll = +inf, NaN grads).

export const WGSL_COMMON = `
  const NEG = -1e30;
  const NEG_THRESHOLD = -1e29;
  fn linearWorkgroup() -> i32 {
    return i32(workgroupId.z * numWorkgroups.x * numWorkgroups.y + workgroupId.y * numWorkgroups.x + workgroupId.x);
  }
  fn lse2(a : f32, b : f32) -> f32 {
    let m = max(a, b);
    if (m <= NEG_THRESHOLD) { return NEG; }
    return m + log(exp(a - m) + exp(b - m));
  }
`;

/**
 * The one workgroup reduction of the CTC programs (WGSL cannot pass a workgroup array to a
 * function, so the code is generated here): the maximum of one f32 per thread. Each thread
 * publishes its value into a slot of a workgroup array; after one barrier every thread folds all
 * `count` slots itself, so a reduction costs one barrier, not log2(count) of them (on SwiftShader
 * a barrier switches every 4-wide SIMD group of the workgroup; on a GPU `count` is one or two
 * warps' worth of shared-memory reads).
 *
 * The barrier is not part of the snippets: the alpha/beta recursion publishes at the end of a
 * time step and folds after the barrier that ends the step anyway (lagged by one step).
 */
export function workgroupReduction(opts: { array: string; count: number }) {
  const { array, count } = opts;
  return {
    /** Declaration of the partials, `slots` of them (e.g. count × directions × parities). */
    declare: (slots: number) => `var<workgroup> ${array} : array<f32, ${slots}>;`,
    /** Stores `value` into slot `base + lane`. */
    publish: (base: string, lane: string, value: string) => `${array}[${base} + ${lane}] = ${value};`,
    /** Declares `out` as the maximum of slots base .. base + count - 1 (run after a barrier). */
    fold: (base: string, out: string) => `var ${out} = NEG;
           for (var r_ = 0; r_ < ${count}; r_++) { ${out} = max(${out}, ${array}[${base} + r_]); }`,
  };
}
