import { describe, expect, it } from 'vitest';
import { Rng } from '../../lib/rng';
import { ctcLossReference, logSoftmax64 } from '../ctc/ctc_reference';
import { forcedAlign } from './forced_align';
import { tokenSpans } from './spans';
import { alignmentsToCtm, alignmentsToJson } from './formats';

/**
 * Independent oracle: every class path of length T (C^T of them), kept when it collapses to the
 * labels; its states follow from the collapse. Best = highest score; ties: the largest state at
 * the last frame, then at the one before, ... (the documented tie-break).
 */
function bruteForce(lp: ArrayLike<number>, T: number, C: number, labels: number[], blank = 0) {
  let best: { score: number; states: number[]; path: number[] } | null = null;
  const path = new Array<number>(T).fill(0);
  for (let k = 0; k < C ** T; k++) {
    let r = k;
    for (let t = 0; t < T; t++) {
      path[t] = r % C;
      r = Math.floor(r / C);
    }
    const states: number[] = [];
    let emitted = 0,
      ok = true;
    for (let t = 0; t < T && ok; t++) {
      const c = path[t];
      if (c === blank) states.push(2 * emitted);
      else if (t > 0 && c === path[t - 1]) states.push(states[t - 1]);
      else if (emitted < labels.length && labels[emitted] === c) states.push(2 * ++emitted - 1);
      else ok = false;
    }
    if (!ok || emitted !== labels.length) continue;
    let score = 0;
    for (let t = 0; t < T; t++) score += lp[t * C + path[t]];
    const better = () => {
      if (!best || score > best.score) return true;
      if (score < best.score) return false;
      for (let t = T - 1; t >= 0; t--) if (states[t] !== best.states[t]) return states[t] > best.states[t];
      return false;
    };
    if (better()) best = { score, states: states.slice(), path: path.slice() };
  }
  return best;
}

const randomLogProbs = (rng: Rng, T: number, C: number, sharp = 2) =>
  logSoftmax64(
    Array.from({ length: T * C }, () => rng.normal() * sharp),
    T,
    C,
  );

describe('forcedAlign against brute-force enumeration of every valid path', () => {
  it('random tiny cases: the same best score and the same path (labels with and without repeats)', () => {
    const rng = new Rng(11);
    let checked = 0;
    for (let n = 0; n < 300; n++) {
      const T = rng.int(1, 7),
        C = rng.int(2, 4);
      const L = rng.int(0, Math.min(T, 3));
      const labels = Array.from({ length: L }, () => rng.int(1, C - 1));
      const lp = randomLogProbs(rng, T, C, rng.next() < 0.5 ? 0.5 : 3);
      const want = bruteForce(lp, T, C, labels);
      if (!want) {
        expect(() => forcedAlign(lp, T, C, labels)).toThrow(/need at least/);
        continue;
      }
      const got = forcedAlign(lp, T, C, labels);
      expect(got.score).toBe(want.score); // same sum in the same order: bit-identical
      expect(Array.from(got.states)).toEqual(want.states);
      expect(Array.from(got.path)).toEqual(want.path);
      checked++;
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('a blank other than class 0', () => {
    const rng = new Rng(3);
    for (let n = 0; n < 50; n++) {
      const T = rng.int(2, 6),
        C = 3,
        blank = 2;
      const labels = Array.from({ length: rng.int(1, 2) }, () => rng.int(0, 1));
      const lp = randomLogProbs(rng, T, C);
      const want = bruteForce(lp, T, C, labels, blank);
      if (!want) continue;
      const got = forcedAlign(lp, T, C, labels, blank);
      expect([got.score, Array.from(got.path)]).toEqual([want.score, want.path]);
    }
  });

  it('ties are broken deterministically: uniform outputs enter every state as early as possible', () => {
    // Every path of a uniform [5, 3] has the same score; the documented rule picks a b _ _ _.
    const T = 5,
      C = 3;
    const lp = new Float64Array(T * C).fill(-Math.log(C));
    const got = forcedAlign(lp, T, C, [1, 2]);
    const want = bruteForce(lp, T, C, [1, 2])!;
    expect(Array.from(got.path)).toEqual(want.path);
    expect(Array.from(got.path)).toEqual([1, 2, 0, 0, 0]);
    expect(Array.from(forcedAlign(lp, T, C, [1, 2]).path)).toEqual(Array.from(got.path)); // and again
  });

  it('repeated labels get a blank between them; exactly enough frames is the only path', () => {
    const C = 3;
    const lp = logSoftmax64(
      Array.from({ length: 3 * C }, (_, i) => Math.sin(i)),
      3,
      C,
    );
    const a = forcedAlign(lp, 3, C, [1, 1]);
    expect(Array.from(a.path)).toEqual([1, 0, 1]);
    expect(Array.from(a.states)).toEqual([1, 2, 3]);
    expect(a.score).toBeCloseTo(lp[1] + lp[3] + lp[7], 12);
  });

  it('empty labels: every frame is the blank; zero frames with no labels is the empty path', () => {
    const rng = new Rng(5);
    const lp = randomLogProbs(rng, 4, 3);
    const a = forcedAlign(lp, 4, 3, []);
    expect(Array.from(a.path)).toEqual([0, 0, 0, 0]);
    expect(a.score).toBeCloseTo(lp[0] + lp[3] + lp[6] + lp[9], 12);
    expect(forcedAlign([], 0, 3, [])).toMatchObject({ score: 0 });
  });

  it('infeasible input is refused with a clear error', () => {
    const lp = new Float64Array(3 * 3).fill(-Math.log(3));
    expect(() => forcedAlign(lp, 3, 3, [1, 1, 2])).toThrow('forcedAlign: 3 labels with 1 adjacent repeats need at least 4 frames, the sample has 3');
    expect(() => forcedAlign(lp, 2, 3, [1, 2, 1])).toThrow('forcedAlign: 3 labels need at least 3 frames, the sample has 2');
    expect(() => forcedAlign(lp, 3, 3, [1, 0])).toThrow('forcedAlign: label 1 is the blank (class 0)');
    expect(() => forcedAlign(lp, 3, 3, [3])).toThrow('forcedAlign: label 0 is class 3, outside 0..2');
    // Class 2 has probability 0 everywhere: no path has a finite score.
    const zero = Float64Array.from({ length: 9 }, (_, i) => (i % 3 === 2 ? -Infinity : Math.log(0.5)));
    expect(() => forcedAlign(zero, 3, 3, [2])).toThrow('forcedAlign: no path has a finite score');
    const nan = lp.slice();
    nan[4] = NaN;
    expect(() => forcedAlign(nan, 3, 3, [1])).toThrow('forcedAlign: the log-probabilities hold NaN (frame 1, class 1)');
  });

  it('the best path score is at most the CTC log-likelihood (the sum over all paths)', () => {
    const rng = new Rng(9);
    for (let n = 0; n < 100; n++) {
      const T = rng.int(2, 40),
        C = rng.int(2, 12);
      const L = rng.int(0, Math.floor(T / 2));
      const labels = Array.from({ length: L }, () => rng.int(1, C - 1));
      const lp = randomLogProbs(rng, T, C);
      const a = forcedAlign(lp, T, C, labels);
      const ll = -ctcLossReference({ logits: lp, labels, logitLengths: [T], labelLengths: [L], B: 1, T, V: C, L: Math.max(L, 1) }, false).nll[0];
      expect(a.score).toBeLessThanOrEqual(ll + 1e-12);
      // On very peaky outputs the best path holds almost all the probability.
    }
    const T = 6,
      C = 3;
    const peaky = logSoftmax64(
      [0, 9, 0, 9, 0, 0, 9, 0, 0, 0, 0, 9, 0, 0, 9, 9, 0, 0].map((x) => x * 3),
      T,
      C,
    );
    const ll = -ctcLossReference({ logits: peaky, labels: [1, 2], logitLengths: [T], labelLengths: [2], B: 1, T, V: C, L: 2 }, false).nll[0];
    expect(Math.abs(forcedAlign(peaky, T, C, [1, 2]).score - ll)).toBeLessThan(1e-9);
  });
});

describe('token spans and their files', () => {
  // Output frames: _ A A _ B B B _ (A = class 1, B = class 2), subsampling 4, 10 ms frames.
  const C = 3;
  const hot = [0, 1, 1, 0, 2, 2, 2, 0];
  const probs = hot.map((c) => [0, 1, 2].map((k) => (k === c ? 0.8 : 0.1)));
  const lp = Float64Array.from(probs.flat().map(Math.log));
  const a = forcedAlign(lp, 8, C, [1, 2]);

  it('start/end output frames, input frames × subsampling, seconds, mean posterior', () => {
    expect(Array.from(a.path)).toEqual(hot);
    const spans = tokenSpans(a, lp, C, ['A', 'B'], { subsampling: 4, frameShiftMs: 10, inputFrames: 30 });
    expect(spans).toEqual([
      { index: 0, token: 'A', classId: 1, start: 1, end: 3, inputStart: 4, inputEnd: 12, startSec: 0.04, endSec: 0.12, meanPosterior: expect.closeTo(0.8, 12) },
      {
        index: 1,
        token: 'B',
        classId: 2,
        start: 4,
        end: 7,
        inputStart: 16,
        inputEnd: 28,
        startSec: 0.16,
        endSec: 0.28,
        meanPosterior: expect.closeTo(0.8, 12),
      },
    ]);
    // The input-frame end is capped at the sample's frames; no frame shift → no seconds.
    const capped = tokenSpans(a, lp, C, ['A', 'B'], { subsampling: 4, frameShiftMs: null, inputFrames: 25 });
    expect(capped[1]).toMatchObject({ inputEnd: 25, startSec: null, endSec: null });
  });

  it('CTM in seconds, or in output frames with a comment when the frame shift is unknown; JSON round-trips', () => {
    const sample = { id: 'utt 1', text: 'A B', frames: 8, score: a.score, spans: tokenSpans(a, lp, C, ['A', 'B'], { subsampling: 4, frameShiftMs: 10 }) };
    expect(alignmentsToCtm({ subsampling: 4, frameShiftMs: 10, samples: [sample] })).toBe('utt_1 1 0.04 0.08 A 0.8000\nutt_1 1 0.16 0.12 B 0.8000\n');
    const frames = { ...sample, spans: tokenSpans(a, lp, C, ['A', 'B'], { subsampling: 4, frameShiftMs: null }) };
    expect(
      alignmentsToCtm({ subsampling: 4, frameShiftMs: null, samples: [frames] })
        .split('\n')
        .slice(0, 3),
    ).toEqual([';; times are output frames: the frame shift is unknown (set frame_shift_ms in outputs.json)', 'utt_1 1 1 2 A 0.8000', 'utt_1 1 4 3 B 0.8000']);
    const j = JSON.parse(alignmentsToJson({ subsampling: 4, frameShiftMs: 10, samples: [sample] }));
    expect(j).toMatchObject({
      format: 'ctc-lab-alignments/1',
      subsampling: 4,
      frameShiftMs: 10,
      samples: [
        {
          id: 'utt 1',
          spans: [
            { token: 'A', start: 1, end: 3 },
            { token: 'B', start: 4, end: 7 },
          ],
        },
      ],
    });
  });
});
