// CTC forced alignment: the single most probable path (Viterbi) through the CTC topology of a
// known label sequence, over one sample's log-probabilities. The max-product twin of the alpha
// recursion in ctc_reference.ts (same extended labels, same allowed transitions), in float64.
// torchaudio.functional.forced_align does the same; it was removed in torchaudio 2.9.
//
//   logProbs: [T, C] row-major log-probabilities (log_softmax output) of one sample
//   labels:   [L] class ids, none equal to `blank`
//   extended: l' = [blank, l1, blank, l2, ..., lL, blank], S = 2L + 1 states; state s is l'[s]
//   path:     per frame, the state (0..2L) and its class; collapses to exactly `labels`
//
// Ties (equal path scores, e.g. uniform outputs) are broken deterministically: backtracking from
// the last frame takes the largest state at every frame (decided last frame first), i.e. among
// equally good paths the one that enters every state as early as possible.

import { ctcMinFrames } from '../../lib/ctc_frames';

export interface ForcedAlignment {
  score: number; // log-probability of the best path: sum over frames of logProbs[t, path[t]]
  states: Int32Array; // [T] state of the extended label per frame (even = blank, 2k+1 = label k)
  path: Int32Array; // [T] class per frame
}

/** Thrown when no path exists (too few frames, or every path has probability zero). */
export class AlignmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AlignmentError';
  }
}

export function forcedAlign(logProbs: ArrayLike<number>, T: number, C: number, labels: ArrayLike<number>, blank = 0): ForcedAlignment {
  const L = labels.length;
  if (logProbs.length < T * C) throw new AlignmentError(`forcedAlign: logProbs has ${logProbs.length} values, [T ${T}, C ${C}] needs ${T * C}`);
  for (let k = 0; k < L; k++) {
    const c = labels[k];
    if (!Number.isInteger(c) || c < 0 || c >= C) throw new AlignmentError(`forcedAlign: label ${k} is class ${c}, outside 0..${C - 1}`);
    if (c === blank) throw new AlignmentError(`forcedAlign: label ${k} is the blank (class ${blank})`);
  }
  for (let i = 0; i < T * C; i++) {
    if (Number.isNaN(logProbs[i])) throw new AlignmentError(`forcedAlign: the log-probabilities hold NaN (frame ${Math.floor(i / C)}, class ${i % C})`);
  }
  const need = ctcMinFrames(labels);
  if (T < need) {
    throw new AlignmentError(
      `forcedAlign: ${L} labels${need > L ? ` with ${need - L} adjacent repeats` : ''} need at least ${need} frames, the sample has ${T}`,
    );
  }
  const S = 2 * L + 1;
  if (T === 0) return { score: 0, states: new Int32Array(0), path: new Int32Array(0) };
  const ext = new Int32Array(S);
  for (let s = 0; s < S; s++) ext[s] = s % 2 === 0 ? blank : labels[(s - 1) >> 1];
  // A state can only be reached by frame t if s <= 2t + 1, and can still reach the end if
  // s >= S - 2(T - t); the band keeps the work at T x (band width), not T x S.
  let prev = new Float64Array(S).fill(-Infinity);
  let cur = new Float64Array(S);
  const back = new Uint8Array(T * S); // 0: stayed, 1: from s-1, 2: from s-2 (skipped a blank)
  prev[0] = logProbs[ext[0]];
  if (S > 1) prev[1] = logProbs[ext[1]];
  for (let t = 1; t < T; t++) {
    cur.fill(-Infinity);
    const lo = Math.max(0, S - 2 * (T - t)),
      hi = Math.min(S - 1, 2 * t + 1);
    const row = t * C;
    for (let s = lo; s <= hi; s++) {
      // Candidates in order of preference on ties: stay (largest previous state first is s).
      let best = prev[s],
        from = 0;
      if (s >= 1 && prev[s - 1] > best) [best, from] = [prev[s - 1], 1];
      if (s >= 2 && ext[s] !== blank && ext[s] !== ext[s - 2] && prev[s - 2] > best) [best, from] = [prev[s - 2], 2];
      if (best === -Infinity) continue;
      cur[s] = best + logProbs[row + ext[s]];
      back[t * S + s] = from;
    }
    [prev, cur] = [cur, prev];
  }
  // End in the trailing blank or on the last label; ties go to the larger state (the blank).
  let s = S - 1;
  if (S > 1 && prev[S - 2] > prev[S - 1]) s = S - 2;
  const score = prev[s];
  if (score === -Infinity) {
    throw new AlignmentError(`forcedAlign: no path has a finite score (the labels need classes whose log-probability is -Infinity)`);
  }
  const states = new Int32Array(T),
    path = new Int32Array(T);
  for (let t = T - 1; t >= 0; t--) {
    states[t] = s;
    path[t] = ext[s];
    s -= back[t * S + s];
  }
  return { score, states, path };
}
