// The weight-averaging settings' rules, without TF.js (the page's form imports them through
// worker/api): EMA's decay (ema.ts) and the average of the N best (average.ts), their refusals,
// the memory budget, and the tensors an EMA run's checkpoint adds.

/** Largest N the schema accepts (ESPnet's recipes use 10). */
export const MAX_AVERAGE_BEST = 50;

/** Device memory the kept weight sets may take: 256 MiB. */
export const AVERAGE_BUDGET_BYTES = 256 * 2 ** 20;

/** Where an EMA run's checkpoint keeps the weights the optimizer updates: "train." + the parameter's name. */
export const TRAIN_WEIGHTS_PREFIX = 'train.';

/** A decay that keeps the average: 0 (off) or a number in (0, 1). */
export function emaDecayProblem(decay: number): string | null {
  if (!Number.isFinite(decay) || decay < 0 || decay >= 1) return `emaDecay: expected 0 (off) or a number in (0, 1), got ${decay}`;
  return null;
}

/** The tensors an EMA run's checkpoint adds, by name and shape (one per parameter). */
export function emaTensorShapes(params: Map<string, number[]>): Map<string, number[]> {
  return new Map([...params].map(([name, shape]) => [TRAIN_WEIGHTS_PREFIX + name, shape]));
}

/** Why a run cannot keep `n` weight sets of a model with `paramCount` float32 parameters (null: it can). */
export function averageBestProblem(n: number, paramCount: number): string | null {
  if (!Number.isInteger(n) || n < 0 || n > MAX_AVERAGE_BEST) return `averageBest: expected 0 (off) or an integer from 1 to ${MAX_AVERAGE_BEST}, got ${n}`;
  const bytes = n * paramCount * 4;
  if (bytes > AVERAGE_BUDGET_BYTES) {
    const fits = Math.floor(AVERAGE_BUDGET_BYTES / (paramCount * 4));
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    return `averageBest: ${n} weight sets of this model (${paramCount.toLocaleString('en')} parameters) take ${mb(bytes)} MB of GPU memory, over the ${mb(AVERAGE_BUDGET_BYTES)} MB budget; at most ${fits} fit`;
  }
  return null;
}
