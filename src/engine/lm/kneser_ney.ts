// Interpolated modified Kneser-Ney (Chen & Goodman 1998, "An empirical study of smoothing
// techniques for language modeling", §3.5 and §4.1.6) built from transcripts, written as a
// backoff model (the ARPA layout, as KenLM's lmplz and SRILM's -kndiscount -interpolate do).
//
// Each sentence is <s> w1 … wm </s>. Per order n, each n-gram g has an adjusted count a(g): its
// raw count at the highest order and for n-grams that start with <s> (nothing precedes them),
// else the number of distinct words seen just before it (the continuation count N1+(• g)).
// Discounts per order from the count-of-counts n_k of a (Chen & Goodman eq. 26):
//   Y = n1 / (n1 + 2 n2),  D1 = 1 − 2Y n2/n1,  D2 = 2 − 3Y n3/n2,  D3+ = 3 − 4Y n4/n3;
// when some n_k (k = 1..4) is 0 or some Dk falls outside [0, k] (tiny corpora) the order uses
// KenLM's --discount_fallback values 0.5, 1, 1.5.
//   p_n(w | h) = (a(hw) − D(a(hw))) / Σ_v a(hv) + γ(h) p_{n−1}(w | h'),   h' = h without its first word
//   γ(h) = (D1 N1(h•) + D2 N2(h•) + D3+ N3+(h•)) / Σ_v a(hv)
// and at the bottom p_0(w) = 1 / |V'|, V' = every word but <s> (so <unk> and </s> included). <s> is
// never predicted: its unigram probability is LOG10_ZERO and it is left out of the unigram counts.
// A context never followed by anything (Σ = 0) backs off with weight 1 (backoff 0).

import { NgramAssembler } from './assemble';
import { BOS, EOS, LOG10_ZERO, UNK, type NgramModel } from './ngram';

export const FALLBACK_DISCOUNTS: [number, number, number] = [0.5, 1, 1.5];

export interface KneserNeyInfo {
  discounts: [number, number, number][]; // per order n (index n − 1): D1, D2, D3+
  fallback: boolean[]; // per order: whether the fallback discounts were used
}

/** D1, D2, D3+ from the count-of-counts n1..n4, or null where they cannot be estimated. */
export function modifiedKnDiscounts(n1: number, n2: number, n3: number, n4: number): [number, number, number] | null {
  if (n1 === 0 || n2 === 0 || n3 === 0 || n4 === 0) return null;
  const Y = n1 / (n1 + 2 * n2);
  const D: [number, number, number] = [1 - (2 * Y * n2) / n1, 2 - (3 * Y * n3) / n2, 3 - (4 * Y * n4) / n3];
  return D.every((d, k) => d >= 0 && d <= k + 1) ? D : null;
}

/** Vocabulary of a built model: <unk>, <s>, </s>, then the transcripts' words sorted. */
export function buildVocab(sentences: string[][]): string[] {
  const words = new Set<string>();
  for (const s of sentences) for (const w of s) if (w !== UNK && w !== BOS && w !== EOS) words.add(w);
  return [UNK, BOS, EOS, ...[...words].sort()];
}

/** Builds an order-N (2–4) interpolated modified Kneser-Ney model from token arrays. */
export function buildKneserNey(sentences: string[][], order: number): { model: NgramModel; info: KneserNeyInfo } {
  if (!Number.isInteger(order) || order < 2 || order > 4) throw new Error(`n-gram order must be 2, 3 or 4, got ${order}`);
  for (let i = 0; i < sentences.length; i++) {
    const bad = sentences[i].find((w) => w === BOS || w === EOS || w === '' || /\s/.test(w));
    if (bad !== undefined)
      throw new Error(
        `sentence ${i + 1}: the token ${JSON.stringify(bad)} cannot be a word (<s> and </s> are added around each sentence; tokens hold no spaces)`,
      );
  }
  const vocab = buildVocab(sentences);
  const index = new Map(vocab.map((w, i) => [w, i]));
  const V = vocab.length;
  const bos = 1;

  // Raw counts per order, keyed by the word ids joined with ','.
  const raw: Map<string, number>[] = Array.from({ length: order }, () => new Map());
  for (const s of sentences) {
    const ids = [bos, ...s.map((w) => index.get(w) as number), 2];
    for (let i = 0; i < ids.length; i++)
      for (let n = 1; n <= order && i + n <= ids.length; n++) {
        const k = ids.slice(i, i + n).join(',');
        raw[n - 1].set(k, (raw[n - 1].get(k) ?? 0) + 1);
      }
  }
  // Adjusted counts: highest order and <s>-initial n-grams raw, the others continuation counts.
  const adj: Map<string, number>[] = raw.map(() => new Map());
  for (const [k, c] of raw[order - 1]) adj[order - 1].set(k, c);
  for (let n = order - 1; n >= 1; n--) {
    for (const k of raw[n - 1].keys()) if (k.split(',')[0] === String(bos)) adj[n - 1].set(k, raw[n - 1].get(k) as number);
    for (const k of raw[n].keys()) {
      const tail = k.slice(k.indexOf(',') + 1); // drop the first word
      if (tail.split(',')[0] === String(bos)) continue;
      adj[n - 1].set(tail, (adj[n - 1].get(tail) ?? 0) + 1);
    }
  }
  adj[0].delete(String(bos)); // <s> is not predicted

  // Discounts per order.
  const info: KneserNeyInfo = { discounts: [], fallback: [] };
  for (let n = 1; n <= order; n++) {
    const nk = [0, 0, 0, 0];
    for (const a of adj[n - 1].values()) if (a <= 4) nk[a - 1]++;
    const D = modifiedKnDiscounts(nk[0], nk[1], nk[2], nk[3]);
    info.discounts.push(D ?? FALLBACK_DISCOUNTS);
    info.fallback.push(D === null);
  }
  const disc = (n: number, a: number) => (a === 0 ? 0 : info.discounts[n - 1][Math.min(a, 3) - 1]);

  // Per context of each order: Σ a, and γ.
  const ctxOf = (k: string) => (k.includes(',') ? k.slice(0, k.lastIndexOf(',')) : '');
  const gamma: Map<string, number>[] = [];
  const totals: Map<string, number>[] = [];
  for (let n = 1; n <= order; n++) {
    const tot = new Map<string, number>();
    const num = new Map<string, number>();
    for (const [k, a] of adj[n - 1]) {
      const h = ctxOf(k);
      tot.set(h, (tot.get(h) ?? 0) + a);
      num.set(h, (num.get(h) ?? 0) + disc(n, a));
    }
    const g = new Map<string, number>();
    for (const [h, t] of tot) g.set(h, num.get(h)! / t);
    gamma.push(g);
    totals.push(tot);
  }
  const total = (n: number, h: string) => totals[n - 1].get(h) ?? 0;

  // Interpolated probabilities, order by order (a lower order's are ready when the next needs them).
  const prob: Map<string, number>[] = [];
  const lower = (n: number, k: string): number => {
    // p_{n−1}(w | h') for the n-gram k of order n; n = 1: the uniform.
    if (n === 1) return 1 / (V - 1);
    const tail = k.slice(k.indexOf(',') + 1);
    return prob[n - 2].get(tail) as number;
  };
  for (let n = 1; n <= order; n++) {
    const p = new Map<string, number>();
    const keys = n === 1 ? vocab.map((_, w) => String(w)).filter((k) => k !== String(bos)) : [...adj[n - 1].keys()];
    for (const k of keys) {
      const h = ctxOf(k);
      const a = adj[n - 1].get(k) ?? 0;
      const t = total(n, h);
      p.set(k, t > 0 ? (a - disc(n, a)) / t + (gamma[n - 1].get(h) as number) * lower(n, k) : lower(n, k));
    }
    prob.push(p);
  }

  // Into the arrays: unigrams by word id, higher orders sorted by (context id, word).
  const counts = [V, ...Array.from({ length: order - 1 }, (_, i) => adj[i + 1].size)];
  const asm = new NgramAssembler(vocab, counts);
  const bo = (n: number, k: string) => {
    const g = n < order ? gamma[n].get(k) : undefined;
    return g === undefined ? 0 : Math.log10(g);
  };
  for (let w = 0; w < V; w++) asm.setUnigram(w, w === bos ? LOG10_ZERO : Math.log10(prob[0].get(String(w)) as number), bo(1, String(w)));
  for (let n = 2; n <= order; n++) {
    const grams = [...adj[n - 1].keys()].map((k) => {
      const ids = k.split(',').map(Number);
      return { k, ids, ctx: asm.find(ids, 0, n - 1) };
    });
    grams.sort((x, y) => x.ctx - y.ctx || x.ids[n - 1] - y.ids[n - 1]);
    for (const g of grams) {
      const r = asm.add(g.ids, Math.log10(prob[n - 1].get(g.k) as number), bo(n, g.k));
      if (typeof r === 'string') throw new Error(`Kneser-Ney build: ${g.k}: ${r}`); // cannot happen: counts are closed under prefix and suffix
    }
  }
  return { model: asm.m, info };
}
