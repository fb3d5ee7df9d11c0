// Float64 reference of the distillation term (kd_loss.ts), written from the definition with no
// TF.js: per frame KL(p ‖ q), p = softmax(teacher/τ), q = softmax(student/τ) over the kept
// classes, × τ², averaged over each sample's valid frames. Tests compare the op against it.

export interface KdReferenceInput {
  student: ArrayLike<number>; // [B, T, C]
  teacher: ArrayLike<number>; // [B, T, C]
  lengths: ArrayLike<number>; // valid frames per sample (the rest is ignored)
  B: number;
  T: number;
  C: number;
  temperature: number;
  excludeBlank: boolean;
  blank?: number; // 0
}

/** Per-sample losses and the gradient of their sum w.r.t. the student, all float64. */
export function kdLossReference(r: KdReferenceInput): { perSample: Float64Array; grad: Float64Array } {
  const { B, T, C, temperature: tau } = r;
  const blank = r.blank ?? 0;
  const kept = Array.from({ length: C }, (_, c) => c).filter((c) => !(r.excludeBlank && c === blank));
  const perSample = new Float64Array(B);
  const grad = new Float64Array(B * T * C);
  const softmax = (x: ArrayLike<number>, o: number) => {
    const z = kept.map((c) => x[o + c] / tau);
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
    const logp = z.map((v) => v - lse);
    return { logp, p: logp.map(Math.exp) };
  };
  for (let b = 0; b < B; b++) {
    const n = r.lengths[b];
    if (n <= 0) continue;
    for (let t = 0; t < n; t++) {
      const o = (b * T + t) * C;
      const P = softmax(r.teacher, o),
        Q = softmax(r.student, o);
      let kl = 0;
      kept.forEach((_, k) => {
        if (P.p[k] > 0) kl += P.p[k] * (P.logp[k] - Q.logp[k]);
      });
      perSample[b] += (tau * tau * kl) / n;
      // d(τ²·KL)/ds_c = τ²·(q_c − p_c)/τ = τ·(q_c − p_c)
      kept.forEach((c, k) => (grad[o + c] = (tau * (Q.p[k] - P.p[k])) / n));
    }
  }
  return { perSample, grad };
}
