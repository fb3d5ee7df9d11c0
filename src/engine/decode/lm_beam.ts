// CTC prefix beam search with shallow fusion of an n-gram LM (Hannun et al. 2014, Algorithm 1,
// with the LM and word bonus of its eq. 3):
//   score(prefix) = ln P_CTC(prefix) + α · ln P_LM(words) + β · |words|
// natural logs (the ARPA's log10 scores times ln 10). The LM scores a word when it ends: with a word
// or gloss vocabulary every class is a word; with a character vocabulary the word separator class
// ends one (its spelling looked up in a lexicon trie, `constrain` dropping spellings that leave it),
// and the end of the utterance ends the last one. Every finished hypothesis also gets P_LM(</s>).
//
// Pure function over one sample's log-probabilities [T, C] (a Float32Array row-major), so a pool of
// workers can share a set: the LM and lexicon are plain typed arrays (structured clone or transfer).
// Prefixes live in a tree (parent, last class) numbered by creation, so extending one copies
// nothing. Ties in score are broken by the prefix itself (shorter first, then smaller class ids),
// so the result does not depend on the order hypotheses were made in.

import { logAddExp } from '../ctc/ctc_reference';
import { lmScore, startState, type LmStep, type NgramModel } from '../lm/ngram';
import { lexiconChild, type Lexicon } from './lexicon';

export interface LmBeamOptions {
  beamWidth: number; // prefixes kept per frame; 10 (the sign-language recipes' width)
  prune: number; // a class below this log-probability at a frame is not extended; ln(1e-4); −Infinity: none
  alpha: number; // LM weight α; 0 = no LM
  beta: number; // word bonus β (natural log per word)
  blank: number; // 0
}

export const LM_BEAM_DEFAULTS: LmBeamOptions = { beamWidth: 10, prune: Math.log(1e-4), alpha: 0.5, beta: 1, blank: 0 };

/** How the vocabulary's classes meet the LM. */
export interface Fusion {
  lm: NgramModel;
  /** Word vocabularies: [C] LM word id of each class (the model's <unk> id, or −1, for a class it lacks). */
  classWord: Int32Array | null;
  /** Character vocabularies: the word separator's class (classWord null). */
  separator: number;
  /** Character vocabularies: the spellings of the words (lexicon.ts). */
  lexicon: Lexicon | null;
  /** Only words of the lexicon (character vocabularies). */
  constrain: boolean;
}

/** A word vocabulary's fusion: class k ≥ 1 (k ≠ blank) is tokens[k − 1 or k], looked up in the LM. */
export function wordFusion(lm: NgramModel, classes: string[]): Fusion {
  const index = new Map(lm.vocab.map((w, i) => [w, i]));
  return { lm, classWord: Int32Array.from(classes, (w) => index.get(w) ?? lm.unk), separator: -1, lexicon: null, constrain: false };
}

export interface LmBeamResult {
  ids: number[]; // the best prefix's classes
  score: number; // its fused score (−Infinity when no hypothesis was feasible)
  ctcLogProb: number; // ln P_CTC(prefix)
  lmLogProb: number; // ln P_LM(words, </s>)
  words: number;
  feasible: boolean; // false: every kept hypothesis ended off the lexicon; ids is then empty
}

/** Open-addressing (node, class) → child table that grows. */
class Children {
  keyNode = new Int32Array(64);
  keyClass = new Int32Array(64);
  value = new Int32Array(64).fill(-1); // −1 empty; −2: the extension is infeasible
  used = 0;

  private slot(node: number, c: number): number {
    const mask = this.value.length - 1;
    let s = ((Math.imul(node + 1, 0x9e3779b1) ^ Math.imul(c + 1, 0x85ebca77)) >>> 0) & mask;
    while (this.value[s] !== -1 && !(this.keyNode[s] === node && this.keyClass[s] === c)) s = (s + 1) & mask;
    return s;
  }
  get(node: number, c: number): number {
    return this.value[this.slot(node, c)];
  }
  set(node: number, c: number, v: number): void {
    if (2 * (this.used + 1) > this.value.length) this.grow();
    const s = this.slot(node, c);
    if (this.value[s] === -1) this.used++;
    this.keyNode[s] = node;
    this.keyClass[s] = c;
    this.value[s] = v;
  }
  private grow(): void {
    const { keyNode, keyClass, value } = this;
    this.keyNode = new Int32Array(value.length * 2);
    this.keyClass = new Int32Array(value.length * 2);
    this.value = new Int32Array(value.length * 2).fill(-1);
    this.used = 0;
    for (let s = 0; s < value.length; s++) if (value[s] !== -1) this.set(keyNode[s], keyClass[s], value[s]);
  }
}

const grow = <A extends Int32Array | Float64Array>(a: A, n: number): A => {
  if (n <= a.length) return a;
  const b = new (a.constructor as new (n: number) => A)(Math.max(n, 2 * a.length));
  b.set(a);
  return b;
};

/** logProbs: [T, C] row-major natural-log probabilities of one sample, `frames` valid rows. */
export function lmBeamSearch(
  logProbs: ArrayLike<number>,
  frames: number,
  C: number,
  options: Partial<LmBeamOptions> = {},
  fusion: Fusion | null = null,
): LmBeamResult {
  const { beamWidth, prune, alpha, beta, blank } = { ...LM_BEAM_DEFAULTS, ...options };
  if (!(beamWidth >= 1)) throw new Error(`beam width must be at least 1, got ${beamWidth}`);
  if (logProbs.length < frames * C) throw new Error(`lmBeamSearch: ${logProbs.length} values cannot hold ${frames} frames × ${C} classes`);
  const lm = fusion?.lm ?? null;
  const charMode = fusion !== null && fusion.classWord === null;
  if (charMode && !fusion.lexicon) throw new Error('lmBeamSearch: a character vocabulary needs a lexicon (lexiconFromModel) to name its words');
  const step: LmStep = { state: 0 };

  // The prefix tree: node 0 is the empty prefix.
  let cap = 256;
  let parent = new Int32Array(cap),
    token = new Int32Array(cap),
    depth = new Int32Array(cap),
    state = new Int32Array(cap),
    trie = new Int32Array(cap), // lexicon node of the word being spelled (char mode); −1 off the lexicon
    words = new Int32Array(cap),
    lmLog = new Float64Array(cap),
    slot = new Int32Array(cap).fill(-1); // node → its entry in the next frame's list, −1 none
  let nodes = 1;
  parent[0] = -1;
  token[0] = -1;
  state[0] = lm ? startState(lm) : 0;
  const children = new Children();

  /** ln P_LM of word w after node's history; sets step.state. */
  const wordScore = (node: number, w: number) => Math.LN10 * lmScore(lm as NgramModel, state[node], w, step);

  /** The node for prefix(node) + c, made on first use; −2 when the extension leaves the lexicon. */
  const extend = (node: number, c: number): number => {
    const known = children.get(node, c);
    if (known !== -1) return known;
    let st = state[node],
      tr = trie[node],
      wd = words[node],
      ll = lmLog[node],
      ok = true;
    if (fusion && lm) {
      if (!charMode) {
        ll += wordScore(node, (fusion.classWord as Int32Array)[c]);
        st = step.state;
        wd++;
      } else if (c === fusion.separator) {
        if (tr !== 0) {
          const w = tr > 0 ? (fusion.lexicon as Lexicon).wordOf[tr] : -1;
          if (w < 0 && fusion.constrain) ok = false;
          else {
            ll += wordScore(node, w < 0 ? lm.unk : w);
            st = step.state;
            wd++;
            tr = 0;
          }
        }
      } else {
        tr = tr < 0 ? -1 : lexiconChild(fusion.lexicon as Lexicon, tr, c);
        if (tr < 0 && fusion.constrain) ok = false;
      }
    }
    if (!ok) {
      children.set(node, c, -2);
      return -2;
    }
    if (nodes === cap) {
      cap *= 2;
      parent = grow(parent, cap);
      token = grow(token, cap);
      depth = grow(depth, cap);
      state = grow(state, cap);
      trie = grow(trie, cap);
      words = grow(words, cap);
      lmLog = grow(lmLog, cap);
      const s = new Int32Array(cap).fill(-1);
      s.set(slot);
      slot = s;
    }
    const n = nodes++;
    parent[n] = node;
    token[n] = c;
    depth[n] = depth[node] + 1;
    state[n] = st;
    trie[n] = tr;
    words[n] = wd;
    lmLog[n] = ll;
    children.set(node, c, n);
    return n;
  };

  const prefixOf = (node: number) => {
    const out: number[] = [];
    for (let n = node; n > 0; n = parent[n]) out.push(token[n]);
    return out.reverse();
  };
  /** Deterministic order of two different prefixes: shorter first, then smaller class ids. */
  const prefixOrder = (a: number, b: number) => {
    if (depth[a] !== depth[b]) return depth[a] - depth[b];
    const pa = prefixOf(a),
      pb = prefixOf(b);
    for (let k = 0; k < pa.length; k++) if (pa[k] !== pb[k]) return pa[k] - pb[k];
    return 0;
  };
  const fused = (node: number, ctc: number) => (alpha === 0 ? 0 : alpha * lmLog[node]) + ctc + beta * words[node];

  let beamNode = [0],
    beamPb = [0],
    beamPnb = [-Infinity];
  const cand = new Int32Array(C);
  for (let t = 0; t < frames; t++) {
    const row = t * C;
    let nc = 0;
    for (let c = 0; c < C; c++) if (c !== blank && logProbs[row + c] >= prune) cand[nc++] = c;
    const pBlank = logProbs[row + blank];
    const nextNode: number[] = [],
      nextPb: number[] = [],
      nextPnb: number[] = [];
    const entry = (node: number) => {
      let e = slot[node];
      if (e < 0) {
        e = slot[node] = nextNode.length;
        nextNode.push(node);
        nextPb.push(-Infinity);
        nextPnb.push(-Infinity);
      }
      return e;
    };
    for (let i = 0; i < beamNode.length; i++) {
      const node = beamNode[i],
        pb = beamPb[i],
        pnb = beamPnb[i];
      const total = logAddExp(pb, pnb);
      let e = entry(node);
      nextPb[e] = logAddExp(nextPb[e], total + pBlank);
      const last = token[node];
      for (let k = 0; k < nc; k++) {
        const c = cand[k],
          p = logProbs[row + c];
        if (c === last) {
          // a repeat without a blank between collapses into the same prefix…
          e = entry(node);
          nextPnb[e] = logAddExp(nextPnb[e], pnb + p);
          // …after a blank it is a new token
          const ch = extend(node, c);
          if (ch >= 0) {
            e = entry(ch);
            nextPnb[e] = logAddExp(nextPnb[e], pb + p);
          }
        } else {
          const ch = extend(node, c);
          if (ch >= 0) {
            e = entry(ch);
            nextPnb[e] = logAddExp(nextPnb[e], total + p);
          }
        }
      }
    }
    const score = nextNode.map((n, e) => fused(n, logAddExp(nextPb[e], nextPnb[e])));
    const order = nextNode.map((_, e) => e).sort((x, y) => score[y] - score[x] || prefixOrder(nextNode[x], nextNode[y]));
    const keep = order.slice(0, beamWidth);
    for (const n of nextNode) slot[n] = -1;
    beamNode = keep.map((e) => nextNode[e]);
    beamPb = keep.map((e) => nextPb[e]);
    beamPnb = keep.map((e) => nextPnb[e]);
  }

  // Finish: the last word (character vocabularies), then </s>.
  const finals = beamNode.map((node, i) => {
    const ctc = logAddExp(beamPb[i], beamPnb[i]);
    let ll = lmLog[node],
      wd = words[node],
      feasible = true;
    if (fusion && lm) {
      let st = state[node];
      if (charMode && trie[node] !== 0) {
        const w = trie[node] > 0 ? (fusion.lexicon as Lexicon).wordOf[trie[node]] : -1;
        if (w < 0 && fusion.constrain) feasible = false;
        else {
          ll += Math.LN10 * lmScore(lm, st, w < 0 ? lm.unk : w, step);
          st = step.state;
          wd++;
        }
      }
      ll += Math.LN10 * lmScore(lm, st, lm.eos, step);
    }
    const score = feasible ? (alpha === 0 ? 0 : alpha * ll) + ctc + beta * wd : -Infinity;
    return { node, ctc, ll, wd, score, feasible };
  });
  finals.sort((x, y) => (y.score === x.score ? prefixOrder(x.node, y.node) : y.score - x.score));
  const best = finals[0];
  if (!best.feasible) return { ids: [], score: -Infinity, ctcLogProb: -Infinity, lmLogProb: -Infinity, words: 0, feasible: false };
  return { ids: prefixOf(best.node), score: best.score, ctcLogProb: best.ctc, lmLogProb: best.ll, words: best.wd, feasible: true };
}
