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
  fn lse3(a : f32, b : f32, c : f32) -> f32 {
    let m = max(max(a, b), c);
    if (m <= NEG_THRESHOLD) { return NEG; }
    return m + log(exp(a - m) + exp(b - m) + exp(c - m));
  }
  // Online log-sum-exp: folds x into the pair (max, sum of exp(. - max)); NEG values are skipped.
  fn lseFold(acc : vec2<f32>, x : f32) -> vec2<f32> {
    if (x <= NEG_THRESHOLD) { return acc; }
    if (x > acc.x) { return vec2<f32>(x, acc.y * exp(acc.x - x) + 1.0); }
    return vec2<f32>(acc.x, acc.y + exp(x - acc.x));
  }
  // Merges two online log-sum-exp pairs.
  fn lseMerge(a : vec2<f32>, b : vec2<f32>) -> vec2<f32> {
    let m = max(a.x, b.x);
    if (m <= NEG_THRESHOLD) { return vec2<f32>(NEG, 0.0); }
    return vec2<f32>(m, a.y * exp(a.x - m) + b.y * exp(b.x - m));
  }
`;

/**
 * The one workgroup reduction of the CTC programs (WGSL cannot pass a workgroup array to a
 * function, so the code is generated here). Each thread publishes its partial into a slot of a
 * workgroup array; after one barrier every thread folds all `count` slots itself, so a reduction
 * costs one barrier, not log2(count) of them (on SwiftShader a barrier switches every SIMD group
 * of the workgroup; on a GPU `count` is one or two warps' worth of shared-memory reads).
 *
 * The barrier is not part of the snippets: the alpha/beta recursion publishes at the end of a
 * time step and folds after the barrier that ends the step anyway (lagged by one step).
 *
 *   kind 'max': partials are f32, the fold is their maximum.
 *   kind 'lse': partials are vec2<f32> (max, sum of exp) pairs from lseFold, merged with lseMerge.
 */
export function workgroupReduction(opts: { array: string; kind: 'max' | 'lse'; count: number }) {
  const { array, kind, count } = opts;
  const type = kind === 'max' ? 'f32' : 'vec2<f32>';
  return {
    /** Declaration of the partials, `slots` of them (e.g. count × directions × parities). */
    declare: (slots: number) => `var<workgroup> ${array} : array<${type}, ${slots}>;`,
    /** Stores `value` into slot `base + lane`. */
    publish: (base: string, lane: string, value: string) => `${array}[${base} + ${lane}] = ${value};`,
    /** Declares `out` as the fold of slots base .. base + count - 1 (run after a barrier). */
    fold: (base: string, out: string) =>
      kind === 'max'
        ? `var ${out} = NEG;
           for (var r_ = 0; r_ < ${count}; r_++) { ${out} = max(${out}, ${array}[${base} + r_]); }`
        : `var ${out} = vec2<f32>(NEG, 0.0);
           for (var r_ = 0; r_ < ${count}; r_++) { ${out} = lseMerge(${out}, ${array}[${base} + r_]); }`,
  };
}
