// Tuning the LM weight α and word bonus β on val: a coarse grid, then rounds of local refinement
// (the 8 neighbours of the best point at half the previous step), every point's WER kept as the
// surface the page shows. The evaluation is a callback (decode val at (α, β), return its WER), so
// the worker pool can run it; points are memoised and never evaluated twice. Among equal WERs the
// smaller α wins, then the β nearer 0, then the smaller β: the choice does not depend on order.

export interface TuneSettings {
  alphas: number[]; // coarse grid of α (LM weight), [0, 0.25, 0.5, 0.75, 1, 1.5, 2]
  betas: number[]; // coarse grid of β (word bonus, nats per word), [-1, 0, 1, 2, 3]
  alphaStep: number; // first refinement step of α, 0.25 (halved each round)
  betaStep: number; // first refinement step of β, 0.5
  refineRounds: number; // 2
}

export const TUNE_DEFAULTS: TuneSettings = {
  alphas: [0, 0.25, 0.5, 0.75, 1, 1.5, 2],
  betas: [-1, 0, 1, 2, 3],
  alphaStep: 0.25,
  betaStep: 0.5,
  refineRounds: 2,
};

export interface TunePoint {
  alpha: number;
  beta: number;
  wer: number;
}

export interface TuneResult extends TunePoint {
  surface: TunePoint[]; // every evaluated point, in evaluation order
}

/** Whether a is a better choice than b. */
export function betterPoint(a: TunePoint, b: TunePoint): boolean {
  if (a.wer !== b.wer) return a.wer < b.wer;
  if (a.alpha !== b.alpha) return a.alpha < b.alpha;
  if (Math.abs(a.beta) !== Math.abs(b.beta)) return Math.abs(a.beta) < Math.abs(b.beta);
  return a.beta < b.beta;
}

const round = (x: number) => Math.round(x * 1e9) / 1e9;

export async function tuneAlphaBeta(
  evaluate: (alpha: number, beta: number) => number | Promise<number>,
  settings: Partial<TuneSettings> = {},
): Promise<TuneResult> {
  const s = { ...TUNE_DEFAULTS, ...settings };
  const surface: TunePoint[] = [];
  const seen = new Map<string, TunePoint>();
  let best: TunePoint | null = null;
  const at = async (alpha: number, beta: number) => {
    alpha = round(alpha);
    beta = round(beta);
    const key = `${alpha},${beta}`;
    if (alpha < 0 || seen.has(key)) return;
    const p = { alpha, beta, wer: await evaluate(alpha, beta) };
    seen.set(key, p);
    surface.push(p);
    if (!best || betterPoint(p, best)) best = p;
  };
  for (const a of s.alphas) for (const b of s.betas) await at(a, b);
  let da = s.alphaStep,
    db = s.betaStep;
  for (let r = 0; r < s.refineRounds; r++) {
    da /= 2;
    db /= 2;
    const c = best as TunePoint | null;
    if (!c) break;
    for (const i of [-1, 0, 1]) for (const j of [-1, 0, 1]) if (i || j) await at(c.alpha + i * da, c.beta + j * db);
  }
  if (!best) throw new Error('tuneAlphaBeta: the grid is empty');
  const b: TunePoint = best;
  return { alpha: b.alpha, beta: b.beta, wer: b.wer, surface };
}
