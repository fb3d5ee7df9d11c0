import { describe, expect, it } from 'vitest';
import { memoryOutputSource } from '../../data/source';
import type { OutputSampleRecord, OutputSetMeta } from '../../data/types';
import { compareDecodes, compareOutputSets } from './compare';

describe('comparing two models on the same samples', () => {
  it('WER of each, the winner per sample, disagreements first (hand-worked)', () => {
    const c = compareDecodes(
      ['epoch 10', 'epoch 50'],
      [
        { id: 'a', ref: 'x y z', hypA: 'x y', hypB: 'x y z' }, // A deletes z: 1/3; B right
        { id: 'b', ref: 'x', hypA: 'x', hypB: 'x' }, // tie, agree
        { id: 'c', ref: 'y z', hypA: 'y z', hypB: 'y x q' }, // B: 1 sub + 1 ins = 2/2
      ],
    );
    expect(c.a).toMatchObject({ name: 'epoch 10', S: 0, D: 1, I: 0, N: 6 });
    expect(c.a.wer).toBeCloseTo(1 / 6, 12);
    expect(c.b).toMatchObject({ S: 1, D: 0, I: 1, N: 6 });
    expect([c.aWins, c.bWins, c.ties, c.disagreements]).toEqual([1, 1, 1, 2]);
    expect(c.rows.map((r) => [r.id, r.winner])).toEqual([
      ['c', 'a'],
      ['a', 'b'],
      ['b', 'tie'],
    ]);
  });

  /** One-hot log-probabilities for a class path over classes [<blank>, A, B]. */
  function sample(id: string, text: string, path: number[], index: number): OutputSampleRecord {
    const lp = new Float32Array(path.length * 3).fill(Math.log(0.05));
    path.forEach((c, t) => (lp[t * 3 + c] = Math.log(0.9)));
    return { setId: 's', index, id, text, split: null, frames: null, outFrames: path.length, logProbs: lp.buffer };
  }
  const meta = (name: string, n: number): OutputSetMeta => ({
    id: name,
    name,
    source: 'import',
    createdAt: 0,
    numSamples: n,
    counts: { train: 0, val: 0, test: 0, none: n },
    classes: ['<blank>', 'A', 'B'],
    blank: 0,
    kind: { declared: 'log_probs', detected: { log_probs: n, logits: 0, probs: 0 }, lseMin: 0, lseMax: 0 },
    subsampling: null,
    subsamplingSource: null,
    frameShiftMs: null,
    model: '',
    outFrames: { min: 1, mean: 1, max: 1 },
    bytes: 0,
    datasetId: null,
    datasetName: null,
    nonFinite: [],
  });

  it('output sets matched by id (extra ids counted, not compared); differing references refused', async () => {
    const A = [sample('u1', 'A B', [1, 0, 2], 0), sample('u2', 'A', [0, 0, 0], 1), sample('only-a', 'A', [1], 2)];
    const B = [sample('u2', 'A', [1, 1, 0], 0), sample('u1', 'A B', [1, 2, 2], 1)];
    const c = await compareOutputSets(
      { meta: meta('teacher', 3), source: memoryOutputSource(A) },
      { meta: meta('student', 2), source: memoryOutputSource(B) },
      1,
    );
    expect(c).toMatchObject({ samples: 2, onlyInA: 1, onlyInB: 0, aWins: 0, bWins: 1, ties: 1, disagreements: 1 });
    expect(c.rows[0]).toMatchObject({ id: 'u2', hypA: '', hypB: 'A', winner: 'b' });
    const bad = [sample('u1', 'B B', [1, 2, 2], 0)];
    await expect(
      compareOutputSets({ meta: meta('teacher', 3), source: memoryOutputSource(A) }, { meta: meta('other', 1), source: memoryOutputSource(bad) }),
    ).rejects.toThrow("sample 'u1': the references differ ('A B' in teacher, 'B B' in other); a comparison needs the same samples");
  });
});
