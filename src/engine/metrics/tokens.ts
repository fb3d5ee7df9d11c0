// Token-level facts of a reference/hypothesis alignment (the minimum-edit alignment wer.ts counts):
// which hypothesis tokens are correct, and which reference tokens were recognised as which.

import { alignWords } from '../../lib/align';

/** Per hypothesis token, in order: whether the alignment matches it to an equal reference token. */
export function correctMask<T>(ref: T[], hyp: T[]): boolean[] {
  const mask: boolean[] = [];
  for (const o of alignWords(ref, hyp)) if (o.op !== 'del') mask.push(o.op === 'ok');
  return mask;
}

/** Adds each substitution (reference token → hypothesis token) of one pair to `pairs`. */
export function countSubstitutions(ref: string[], hyp: string[], pairs: Map<string, number>): void {
  for (const o of alignWords(ref, hyp)) if (o.op === 'sub') pairs.set(`${o.ref}\u0000${o.hyp}`, (pairs.get(`${o.ref}\u0000${o.hyp}`) ?? 0) + 1);
}

/** The pairs as a list, most frequent first (ties by reference token, then hypothesis token). */
export function substitutionList(pairs: Map<string, number>): { ref: string; hyp: string; count: number }[] {
  return [...pairs]
    .map(([k, count]) => {
      const [ref, hyp] = k.split('\u0000');
      return { ref, hyp, count };
    })
    .sort((a, b) => b.count - a.count || (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : a.hyp < b.hyp ? -1 : 1));
}
