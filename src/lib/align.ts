// Word-level alignment of a reference and a hypothesis, for showing errors: each position is
// correct, a substitution, a deletion (reference word missing) or an insertion (extra word).
// wer.ts counts these operations.

export type AlignOp<T = string> = { op: 'ok'; ref: T; hyp: T } | { op: 'sub'; ref: T; hyp: T } | { op: 'del'; ref: T } | { op: 'ins'; hyp: T };

/** Minimum-edit alignment; ties prefer substitution (or match), then deletion. */
export function alignWords<T = string>(ref: T[], hyp: T[]): AlignOp<T>[] {
  const n = ref.length,
    m = hyp.length;
  const cost = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = 0; i <= n; i++) cost[i][0] = i;
  for (let j = 0; j <= m; j++) cost[0][j] = j;
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      cost[i][j] = Math.min(cost[i - 1][j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1), cost[i - 1][j] + 1, cost[i][j - 1] + 1);
    }
  }
  const ops: AlignOp<T>[] = [];
  let i = n,
    j = m;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0 && cost[i][j] === cost[i - 1][j - 1] + (ref[i - 1] === hyp[j - 1] ? 0 : 1)) {
      ops.push(ref[i - 1] === hyp[j - 1] ? { op: 'ok', ref: ref[i - 1], hyp: hyp[j - 1] } : { op: 'sub', ref: ref[i - 1], hyp: hyp[j - 1] });
      i--;
      j--;
    } else if (i > 0 && cost[i][j] === cost[i - 1][j] + 1) {
      ops.push({ op: 'del', ref: ref[i - 1] });
      i--;
    } else {
      ops.push({ op: 'ins', hyp: hyp[j - 1] });
      j--;
    }
  }
  return ops.reverse();
}
