// The diagnostics report: the checks plus what they were run on (a model and a dataset, or an
// imported model's outputs), as JSON and as Markdown.

import type { CheckResult, Status } from './checks';
import { lmDecodingMarkdown, type LmDecodingReport } from './lm_report';

export interface DiagnosticsReport {
  format: 'ctc-lab-diagnostics/1';
  createdAt: string;
  dataset: { id: string; name: string; trainSamples: number; valSamples: number; vocabSize: number; featureDim: number };
  model: { source: string; preset: string; parameters: number; subsampling: number; trainedSteps: number };
  backend: string;
  /** Set when the report is on imported model outputs (no model or features: `dataset` and `model`
   * then describe the references and the outputs as far as they are known). */
  outputs?: OutputsSubject;
  checks: CheckResult[];
  verdict: { worst: Status; failing: string[]; warnings: string[] };
  /** The decoding check with a language model (lm_decoding.ts), when one was chosen; not an alarm either way. */
  lm?: LmDecodingReport;
}

export interface OutputsSubject {
  id: string;
  name: string;
  model: string; // outputs.json 'model'
  samples: number; // samples diagnosed
  split: string; // which of the set's samples: 'all', 'train', 'val', 'test'
  classes: number; // C
  blank: number;
  subsampling: number | null;
  frameShiftMs: number | null;
  datasetName: string | null; // the stored dataset it is attached to
}

const ICON: Record<Status, string> = { ok: 'OK', warn: 'WARN', fail: 'FAIL', info: 'INFO' };
const RANK: Record<Status, number> = { ok: 0, info: 0, warn: 1, fail: 2 };

export function verdictOf(checks: CheckResult[]): DiagnosticsReport['verdict'] {
  const worst = checks.reduce<Status>((w, c) => (RANK[c.status] > RANK[w] ? c.status : w), 'ok');
  return {
    worst,
    failing: checks.filter((c) => c.status === 'fail').map((c) => c.title),
    warnings: checks.filter((c) => c.status === 'warn').map((c) => c.title),
  };
}

function fmt(v: unknown): string {
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : Math.abs(v) >= 0.01 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3);
  return String(v);
}

export function reportToMarkdown(r: DiagnosticsReport): string {
  const o = r.outputs;
  const out: string[] = [
    '# CTC Lab diagnostics report',
    '',
    `- Created: ${r.createdAt}`,
    ...(o
      ? [
          `- Model outputs: ${o.name}${o.model ? ` (${o.model})` : ''} — ${o.samples} samples (${o.split}), ${o.classes} classes, blank ${o.blank}, time subsampling ${o.subsampling ? `×${o.subsampling}` : 'unknown'}${o.frameShiftMs ? `, frame shift ${o.frameShiftMs} ms` : ''}${o.datasetName ? `; attached to dataset ${o.datasetName}` : ''}`,
          '- Checks on outputs and references only (no model, no features)',
        ]
      : [
          `- Dataset: ${r.dataset.name} (${r.dataset.trainSamples} train / ${r.dataset.valSamples} val samples, ${r.dataset.vocabSize} tokens, ${r.dataset.featureDim} feature dims)`,
          `- Model: ${r.model.source} — ${r.model.preset}, ${r.model.parameters} parameters, time subsampling ×${r.model.subsampling}, ${r.model.trainedSteps} training steps`,
        ]),
    `- Backend: ${r.backend}`,
    `- Verdict: **${ICON[r.verdict.worst]}**${r.verdict.failing.length ? ` — failing: ${r.verdict.failing.join(', ')}` : ''}${r.verdict.warnings.length ? ` — warnings: ${r.verdict.warnings.join(', ')}` : ''}`,
    '',
  ];
  for (const c of r.checks) {
    out.push(`## ${c.n}. ${c.title} — ${ICON[c.status]}`, '', c.summary, '');
    out.push('| measure | value |', '|---|---|');
    for (const [k, v] of Object.entries(c.numbers)) out.push(`| ${k} | ${fmt(v)} |`);
    out.push('');
    if (c.cause) out.push(`**Likely cause:** ${c.cause}`, '');
    if (c.fix) out.push(`**Fix:** ${c.fix}`, '');
  }
  if (r.lm) out.push(...lmDecodingMarkdown(r.lm));
  return out.join('\n');
}
