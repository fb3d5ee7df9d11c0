import { describe, expect, it } from 'vitest';
import { readArpa } from './arpa';
import { perplexity } from './ngram';
import { builtLm, importedLm, sentencesFromText } from './stored';

describe('stored LMs', () => {
  it('a text file: one sentence per line, blank lines skipped; <s> and empty files refused naming the line', () => {
    expect(sentencesFromText('A B\n\n  C  D E \r\n', 'lm.txt')).toEqual([
      ['A', 'B'],
      ['C', 'D', 'E'],
    ]);
    expect(() => sentencesFromText('A\n<s> B\n', 'corpus.txt')).toThrow('corpus.txt, line 2: <s> is added');
    expect(() => sentencesFromText('\n \n', 'empty.txt')).toThrow('empty.txt: no sentences');
  });

  it('built from transcripts: counts per order, sizes, val perplexity (OOV counted), and ARPA text that reads back to the same scores', () => {
    const train = ['A B C', 'A B D', 'B C A', 'C A B'].map((t) => t.split(' '));
    const f = builtLm(train, 3, ['A B C', 'A Z']);
    expect(f.order).toBe(3);
    expect(f.counts.length).toBe(3);
    expect(f.words).toBe(7); // <unk> <s> </s> A B C D
    const m = readArpa(f.arpa);
    expect(f.counts).toEqual([1, 2, 3].map((n) => m.starts[n] - m.starts[n - 1]));
    const p = perplexity(
      m,
      ['A B C', 'A Z'].map((t) => t.split(' ')),
    );
    expect(f.perplexity).toEqual({ perplexity: p.perplexity, oov: 1, tokens: 7, sentences: 2 });
    expect(f.arpaBytes).toBe(new TextEncoder().encode(f.arpa).length);
    expect(f.modelBytes).toBeGreaterThan(0);
    expect(builtLm(train, 2, []).perplexity).toBeNull();
  });

  it('an imported ARPA file is kept as uploaded; a malformed one is refused naming the line', () => {
    const arpa = builtLm([['A', 'B']], 2, []).arpa;
    expect(importedLm(arpa, 'x.arpa', ['A B']).arpa).toBe(arpa);
    const bad = arpa.replace('ngram 2=', 'ngram 2=9');
    expect(() => importedLm(bad, 'kenlm.arpa', [])).toThrow(/^kenlm\.arpa, line \d+: \\2-grams: has \d+ entries but \\data\\ says ngram 2=9/);
  });
});
