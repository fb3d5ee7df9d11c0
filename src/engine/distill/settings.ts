// Distillation settings and what a run records about its teacher (plain data, no TF.js: the
// page's form reads the defaults and the one-line explanations from here).
// Defaults follow VAC's SeqKD (Min et al. 2021), which CorrNet and its successors reuse:
// τ = 8, blank left out of the KL, distillation weight 25, CTC weight 1.
// A checkpoint's `distillation` field holds a DistillRecord (validated by checkpoint/schema.ts).

import type { ModelConfig } from '../model/registry';

export interface DistillSettings {
  kdWeight: number; // weight of τ²·KL(teacher ‖ student); 25
  ctcWeight: number; // weight of the student's own CTC loss; 1
  temperature: number; // τ; 8
  excludeBlank: boolean; // leave the blank out of the KL (renormalise over the other classes); true
}

export const DISTILL_DEFAULTS: DistillSettings = { kdWeight: 25, ctcWeight: 1, temperature: 8, excludeBlank: true };

/** One line per setting, for the form. */
export const DISTILL_HELP: Record<keyof DistillSettings, string> = {
  kdWeight: 'Weight of the distillation term τ²·KL(teacher ‖ student); 0 trains on the transcripts alone.',
  ctcWeight: "Weight of the student's own CTC loss on the transcripts; 0 learns from the teacher's outputs alone.",
  temperature: "τ: both outputs are softened by dividing by τ, so the teacher's second choices count; the τ² factor keeps gradients the same size.",
  excludeBlank: "Leave the blank out of the KL and renormalise over the other classes, so the mostly-blank frames don't dominate (VAC's SeqKD).",
};

/** Where a run's teacher came from (recorded in the student's checkpoint metadata). */
export interface TeacherInfo {
  kind: 'checkpoint' | 'outputs'; // a stored lab checkpoint (run in the worker) or an imported model-output set
  id: string; // checkpoint or output-set id in this browser's storage
  name: string; // its file or set name, for people
  model?: ModelConfig; // checkpoint: its model config (preset, sizes)
  subsampling?: number;
  params?: number; // checkpoint: parameter count
  valWer?: number | null; // the teacher's own val WER when the run started
}

/** A distillation run as recorded in checkpoint metadata (`distillation`). */
export interface DistillRecord extends DistillSettings {
  teacher: TeacherInfo;
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
