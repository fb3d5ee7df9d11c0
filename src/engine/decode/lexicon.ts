// A lexicon for character (or subword) vocabularies: a trie over class ids whose word-end nodes
// name the LM word they spell. The LM-fused beam search walks it as a hypothesis spells a word,
// so a finished word is found without building strings, and with `constrain` a hypothesis that
// leaves the trie is dropped (only known words). Plain typed arrays: it crosses a worker boundary
// by structured clone like the LM.

import { UNK, type NgramModel } from '../lm/ngram';

export interface Lexicon {
  nodes: number; // node 0 is the root (no letters yet)
  // open-addressing table keyed by (node, class): slot → child node, −1 empty
  keyNode: Int32Array;
  keyClass: Int32Array;
  child: Int32Array;
  wordOf: Int32Array; // [nodes] LM word id spelled at this node; −1: not a word end
  words: number; // distinct words
}

const slotOf = (node: number, c: number, mask: number) => ((Math.imul(node + 1, 0x9e3779b1) ^ Math.imul(c + 1, 0x85ebca77)) >>> 0) & mask;

/** The child of `node` by class c, or −1. */
export function lexiconChild(lex: Lexicon, node: number, c: number): number {
  const mask = lex.child.length - 1;
  for (let s = slotOf(node, c, mask); ; s = (s + 1) & mask) {
    if (lex.child[s] < 0) return -1;
    if (lex.keyNode[s] === node && lex.keyClass[s] === c) return lex.child[s];
  }
}

/**
 * A trie of spellings (class ids, no blank, no separator), spellings[k] naming LM word wordIds[k].
 * A word spelled twice keeps its first id.
 */
export function buildLexicon(spellings: number[][], wordIds: number[]): Lexicon {
  let edges = 0;
  for (const s of spellings) edges += s.length;
  let size = 4;
  while (size < 2 * edges + 2) size *= 2;
  const lex: Lexicon = {
    nodes: 1,
    keyNode: new Int32Array(size),
    keyClass: new Int32Array(size),
    child: new Int32Array(size).fill(-1),
    wordOf: new Int32Array(edges + 1).fill(-1),
    words: 0,
  };
  const mask = size - 1;
  spellings.forEach((spelling, k) => {
    if (!spelling.length) return;
    let node = 0;
    for (const c of spelling) {
      let s = slotOf(node, c, mask);
      while (lex.child[s] >= 0 && !(lex.keyNode[s] === node && lex.keyClass[s] === c)) s = (s + 1) & mask;
      if (lex.child[s] < 0) {
        lex.keyNode[s] = node;
        lex.keyClass[s] = c;
        lex.child[s] = lex.nodes++;
      }
      node = lex.child[s];
    }
    if (lex.wordOf[node] < 0) {
      lex.wordOf[node] = wordIds[k];
      lex.words++;
    }
  });
  lex.wordOf = lex.wordOf.slice(0, lex.nodes);
  return lex;
}

/**
 * The lexicon of an LM's words spelled in a character vocabulary: classOf maps one character
 * (a token of the vocabulary) to its class id. Words with a character the vocabulary lacks, and
 * <s>, </s>, <unk>, are left out. `words` (a word list) restricts it further when given; a listed
 * word the LM does not know is scored as <unk>.
 */
export function lexiconFromModel(lm: NgramModel, classOf: Map<string, number>, words?: string[]): Lexicon {
  const index = new Map(lm.vocab.map((w, i) => [w, i]));
  const list = words ?? lm.vocab.filter((w, i) => i !== lm.bos && i !== lm.eos && w !== UNK);
  const spellings: number[][] = [];
  const ids: number[] = [];
  for (const w of list) {
    const s = [...w].map((ch) => classOf.get(ch) ?? -1);
    if (s.includes(-1) || !s.length) continue;
    spellings.push(s);
    ids.push(index.get(w) ?? lm.unk);
  }
  return buildLexicon(spellings, ids);
}
