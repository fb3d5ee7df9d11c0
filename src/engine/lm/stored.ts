// The rules of an LM stored beside a dataset (data/lms.ts keeps it): what it is built from (the
// training split's transcripts or an uploaded text file of sentences), or an imported ARPA file,
// and what its list row says (order, n-gram counts, size, perplexity on the val transcripts).
// A refused file stores nothing: everything here runs before the record is written.

import type { LmRecord } from '../../data/types';
import { readArpa, writeArpa } from './arpa';
import { buildKneserNey } from './kneser_ney';
import { modelBytes, perplexity, type NgramModel } from './ngram';

export type LmFacts = Omit<LmRecord, 'id' | 'createdAt' | 'datasetId' | 'name' | 'source' | 'sourceName'>;

/** An uploaded text file: one sentence per line, tokens separated by white space; blank lines skipped. */
export function sentencesFromText(text: string, file: string): string[][] {
  const out: string[][] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const toks = line.trim().split(/\s+/).filter(Boolean);
    if (!toks.length) return;
    const bad = toks.find((t) => t === '<s>' || t === '</s>');
    if (bad) throw new Error(`${file}, line ${i + 1}: ${bad} is added around every sentence; the file holds only the sentences' tokens`);
    out.push(toks);
  });
  if (!out.length) throw new Error(`${file}: no sentences (one sentence per line, tokens separated by spaces)`);
  return out;
}

/** The list row's facts of a model, its ARPA text and its perplexity on the val transcripts. */
export function lmFacts(model: NgramModel, arpa: string, valTranscripts: string[]): LmFacts {
  const counts = Array.from({ length: model.order }, (_, n) => model.starts[n + 1] - model.starts[n]);
  const p = valTranscripts.length
    ? perplexity(
        model,
        valTranscripts.map((t) => t.split(' ')),
      )
    : null;
  return {
    order: model.order,
    counts,
    words: model.vocab.length,
    modelBytes: modelBytes(model),
    arpaBytes: new TextEncoder().encode(arpa).length,
    perplexity: p && { perplexity: p.perplexity, oov: p.oov, tokens: p.tokens, sentences: p.sentences },
    arpa,
  };
}

/** Builds an order-N interpolated modified Kneser-Ney model from sentences; its facts with the ARPA text it is stored as. */
export function builtLm(sentences: string[][], order: number, valTranscripts: string[]): LmFacts {
  const { model } = buildKneserNey(sentences, order);
  return lmFacts(model, writeArpa(model), valTranscripts);
}

/** An imported ARPA file, read whole (refused naming the line) before anything is stored; kept as uploaded. */
export function importedLm(text: string, file: string, valTranscripts: string[]): LmFacts {
  return lmFacts(readArpa(text, file), text, valTranscripts);
}
