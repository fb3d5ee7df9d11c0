// Word (token) error rate with substitution / deletion / insertion counts, by Levenshtein
// alignment (align.ts). WER = (S + D + I) / N, N = number of reference tokens.

import { alignWords } from '../../lib/align';

export interface ErrorCounts {
  S: number;
  D: number;
  I: number;
  N: number;
}

/** Substitution / deletion / insertion counts of the minimum-edit alignment of one pair. */
export function editCounts<T>(ref: T[], hyp: T[]): ErrorCounts {
  const c = { S: 0, D: 0, I: 0, N: ref.length };
  for (const o of alignWords(ref, hyp)) {
    if (o.op === 'sub') c.S++;
    else if (o.op === 'del') c.D++;
    else if (o.op === 'ins') c.I++;
  }
  return c;
}

export function errorRate<T>(refs: T[][], hyps: T[][]): ErrorCounts & { rate: number } {
  if (refs.length !== hyps.length) throw new Error(`errorRate: ${refs.length} references but ${hyps.length} hypotheses`);
  const tot = { S: 0, D: 0, I: 0, N: 0 };
  refs.forEach((r, k) => {
    const c = editCounts(r, hyps[k]);
    tot.S += c.S;
    tot.D += c.D;
    tot.I += c.I;
    tot.N += c.N;
  });
  return { ...tot, rate: tot.N === 0 ? (tot.I > 0 ? 1 : 0) : (tot.S + tot.D + tot.I) / tot.N };
}

/** WER over space-separated token strings. */
export function wer(refs: string[], hyps: string[]) {
  const split = (s: string) => (s.trim() === '' ? [] : s.trim().split(/\s+/));
  return errorRate(refs.map(split), hyps.map(split));
}

/** CER over characters (spaces between tokens count as characters, as usual). */
export function cer(refs: string[], hyps: string[]) {
  return errorRate(
    refs.map((s) => [...s.trim()]),
    hyps.map((s) => [...s.trim()]),
  );
}
