import { describe, expect, it } from 'vitest';
import { memoryOutputSource } from '../../data/source';
import type { OutputSampleRecord, OutputSetMeta } from '../../data/types';
import { alignmentView } from './view';
import { alignOutputSet } from './set';
import { alignmentsToCtm } from './formats';

// Classes: <blank> A B C D. Frames: _ A A _ B _ ; C is a strong competitor at frame 4.
const classes = ['<blank>', 'A', 'B', 'C', 'D'];
function lpOf(rows: number[][]): Float32Array {
  return Float32Array.from(rows.flat().map(Math.log));
}
const P = [
  [0.9, 0.025, 0.025, 0.025, 0.025],
  [0.1, 0.8, 0.05, 0.025, 0.025],
  [0.1, 0.7, 0.1, 0.05, 0.05],
  [0.8, 0.05, 0.05, 0.05, 0.05],
  [0.1, 0.05, 0.45, 0.35, 0.05],
  [0.9, 0.025, 0.025, 0.025, 0.025],
];
const info = { classes, blank: 0, subsampling: 4, frameShiftMs: 10 };

describe('alignment view of one sample', () => {
  it('rows: blank, the reference tokens, the strongest competitors; forced and greedy paths as rows; spans', () => {
    const v = alignmentView(info, { id: 'u', text: 'A B', outFrames: 6, frames: 24, logProbs: lpOf(P) }, 1);
    expect(v.rows.map((r) => [r.label, r.kind])).toEqual([
      ['<blank>', 'blank'],
      ['A', 'reference'],
      ['B', 'reference'],
      ['C', 'competitor'],
    ]);
    expect(v.posteriors[1 * 6 + 1]).toBeCloseTo(0.8, 6); // row A, frame 1
    expect(v.posteriors[3 * 6 + 4]).toBeCloseTo(0.35, 6); // row C, frame 4
    expect(Array.from(v.forcedRow!)).toEqual([0, 1, 1, 0, 2, 0]);
    expect(Array.from(v.greedyRow)).toEqual([0, 1, 1, 0, 2, 0]);
    expect(v.greedyText).toBe('A B');
    expect(v.spans.map((s) => [s.token, s.start, s.end, s.inputStart, s.inputEnd, s.startSec, s.endSec])).toEqual([
      ['A', 1, 3, 4, 12, 0.04, 0.12],
      ['B', 4, 5, 16, 20, 0.16, 0.2],
    ]);
    expect(v.spans[0].meanPosterior).toBeCloseTo(0.75, 6);
  });

  it('the greedy path is always drawable: a class it visits joins the rows even beyond the competitors asked for', () => {
    const Q = P.map((r) => r.slice());
    Q[4] = [0.1, 0.05, 0.2, 0.05, 0.6]; // D wins frame 4
    const v = alignmentView(info, { id: 'u', text: 'A B', outFrames: 6, frames: null, logProbs: lpOf(Q) }, 0);
    expect(v.rows.map((r) => r.label)).toEqual(['<blank>', 'A', 'B', 'D']);
    expect(v.greedyRow[4]).toBe(3);
    expect(v.greedyText).toBe('A D');
  });

  it('no forced path: too few frames, or a token without a class — said so, greedy still shown', () => {
    const short = alignmentView(info, { id: 'u', text: 'A B A B A B A', outFrames: 6, frames: null, logProbs: lpOf(P) });
    expect(short).toMatchObject({ forcedRow: null, alignError: '7 labels need at least 7 frames, the sample has 6', spans: [] });
    const oov = alignmentView(info, { id: 'u', text: 'A Z', outFrames: 6, frames: null, logProbs: lpOf(P) });
    expect(oov.alignError).toBe("the reference has tokens that name no class: 'Z'");
    expect(oov.greedyText).toBe('A B');
  });
});

describe('alignments of a whole output set', () => {
  it('aligns what it can, lists what it cannot with the reason; CTM in seconds', async () => {
    const rec = (id: string, text: string, index: number): OutputSampleRecord => ({
      setId: 's',
      index,
      id,
      text,
      split: null,
      frames: 24,
      outFrames: 6,
      logProbs: lpOf(P).buffer as ArrayBuffer,
    });
    const meta = { id: 's', name: 'set', classes, blank: 0, subsampling: 4, frameShiftMs: 10 } as OutputSetMeta;
    const src = memoryOutputSource([rec('u1', 'A B', 0), rec('u2', 'A Z', 1), rec('u3', 'A A A A', 2)]);
    const set = await alignOutputSet(meta, src, { chunk: 2 });
    expect(set.samples.map((s) => s.id)).toEqual(['u1']);
    expect(set.skipped).toEqual([
      { id: 'u2', reason: 'tokens that name no class: Z' },
      { id: 'u3', reason: '4 labels with 3 adjacent repeats need at least 7 frames, the sample has 6' },
    ]);
    expect(alignmentsToCtm(set)).toBe('u1 1 0.04 0.08 A 0.7500\nu1 1 0.16 0.04 B 0.4500\n');
    expect((await alignOutputSet(meta, src, { ids: ['u1'] })).samples).toHaveLength(1);
    await expect(alignOutputSet(meta, src, { ids: ['nope'] })).rejects.toThrow("output set 'set' has no sample 'nope'");
  });
});
