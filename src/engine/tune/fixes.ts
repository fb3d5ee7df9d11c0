// "Try these fixes": the fixes a diagnostics report or the training doctor names, as a sweep's
// variations over a base run. Each check or alert (by its id) maps to the changes a sweep can try
// (SWEEP_SETTINGS); a fix no setting expresses (the data, the decoding, a code change) is listed as
// not sweepable, never silently dropped.

import type { TrainConfig } from '../train/config';
import type { Change, Variation } from './sweep_spec';

/** A fix as the report or the doctor names it: where it comes from (a check id or an alert id) and its text. */
export interface NamedFix {
  source: string; // 'early-stopping', 'plateau', 'blank-rate', …
  fix: string;
}

const lrDown: Variation = { name: 'lr ×⅓', changes: [{ setting: 'lr', scale: 1 / 3 }] };
const lrUp: Variation = { name: 'lr ×3', changes: [{ setting: 'lr', scale: 3 }] };
const patience: Variation = { name: 'patience ×2', changes: [{ setting: 'patience', scale: 2 }] };
const clip: Variation = { name: 'clip norm 1', changes: [{ setting: 'clipNorm', value: 1 }] };

/** The variations each check or alert's fix tries (a function of the base: e.g. ×4 subsampling only on a tcn at ×2). */
const MAP: Record<string, (b: TrainConfig) => Variation[]> = {
  // Doctor alerts (engine/diagnose/doctor.ts)
  'non-finite-loss': () => [lrDown, clip],
  'exploding-gradients': () => [lrDown, clip],
  'vanishing-gradients': () => [lrUp],
  'blank-collapse': () => [lrUp, lrDown],
  plateau: () => [lrUp, lrDown],
  'early-stop-high-wer': (b) => (b.patience > 0 ? [patience, lrUp] : [lrUp]),
  'patience-paused': (b) => (b.patience > 0 ? [patience] : []),
  'forecast-level-off': (b) => [lrUp, lrDown, ...regularise(b)],
  'no-generalisation': (b) => regularise(b),
  // Diagnostics checks (engine/diagnose/checks.ts, run_checks.ts, generalisation.ts)
  'blank-rate': () => [lrUp, lrDown],
  gradients: () => [lrUp, lrDown, clip],
  loss: () => [lrDown],
  'initial-loss': () => [lrDown],
  'early-stopping': (b) => (b.patience > 0 ? [patience] : []),
  overfit: (b) => (b.patience > 0 ? [patience] : []),
  generalisation: (b) => regularise(b),
  feasibility: (b) => (b.preset === 'tcn' && b.subsampling === 4 ? [{ name: '×2 subsampling', changes: [{ setting: 'subsampling', value: 2 }] }] : []),
};

/** More regularisation than the base: dropout up, AdamW weight decay, a tcn's ×4 subsampling. */
function regularise(b: TrainConfig): Variation[] {
  const out: Variation[] = [];
  const d = Math.round(Math.min(b.dropout + 0.1, 0.5) * 100) / 100;
  if (d > b.dropout) out.push({ name: `dropout ${d}`, changes: [{ setting: 'dropout', value: d }] });
  if (b.weightDecay === 0 || b.optimizer === 'adam') {
    const changes: Change[] = [{ setting: 'weightDecay', value: b.weightDecay || 1e-4 }];
    if (b.optimizer === 'adam') changes.unshift({ setting: 'optimizer', value: 'adamw' });
    out.push({ name: `AdamW, weight decay ${b.weightDecay || 1e-4}`, changes });
  }
  if (b.preset === 'tcn' && b.subsampling === 2) out.push({ name: '×4 subsampling', changes: [{ setting: 'subsampling', value: 4 }] });
  return out;
}

/**
 * The sweep "Try these fixes" builds: the variations the fixes name (each once, in the order
 * named), and the fixes no sweep setting expresses. A fix whose changes the base already has (e.g.
 * patience ×2 with patience off) is not sweepable either.
 */
export function sweepFromFixes(fixes: NamedFix[], base: TrainConfig): { variations: Variation[]; notSweepable: NamedFix[] } {
  const variations: Variation[] = [];
  const notSweepable: NamedFix[] = [];
  for (const f of fixes) {
    const vs = MAP[f.source]?.(base) ?? [];
    if (!vs.length) notSweepable.push(f);
    for (const v of vs) if (!variations.some((x) => x.name === v.name)) variations.push(v);
  }
  return { variations, notSweepable };
}
