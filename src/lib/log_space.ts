// Log-space arithmetic over a row of a flat [rows, n] array, in float64: the data layer's
// logits → log-probabilities conversion and the engine's float64 CTC reference share it.

/**
 * log Σ exp(x[from + i]) for i < n, shifted by the row's maximum so nothing overflows; -Infinity
 * for a row of -Infinity (every class has probability 0). NaN or +Infinity give NaN.
 */
export function logSumExp(x: ArrayLike<number>, from: number, n: number): number {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, x[from + i]);
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[from + i] - m);
  return m + Math.log(s);
}
