// What the alignment view draws for one sample: the posteriorgram over output frames for the
// blank, the reference's tokens and the strongest competitors (every class the greedy path visits
// among them), the forced alignment (Viterbi path constrained to the reference) and the greedy
// path as row indices per frame, and the token spans.

import { AlignmentError, forcedAlign } from './forced_align';
import { tokenSpans, type TokenSpan } from './spans';

export interface ViewRow {
  label: string;
  classId: number;
  kind: 'blank' | 'reference' | 'competitor';
}

export interface AlignmentView {
  id: string;
  text: string;
  outFrames: number; // T'
  frames: number | null; // input frames
  rows: ViewRow[];
  posteriors: Float32Array; // [rows, T'] probabilities, row-major
  forcedRow: Int32Array | null; // [T'] row of the forced path at each frame; null when it cannot align
  forcedScore: number | null; // log-probability of the forced path
  alignError: string | null; // why there is no forced path (too few frames, unknown token)
  greedyRow: Int32Array; // [T'] row of the argmax class at each frame
  greedyText: string;
  spans: TokenSpan[];
}

export interface ClassInfo {
  classes: string[]; // C names, classes[blank] = '<blank>'
  blank: number;
  subsampling: number | null;
  frameShiftMs: number | null;
}

export function alignmentView(
  info: ClassInfo,
  s: { id: string; text: string; outFrames: number; frames: number | null; logProbs: ArrayBuffer | Float32Array },
  competitors = 5,
): AlignmentView {
  const C = info.classes.length,
    T = s.outFrames;
  const lp = s.logProbs instanceof Float32Array ? s.logProbs : new Float32Array(s.logProbs);
  const classOf = new Map(info.classes.map((t, c) => [t, c] as const).filter(([, c]) => c !== info.blank));
  const toks = s.text.split(' ');
  const ids = toks.map((t) => classOf.get(t));
  const argmax = new Int32Array(T);
  const peak = new Float64Array(C).fill(-Infinity);
  for (let t = 0; t < T; t++) {
    let b = 0;
    for (let c = 0; c < C; c++) {
      const x = lp[t * C + c];
      if (x > lp[t * C + b]) b = c;
      if (x > peak[c]) peak[c] = x;
    }
    argmax[t] = b;
  }
  const rows: ViewRow[] = [{ label: info.classes[info.blank], classId: info.blank, kind: 'blank' }];
  const shown = new Set([info.blank]);
  for (const c of ids) {
    if (c === undefined || shown.has(c)) continue;
    shown.add(c);
    rows.push({ label: info.classes[c], classId: c, kind: 'reference' });
  }
  const others = Array.from({ length: C }, (_, c) => c)
    .filter((c) => !shown.has(c))
    .sort((a, b) => peak[b] - peak[a] || a - b);
  const extra = new Set([...others.slice(0, competitors), ...Array.from(argmax).filter((c) => !shown.has(c))]);
  for (const c of others) if (extra.has(c)) rows.push({ label: info.classes[c], classId: c, kind: 'competitor' });
  const rowOf = new Map(rows.map((r, i) => [r.classId, i]));
  const posteriors = new Float32Array(rows.length * T);
  rows.forEach((r, i) => {
    for (let t = 0; t < T; t++) posteriors[i * T + t] = Math.exp(lp[t * C + r.classId]);
  });
  const greedyRow = Int32Array.from(argmax, (c) => rowOf.get(c)!);
  const greedy: number[] = [];
  argmax.forEach((c, t) => {
    if (c !== info.blank && (t === 0 || c !== argmax[t - 1])) greedy.push(c);
  });
  let forcedRow: Int32Array | null = null,
    forcedScore: number | null = null,
    alignError: string | null = null,
    spans: TokenSpan[] = [];
  const unknown = toks.filter((_, k) => ids[k] === undefined);
  if (unknown.length) alignError = `the reference has tokens that name no class: ${[...new Set(unknown)].map((t) => `'${t}'`).join(', ')}`;
  else {
    try {
      const a = forcedAlign(lp, T, C, ids as number[], info.blank);
      forcedRow = Int32Array.from(a.path, (c) => rowOf.get(c)!);
      forcedScore = a.score;
      spans = tokenSpans(a, lp, C, toks, { subsampling: info.subsampling ?? 1, frameShiftMs: info.frameShiftMs, inputFrames: s.frames });
    } catch (e) {
      if (!(e instanceof AlignmentError)) throw e;
      alignError = e.message.replace(/^forcedAlign: /, '');
    }
  }
  return {
    id: s.id,
    text: s.text,
    outFrames: T,
    frames: s.frames,
    rows,
    posteriors,
    forcedRow,
    forcedScore,
    alignError,
    greedyRow,
    greedyText: greedy.map((c) => info.classes[c]).join(' '),
    spans,
  };
}
