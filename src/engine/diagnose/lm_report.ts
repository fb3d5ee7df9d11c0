// What the decoding check with a language model reports (lm_decoding.ts measures it): the rows,
// the tuned weights and their surface, the verdict, the hypotheses; and the files and Markdown made
// from it. Types and text only (no decoding), so the page can import it through worker/api.ts.

import type { TunePoint } from '../decode/tune_lm';
import { pct } from './format';

export interface DecoderRow {
  decoder: 'greedy' | 'beam' | 'beam + LM';
  wer: number;
  S: number;
  D: number;
  I: number;
  N: number; // reference words
}

export interface LmHypothesis {
  id: string;
  reference: string;
  greedy: string;
  beam: string;
  lm: string; // beam + LM at the tuned α, β
}

export interface LmDecodingReport {
  lm: { id: string; name: string; order: number };
  samples: number;
  split: string; // which samples ('validation', 'training', 'val', 'all' …)
  beamWidth: number;
  rows: DecoderRow[]; // greedy, beam, beam + LM
  alpha: number; // tuned
  beta: number;
  surface: TunePoint[]; // every (α, β) evaluated, in evaluation order
  wordBonusOnly: TunePoint; // the best point with α = 0
  helps: boolean;
  verdict: string; // one sentence with the numbers
  hypotheses: LmHypothesis[];
}

/** The coarse grid of the surface as rows of α and columns of β (null where a point was not evaluated). */
export function surfaceGrid(r: Pick<LmDecodingReport, 'surface'>): { alphas: number[]; betas: number[]; wer: (number | null)[][] } {
  const alphas = [...new Set(r.surface.map((p) => p.alpha))].sort((a, b) => a - b);
  const betas = [...new Set(r.surface.map((p) => p.beta))].sort((a, b) => a - b);
  const at = new Map(r.surface.map((p) => [`${p.alpha},${p.beta}`, p.wer]));
  return { alphas, betas, wer: alphas.map((a) => betas.map((b) => at.get(`${a},${b}`) ?? null)) };
}

/** A hypotheses file: header `id\treference\thypothesis`, one row per sample (tabs and newlines in text become spaces). */
export function hypothesesTsv(r: LmDecodingReport, decoder: 'greedy' | 'beam' | 'lm'): string {
  const clean = (s: string) => s.replace(/[\t\r\n]+/g, ' ');
  return ['id\treference\thypothesis', ...r.hypotheses.map((h) => `${clean(h.id)}\t${clean(h.reference)}\t${clean(h[decoder])}`)].join('\n') + '\n';
}

/** The file name says the decoder: `<stem>-greedy.tsv`, `<stem>-beam10.tsv`, `<stem>-beam10-lm-a0.5-b1.tsv`. */
export function hypothesesFileName(r: LmDecodingReport, decoder: 'greedy' | 'beam' | 'lm', stem = 'hypotheses'): string {
  const safe = stem.replace(/[^\w.-]+/g, '_');
  if (decoder === 'greedy') return `${safe}-greedy.tsv`;
  if (decoder === 'beam') return `${safe}-beam${r.beamWidth}.tsv`;
  return `${safe}-beam${r.beamWidth}-lm-${r.lm.name.replace(/[^\w.-]+/g, '_')}-a${r.alpha}-b${r.beta}.tsv`;
}

/** The report's Markdown section. */
export function lmDecodingMarkdown(r: LmDecodingReport): string[] {
  const grid = surfaceGrid(r);
  return [
    `## Decoding with the language model ${r.lm.name} (order ${r.lm.order})`,
    '',
    `${r.verdict} On ${r.samples} ${r.split} samples, beam width ${r.beamWidth}; α and β tuned on these samples.`,
    '',
    '| decoder | WER | S | D | I | words |',
    '|---|---|---|---|---|---|',
    ...r.rows.map(
      (w) => `| ${w.decoder}${w.decoder === 'beam + LM' ? ` (α ${r.alpha}, β ${r.beta})` : ''} | ${pct(w.wer)} | ${w.S} | ${w.D} | ${w.I} | ${w.N} |`,
    ),
    '',
    'Val WER surface (coarse grid and refinement points):',
    '',
    `| α \\ β | ${grid.betas.join(' | ')} |`,
    `|---|${grid.betas.map(() => '---').join('|')}|`,
    ...grid.alphas.map((a, i) => `| ${a} | ${grid.wer[i].map((w) => (w === null ? '' : pct(w))).join(' | ')} |`),
    '',
  ];
}
