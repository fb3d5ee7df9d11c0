// Word (token) error rate with substitution / deletion / insertion counts, by Levenshtein
// alignment. WER = (S + D + I) / N, N = number of reference tokens.

export interface ErrorCounts {
  S: number;
  D: number;
  I: number;
  N: number;
}

/** Minimum-edit alignment of one pair; ties prefer substitution, then deletion. */
export function editCounts<T>(ref: T[], hyp: T[]): ErrorCounts {
  const n = ref.length, m = hyp.length;
  // cost[i][j] for ref[:i] vs hyp[:j]
  const cost = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = 0; i <= n; i++) cost[i][0] = i;
  for (let j = 0; j <= m; j++) cost[0][j] = j;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      const sub = cost[i - 1][j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      cost[i][j] = Math.min(sub, cost[i - 1][j] + 1, cost[i][j - 1] + 1);
    }
  }
  let i = n, j = m, S = 0, D = 0, I = 0;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && cost[i][j] === cost[i - 1][j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1)) {
      if (ref[i - 1] !== hyp[j - 1]) S++;
      i--; j--;
    } else if (i > 0 && cost[i][j] === cost[i - 1][j] + 1) {
      D++; i--;
    } else {
      I++; j--;
    }
  }
  return { S, D, I, N: n };
}

export function errorRate<T>(refs: T[][], hyps: T[][]): ErrorCounts & { rate: number } {
  if (refs.length !== hyps.length) throw new Error(`errorRate: ${refs.length} references but ${hyps.length} hypotheses`);
  const tot = { S: 0, D: 0, I: 0, N: 0 };
  refs.forEach((r, k) => {
    const c = editCounts(r, hyps[k]);
    tot.S += c.S; tot.D += c.D; tot.I += c.I; tot.N += c.N;
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
  return errorRate(refs.map((s) => [...s.trim()]), hyps.map((s) => [...s.trim()]));
}
