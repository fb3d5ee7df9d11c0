// Fills an NgramModel's arrays order by order (the Kneser-Ney builder and the ARPA reader both
// use it). An n-gram of order n ≥ 2 is accepted only when its first n − 1 words (its context) and
// its last n − 1 words (its suffix, where backoff continues) are n-grams of order n − 1 already.

import { BOS, EOS, UNK, emptyTable, findNgram, tableInsert, type NgramModel } from './ngram';

export class NgramAssembler {
  readonly m: NgramModel;
  private next: Int32Array; // per order: next free global id

  /** counts[n − 1] = n-grams of order n; vocab = the unigrams in order (word id = unigram id). */
  constructor(vocab: string[], counts: number[]) {
    if (counts[0] !== vocab.length) throw new Error(`NgramAssembler: ${vocab.length} words but ${counts[0]} unigrams`);
    const order = counts.length;
    const starts = new Int32Array(order + 1);
    for (let n = 0; n < order; n++) starts[n + 1] = starts[n] + counts[n];
    const total = starts[order];
    const index = new Map(vocab.map((w, i) => [w, i]));
    this.m = {
      order,
      vocab,
      starts,
      word: new Int32Array(total),
      context: new Int32Array(total).fill(-1),
      suffix: new Int32Array(total).fill(-1),
      logProb: new Float64Array(total),
      backoff: new Float64Array(total),
      table: emptyTable(total - counts[0]),
      bos: index.get(BOS) ?? -1,
      eos: index.get(EOS) ?? -1,
      unk: index.get(UNK) ?? -1,
    };
    this.next = starts.slice(0, order);
    for (let w = 0; w < vocab.length; w++) this.m.word[w] = w;
    this.next[0] = vocab.length;
  }

  /** The id of the n-gram with these words (any order), or −1. */
  find(words: ArrayLike<number>, from = 0, to = words.length): number {
    let g = words[from];
    for (let i = from + 1; i < to && g >= 0; i++) g = findNgram(this.m, g, words[i]);
    return g;
  }

  /** Sets a unigram's scores. */
  setUnigram(w: number, logProb: number, backoff: number): void {
    this.m.logProb[w] = logProb;
    this.m.backoff[w] = backoff;
  }

  /** Adds an n-gram of order words.length ≥ 2; returns its id, or a sentence saying why not. */
  add(words: ArrayLike<number>, logProb: number, backoff: number): number | string {
    const n = words.length;
    const m = this.m;
    const ctx = this.find(words, 0, n - 1);
    if (ctx < 0) return `its context (first ${n - 1} words) is not among the ${n - 1}-grams`;
    const suf = this.find(words, 1, n);
    if (suf < 0) return `backoff without a lower order: its last ${n - 1} words are not among the ${n - 1}-grams`;
    const g = this.next[n - 1];
    if (g >= m.starts[n]) return `more ${n}-grams than the ${m.starts[n] - m.starts[n - 1]} announced`;
    m.word[g] = words[n - 1];
    m.context[g] = ctx;
    m.suffix[g] = suf;
    m.logProb[g] = logProb;
    m.backoff[g] = backoff;
    if (tableInsert(m, g) >= 0) return 'it is listed twice';
    this.next[n - 1]++;
    return g;
  }

  /** How many n-grams of order n were added. */
  added(n: number): number {
    return this.next[n - 1] - this.m.starts[n - 1];
  }
}
