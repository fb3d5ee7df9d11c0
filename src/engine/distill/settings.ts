// Distillation settings, teacher references and choices (plain data, no TF.js: the page's form
// reads the defaults and the one-line explanations from here).
// Defaults follow VAC's SeqKD (Min et al. 2021), which CorrNet and its successors reuse:
// τ = 8, blank left out of the KL, distillation weight 25, CTC weight 1.
// A checkpoint's `distillation` field holds a DistillationRecord (data/types.ts; validated by
// checkpoint/schema.ts).

import type { DistillationRecord, DistillSettings, TeacherRecord } from '../../data/types';
import type { TeacherSource } from './teacher';

export type { DistillationRecord, DistillSettings, TeacherRecord };

export const DISTILL_DEFAULTS: DistillSettings = { kdWeight: 25, ctcWeight: 1, temperature: 8, excludeBlank: true };

/** One line per setting, for the form. */
export const DISTILL_HELP: Record<keyof DistillSettings, string> = {
  kdWeight: 'Weight of the distillation term τ²·KL(teacher ‖ student); 0 trains on the transcripts alone.',
  ctcWeight: "Weight of the student's own CTC loss on the transcripts; 0 learns from the teacher's outputs alone.",
  temperature: "τ: both outputs are softened by dividing by τ, so the teacher's second choices count; the τ² factor keeps gradients the same size.",
  excludeBlank: "Leave the blank out of the KL and renormalise over the other classes, so the mostly-blank frames don't dominate (VAC's SeqKD).",
};

/** A teacher a run can learn from: a stored checkpoint or an imported model-output set (by id). */
export interface TeacherRef {
  kind: 'checkpoint' | 'outputs';
  id: string;
}

/**
 * A teacher and how to learn from it: the trainer's (T = TeacherSource, which the trainer owns and
 * disposes) or a new run's request (T = TeacherRef).
 */
export interface Distillation<T = TeacherSource> {
  teacher: T;
  settings: DistillSettings;
}

/** A teacher the selected dataset offers, as the form lists it. */
export interface TeacherChoice extends TeacherRef {
  label: string;
  preset: string | null; // checkpoints: the model preset
  subsampling: number | null; // output frames per input frame (an output set may not say)
  params: number | null; // checkpoints
  valWer: number | null; // a training checkpoint's best val WER, if it measured one (an overfit test's has none)
  problem: string | null; // why it cannot teach this dataset (listed, not selectable)
}

/** Problems with the settings, one sentence each (empty when usable). */
export function distillSettingsProblems(s: DistillSettings): string[] {
  const out: string[] = [];
  for (const k of ['kdWeight', 'ctcWeight'] as const) {
    if (!(Number.isFinite(s[k]) && s[k] >= 0)) out.push(`${k} must be a number ≥ 0, got ${s[k]}`);
  }
  if (!(Number.isFinite(s.temperature) && s.temperature > 0)) out.push(`temperature must be a number > 0, got ${s.temperature}`);
  if (s.kdWeight === 0 && s.ctcWeight === 0) out.push('kdWeight and ctcWeight are both 0: the loss would be 0');
  if (s.ctcWeight === 0 && s.excludeBlank && s.kdWeight > 0) {
    out.push('ctcWeight 0 with the blank excluded from the KL leaves the blank with no training signal: include the blank or give CTC a weight');
  }
  return out;
}
