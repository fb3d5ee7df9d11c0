// Diagnostics check 4, gradients: judged by the step the optimiser and clipping would take
// (update/weight ratio per parameter), a norm that keeps growing, and non-finite values, not by
// the raw norm alone (issue #11's calibration; see checks.ts for the other checks).

import type { CheckResult } from './checks';
import { sci } from './format';

export interface ParamGrad {
  name: string;
  norm: number; // gradient norm of the parameter (before clipping)
  weightNorm?: number; // the parameter's own norm
  size?: number; // elements
}

/** How the gradients are used: the optimiser, its learning rate and clipping. */
export interface GradContext {
  optimizer: 'adam' | 'adamw' | 'sgd';
  lr: number;
  clipNorm: number; // global-norm clipping, 0 = off
  history?: number[]; // global gradient norm per epoch so far (a checkpoint's history), oldest first
}

/** Parameters smaller than this (biases, normalisation gains) are not judged by their update
 * ratio: they start at or near 0, so any step is large next to them. */
export const MIN_JUDGED_SIZE = 256;

/** Update-to-weight ratio of the step the optimiser would take with this gradient: Adam's first
 * step moves each element by about lr·g/(|g| + eps) (scale-free: clipping does not change it);
 * SGD's by lr × the clipped gradient. Null for parameters it does not judge. */
export function updateRatio(g: ParamGrad, ctx: GradContext, globalNorm: number): number | null {
  if (!g.weightNorm || !g.size || g.size < MIN_JUDGED_SIZE || !Number.isFinite(g.norm)) return null;
  const scale = ctx.clipNorm > 0 && globalNorm > ctx.clipNorm ? ctx.clipNorm / globalNorm : 1;
  if (ctx.optimizer === 'sgd') return (ctx.lr * scale * g.norm) / g.weightNorm;
  const rms = (scale * g.norm) / Math.sqrt(g.size);
  return (ctx.lr * Math.sqrt(g.size) * (rms / (rms + 1e-8))) / g.weightNorm;
}

/** A global norm that keeps growing: rising every epoch over the last `window`, ×10 overall. */
export function normKeepsGrowing(history: number[], window = 5): boolean {
  if (history.length < window) return false;
  const w = history.slice(-window);
  return w.every(Number.isFinite) && w.every((x, i) => i === 0 || x > w[i - 1]) && w[w.length - 1] >= 10 * w[0];
}

export type GradBand = 'vanishing' | 'low' | 'healthy' | 'high' | 'exploding' | 'non-finite';
export function gradBand(norm: number): GradBand {
  if (!Number.isFinite(norm)) return 'non-finite';
  if (norm < 1e-7) return 'vanishing';
  if (norm < 1e-4) return 'low';
  if (norm <= 1e-2) return 'healthy';
  if (norm <= 1e2) return 'high';
  return 'exploding';
}

// 4. Gradient flow: per-parameter gradient norms on one batch, judged for the optimiser and
// clipping in use. A large raw norm is not a problem in itself: clipping bounds the step, and
// Adam's step is about the learning rate whatever the gradient's size. What is: non-finite
// gradients, none reaching a parameter, a step larger than the weights it changes, or (in a
// checkpoint's history) a norm that keeps growing. Without a context only the first two count.
export function checkGradients(grads: ParamGrad[], ctx?: GradContext): CheckResult {
  const global = Math.sqrt(grads.reduce((s, g) => s + g.norm * g.norm, 0));
  const bands = grads.map((g) => ({ ...g, band: gradBand(g.norm), updateRatio: ctx ? updateRatio(g, ctx, global) : null }));
  const count = (b: GradBand) => bands.filter((x) => x.band === b).length;
  const vanishing = bands.filter((x) => x.band === 'vanishing'),
    nonFinite = bands.filter((x) => x.band === 'non-finite');
  const big = bands.filter((x) => x.updateRatio !== null && x.updateRatio > 1);
  const large = bands.filter((x) => x.updateRatio !== null && x.updateRatio > 0.3 && x.updateRatio <= 1);
  const ratios = bands.map((x) => x.updateRatio).filter((r): r is number => r !== null);
  const maxRatio = ratios.length ? Math.max(...ratios) : null;
  const worst = maxRatio !== null ? bands.find((x) => x.updateRatio === maxRatio)!.name : null;
  const growing = ctx?.history ? normKeepsGrowing(ctx.history) : false;
  const clipped = !!ctx && ctx.clipNorm > 0;
  const names = (xs: { name: string }[]) => xs.map((x) => x.name).join(', ');
  const causes: string[] = [];
  if (nonFinite.length) causes.push(`non-finite gradients in ${names(nonFinite)}: a NaN/Inf in the inputs or a diverged model`);
  if (vanishing.length) causes.push(`no gradient reaches ${names(vanishing)} (dead ReLUs, a detached layer, or saturated activations)`);
  if (big.length) {
    causes.push(
      `a step would change ${names(big)} by more than ${big.length > 1 ? 'their' : 'its'} own size (update/weight up to ${sci(maxRatio!)} with ${ctx!.optimizer} at lr ${sci(ctx!.lr)}${ctx!.optimizer === 'sgd' ? (clipped ? `, clipped to ${ctx!.clipNorm}` : ', no clipping') : ''}): the learning rate is too high${ctx!.optimizer === 'sgd' && !clipped ? ' for gradients of this size (exploding steps)' : ''}`,
    );
  }
  if (growing) {
    const h = ctx!.history!.slice(-5);
    causes.push(
      `the global gradient norm keeps growing (${h.map(sci).join(' → ')} over the last 5 epochs): training is heading for divergence${clipped ? ', which clipping only postpones' : ''}`,
    );
  }
  const fail = nonFinite.length > 0 || vanishing.length > 0 || big.length > 0 || (growing && !clipped);
  const warn = !fail && (growing || large.length > 0);
  if (warn && large.length && !growing)
    causes.push(
      `large steps: ${names(large)} would change by ${sci(Math.max(...large.map((x) => x.updateRatio!)))} of ${large.length > 1 ? 'their' : 'its'} size in one update (warmup helps; lower the learning rate if the loss jumps)`,
    );
  const how = ctx
    ? `${ctx.optimizer} at lr ${sci(ctx.lr)}, ${clipped ? `clipped by global norm to ${ctx.clipNorm}${global > ctx.clipNorm ? ' (this batch is clipped)' : ''}` : 'no clipping'}; largest update/weight ratio ${maxRatio === null ? 'n/a' : `${sci(maxRatio)} (${worst})`}`
    : 'optimiser unknown';
  return {
    n: 4,
    id: 'gradients',
    title: 'Gradient flow',
    status: fail ? 'fail' : warn ? 'warn' : 'ok',
    summary: `global norm ${sci(global)}; ${how}; ${grads.length} parameters: ${vanishing.length} vanishing (< 1e-7), ${nonFinite.length} non-finite${growing ? '; the norm keeps growing' : ''}`,
    numbers: {
      globalNorm: global,
      parameters: grads.length,
      vanishing: vanishing.length,
      nonFinite: nonFinite.length,
      exploding: big.length,
      maxUpdateRatio: maxRatio,
      optimizer: ctx?.optimizer ?? null,
      lr: ctx?.lr ?? null,
      clipNorm: ctx?.clipNorm ?? null,
      growing,
      healthy: count('healthy'),
      low: count('low'),
      high: count('high'),
    },
    cause: causes.length ? causes.join('; ') + '.' : '',
    fix:
      fail || warn
        ? [
            nonFinite.length && 'check the dataset for NaN/Inf and resume from an earlier checkpoint',
            vanishing.length && 'check that every layer is connected to the loss and initialised',
            (big.length || growing || large.length) && `lower the learning rate${clipped ? '' : ' and clip gradients by global norm (e.g. 5)'}`,
          ]
            .filter(Boolean)
            .join('; ')
            .replace(/^./, (c) => c.toUpperCase()) + '.'
        : '',
    details: bands,
  };
}
