// Token spans of a forced alignment: where each reference token sits in time, in output frames,
// in input frames (× the model's time subsampling) and in seconds when the frame shift is known,
// with the mean posterior of the token over its frames (torchaudio's TokenSpan score).

import type { ForcedAlignment } from './forced_align';

export interface TokenSpan {
  index: number; // position in the reference, 0-based
  token: string;
  classId: number;
  start: number; // first output frame (inclusive)
  end: number; // output frame after the last (exclusive): the span is [start, end)
  inputStart: number; // start × subsampling
  inputEnd: number; // end × subsampling, capped at the sample's input frames when known
  startSec: number | null; // inputStart × frame shift; null when the frame shift is unknown
  endSec: number | null;
  meanPosterior: number; // mean over the span's frames of exp(logProbs[t, classId])
}

export interface TimeBase {
  subsampling: number; // input frames per output frame, ≥ 1
  frameShiftMs: number | null; // input frame shift; null when unknown
  inputFrames?: number | null; // the sample's input frames (caps the last span's end)
}

/** One span per reference token, in order. `tokens[k]` names label k of the alignment. */
export function tokenSpans(a: ForcedAlignment, logProbs: ArrayLike<number>, C: number, tokens: string[], time: TimeBase): TokenSpan[] {
  const T = a.states.length;
  const spans: TokenSpan[] = [];
  const sub = time.subsampling;
  const cap = time.inputFrames ?? Infinity;
  const sec = (f: number) => (time.frameShiftMs === null ? null : (f * time.frameShiftMs) / 1000);
  let t = 0;
  while (t < T) {
    const s = a.states[t];
    if (s % 2 === 0) {
      t++;
      continue;
    }
    const start = t;
    let sum = 0;
    for (; t < T && a.states[t] === s; t++) sum += Math.exp(logProbs[t * C + a.path[t]]);
    const k = (s - 1) >> 1;
    const inputStart = Math.min(start * sub, cap),
      inputEnd = Math.min(t * sub, cap);
    spans.push({
      index: k,
      token: tokens[k],
      classId: a.path[start],
      start,
      end: t,
      inputStart,
      inputEnd,
      startSec: sec(inputStart),
      endSec: sec(inputEnd),
      meanPosterior: sum / (t - start),
    });
  }
  return spans;
}
