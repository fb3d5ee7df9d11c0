// A backoff n-gram language model held in flat typed arrays (the ARPA layout), so that a lookup
// allocates nothing and the whole model crosses a worker boundary as a handful of ArrayBuffers
// (structured clone or transfer; no class instances, no Maps).
//
// Numbering: every n-gram of every order has a global id. Unigrams come first and their id is the
// word id (vocab[id]); then the bigrams, the trigrams, … (`starts[n - 1]` is the first id of order n,
// `starts[order]` the total). An n-gram g of order n ≥ 2 is (context[g], word[g]): its first n − 1
// words are the n-gram context[g], its last word is word[g]; suffix[g] is the n-gram without its
// first word (ARPA files must contain both, see arpa.ts). A hash table over (context, word) finds
// an n-gram in O(1).
//
// Scores are log10 (ARPA's unit); the decoder converts with ln 10. An LM state is the global id of
// the longest suffix of the history (at most order − 1 words) that is an n-gram of the model
// (KenLM's state minimisation): scoring from it is exact, since a longer history suffix that is not
// in the model has no extensions and a backoff weight of 1.

export const UNK = '<unk>';
export const BOS = '<s>';
export const EOS = '</s>';
/** log10 probability of a word the model cannot predict (no <unk> in it), and of <s> (ARPA's convention). */
export const LOG10_ZERO = -99;

export interface NgramModel {
  order: number; // 2–4 when built here; any ≥ 1 read from ARPA
  vocab: string[]; // word id → word
  starts: Int32Array; // [order + 1]: first global id of each order, then the total
  word: Int32Array; // [total] last word of each n-gram
  context: Int32Array; // [total] global id of the first n − 1 words (−1 for unigrams)
  suffix: Int32Array; // [total] global id of the last n − 1 words (−1 for unigrams)
  logProb: Float64Array; // [total] log10 P(word | context)
  backoff: Float64Array; // [total] log10 backoff weight (0 where the ARPA line has none)
  table: Int32Array; // open-addressing hash of n-grams of order ≥ 2 by (context, word): slot → id, −1 empty
  bos: number; // word id of <s>
  eos: number; // word id of </s>
  unk: number; // word id of <unk>, −1 when the model has none
}

const hash = (ctx: number, w: number, mask: number) => ((Math.imul(ctx + 1, 0x9e3779b1) ^ Math.imul(w + 1, 0x85ebca77)) >>> 0) & mask;

/** An empty hash table sized for n n-grams of order ≥ 2 (load ≤ 1/2). */
export function emptyTable(n: number): Int32Array {
  let size = 4;
  while (size < 2 * n) size *= 2;
  return new Int32Array(size).fill(-1);
}

/** Inserts n-gram id g (its context and word set); returns the id already there for (context, word), or −1. */
export function tableInsert(m: Pick<NgramModel, 'table' | 'context' | 'word'>, g: number): number {
  const mask = m.table.length - 1;
  const c = m.context[g],
    w = m.word[g];
  for (let s = hash(c, w, mask); ; s = (s + 1) & mask) {
    const h = m.table[s];
    if (h < 0) {
      m.table[s] = g;
      return -1;
    }
    if (m.context[h] === c && m.word[h] === w) return h;
  }
}

/** Global id of the n-gram (context ctx, word w): ctx = −1 for a unigram; −1 when absent. */
export function findNgram(m: NgramModel, ctx: number, w: number): number {
  if (ctx < 0) return w;
  const mask = m.table.length - 1;
  for (let s = hash(ctx, w, mask); ; s = (s + 1) & mask) {
    const h = m.table[s];
    if (h < 0) return -1;
    if (m.context[h] === ctx && m.word[h] === w) return h;
  }
}

/** Word id of a word for scoring: its own, else <unk>'s, else −1 (scored LOG10_ZERO). */
export function wordId(m: NgramModel, w: string, index?: Map<string, number>): number {
  const id = (index ?? wordIndex(m)).get(w);
  return id ?? m.unk;
}

export function wordIndex(m: NgramModel): Map<string, number> {
  return new Map(m.vocab.map((w, i) => [w, i]));
}

/** The state before the first word: the <s> unigram. */
export const startState = (m: NgramModel) => m.bos;

/** Reused output of lmScore (one per decoder, never one per query). */
export interface LmStep {
  state: number;
}

/**
 * log10 P(w | state) by backoff, and the state after w in out.state. state −1 = no history;
 * w −1 = a word the model cannot name (LOG10_ZERO, and the history is forgotten).
 */
export function lmScore(m: NgramModel, state: number, w: number, out: LmStep): number {
  if (w < 0) {
    out.state = -1;
    return LOG10_ZERO;
  }
  const top = m.starts[m.order - 1];
  let bo = 0;
  for (let cur = state; cur >= 0; cur = m.suffix[cur]) {
    const g = findNgram(m, cur, w);
    if (g >= 0) {
      out.state = g >= top ? m.suffix[g] : g;
      return bo + m.logProb[g];
    }
    bo += m.backoff[cur];
  }
  out.state = w;
  return bo + m.logProb[w];
}

/** log10 P of a whole sentence (its words then </s>, from <s>). */
export function sentenceLogProb(m: NgramModel, words: number[]): number {
  const step: LmStep = { state: startState(m) };
  let s = 0;
  for (const w of [...words, m.eos]) s += lmScore(m, step.state, w, step);
  return s;
}

export interface Perplexity {
  perplexity: number; // 10^(−log10 P / tokens)
  log10Prob: number; // total over the sentences
  tokens: number; // words + one </s> per sentence
  oov: number; // words not in the vocabulary (scored as <unk>, or LOG10_ZERO without one)
  sentences: number;
}

/** Perplexity over sentences (token arrays); out-of-vocabulary words count, as <unk>. */
export function perplexity(m: NgramModel, sentences: string[][]): Perplexity {
  const index = wordIndex(m);
  let log10Prob = 0,
    tokens = 0,
    oov = 0;
  for (const s of sentences) {
    const ids = s.map((w) => {
      const id = index.get(w);
      if (id === undefined) oov++;
      return id ?? m.unk;
    });
    log10Prob += sentenceLogProb(m, ids);
    tokens += ids.length + 1;
  }
  return { perplexity: tokens ? Math.pow(10, -log10Prob / tokens) : NaN, log10Prob, tokens, oov, sentences: sentences.length };
}

/** The n-gram's words, first to last. */
export function ngramWords(m: NgramModel, g: number): number[] {
  const out: number[] = [];
  for (let cur = g; cur >= 0; cur = m.context[cur]) out.push(m.word[cur]);
  return out.reverse();
}

/** Size in bytes of the model's arrays (what IndexedDB stores, less the vocabulary strings). */
export function modelBytes(m: NgramModel): number {
  return (
    m.starts.byteLength + m.word.byteLength + m.context.byteLength + m.suffix.byteLength + m.logProb.byteLength + m.backoff.byteLength + m.table.byteLength
  );
}

/** The buffers to list as transferables when posting a model to or from a worker. */
export function modelTransferables(m: NgramModel): ArrayBuffer[] {
  return [m.starts, m.word, m.context, m.suffix, m.logProb, m.backoff, m.table].map((a) => a.buffer as ArrayBuffer);
}
