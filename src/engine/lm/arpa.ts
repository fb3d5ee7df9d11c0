// ARPA back-off language model files (the format of SRILM and KenLM): log10 probabilities and
// log10 backoff weights, one n-gram per line.
//
//   \data\
//   ngram 1=<count>  …  ngram N=<count>
//   \1-grams:
//   <log10 p>\t<w>[\t<log10 backoff>]
//   …
//   \N-grams:
//   <log10 p>\t<w1> … <wN>
//   \end\
//
// Numbers are written with the shortest text that reads back to the same double (JS String(x),
// Python repr), so write → read gives the same scores bit for bit. The reader refuses, naming the
// line: a missing \data\, section or \end\; counts that disagree with the entries; a non-numeric or
// missing field; a backoff weight on the highest order; an n-gram whose context or suffix (the
// lower order its backoff goes to) is absent; a word missing from the unigrams; a duplicate.

import { NgramAssembler } from './assemble';
import { BOS, EOS, ngramWords, type NgramModel } from './ngram';

export function writeArpa(m: NgramModel): string {
  const out: string[] = ['', '\\data\\'];
  for (let n = 1; n <= m.order; n++) out.push(`ngram ${n}=${m.starts[n] - m.starts[n - 1]}`);
  for (let n = 1; n <= m.order; n++) {
    out.push('', `\\${n}-grams:`);
    for (let g = m.starts[n - 1]; g < m.starts[n]; g++) {
      const words = ngramWords(m, g)
        .map((w) => m.vocab[w])
        .join(' ');
      const bo = n < m.order && m.backoff[g] !== 0 ? `\t${String(m.backoff[g])}` : '';
      out.push(`${String(m.logProb[g])}\t${words}${bo}`);
    }
  }
  out.push('', '\\end\\', '');
  return out.join('\n');
}

const NUMBER = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function num(s: string, where: string, what: string): number {
  if (!NUMBER.test(s)) throw new Error(`${where}: ${what} ${JSON.stringify(s)} is not a number`);
  return Number(s);
}

/** Reads an ARPA file's text; errors name `file, line N`. */
export function readArpa(text: string, file = 'lm.arpa'): NgramModel {
  const lines = text.split(/\r?\n/);
  let i = 0;
  const at = (k: number) => `${file}, line ${k + 1}`;
  const skipBlank = () => {
    while (i < lines.length && lines[i].trim() === '') i++;
  };
  // Anything before \data\ is a header (SRILM and others write comments there).
  while (i < lines.length && lines[i].trim() !== '\\data\\') i++;
  if (i === lines.length) throw new Error(`${file}: no \\data\\ line (not an ARPA language model)`);
  const dataLine = i++;
  const counts: number[] = [];
  for (; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t === '') {
      if (counts.length) break;
      continue;
    }
    const mm = /^ngram\s+(\d+)\s*=\s*(\S+)$/.exec(t);
    if (!mm) {
      if (t.startsWith('\\')) break;
      throw new Error(`${at(i)}: expected 'ngram N=count' in the \\data\\ section, got ${JSON.stringify(t)}`);
    }
    const n = Number(mm[1]);
    if (n !== counts.length + 1) throw new Error(`${at(i)}: 'ngram ${n}=' where 'ngram ${counts.length + 1}=' was expected (orders must run 1, 2, … in order)`);
    const c = Number(mm[2]);
    if (!/^\d+$/.test(mm[2]) || c < 1) throw new Error(`${at(i)}: the count of ${n}-grams ${JSON.stringify(mm[2])} is not a positive integer`);
    counts.push(c);
  }
  if (!counts.length) throw new Error(`${at(dataLine)}: the \\data\\ section has no 'ngram N=count' lines`);
  const order = counts.length;

  // Sections: \n-grams: then its entries up to the next blank or backslash line.
  const section = (n: number): { start: number; entries: { k: number; f: string[] }[] } => {
    skipBlank();
    if (i === lines.length || lines[i].trim() !== `\\${n}-grams:`)
      throw new Error(
        `${i === lines.length ? `${file}, end of file` : at(i)}: missing section \\${n}-grams: (\\data\\ announces ${order} orders)${i < lines.length ? `, found ${JSON.stringify(lines[i].trim())}` : ''}`,
      );
    const start = i++;
    const entries: { k: number; f: string[] }[] = [];
    for (; i < lines.length; i++) {
      const t = lines[i].trim();
      if (t === '' || t.startsWith('\\')) break;
      entries.push({ k: i, f: t.split(/\s+/) });
    }
    if (entries.length !== counts[n - 1])
      throw new Error(`${at(start)}: \\${n}-grams: has ${entries.length} entries but \\data\\ says ngram ${n}=${counts[n - 1]} (${at(dataLine + n)})`);
    return { start, entries };
  };
  const fields = (e: { k: number; f: string[] }, n: number) => {
    const f = e.f;
    if (f.length !== n + 1 && f.length !== n + 2)
      throw new Error(
        `${at(e.k)}: a ${n}-gram line needs a log10 probability, ${n} word${n > 1 ? 's' : ''} and an optional backoff weight; it has ${f.length} fields`,
      );
    if (f.length === n + 2 && n === order) throw new Error(`${at(e.k)}: a backoff weight on a ${n}-gram, the highest order (nothing to back off to)`);
    const lp = num(f[0], at(e.k), 'the log10 probability');
    if (lp > 0) throw new Error(`${at(e.k)}: the log10 probability ${f[0]} is above 0`);
    const bo = f.length === n + 2 ? num(f[n + 1], at(e.k), 'the backoff weight') : 0;
    return { lp, bo, words: f.slice(1, n + 1) };
  };

  const uni = section(1);
  const vocab: string[] = [];
  const index = new Map<string, number>();
  const parsed = uni.entries.map((e) => {
    const r = fields(e, 1);
    const w = r.words[0];
    if (index.has(w)) throw new Error(`${at(e.k)}: the unigram ${JSON.stringify(w)} is listed twice (first at ${at(uni.entries[index.get(w)!].k)})`);
    index.set(w, vocab.length);
    vocab.push(w);
    return r;
  });
  for (const [tok, what] of [
    [BOS, 'sentence start'],
    [EOS, 'sentence end'],
  ])
    if (!index.has(tok)) throw new Error(`${at(uni.start)}: the unigrams have no ${tok} (${what}); a language model for decoding needs it`);
  const asm = new NgramAssembler(vocab, counts);
  parsed.forEach((r, w) => asm.setUnigram(w, r.lp, r.bo));

  for (let n = 2; n <= order; n++) {
    const sec = section(n);
    for (const e of sec.entries) {
      const r = fields(e, n);
      const ids = r.words.map((w) => {
        const id = index.get(w);
        if (id === undefined) throw new Error(`${at(e.k)}: the word ${JSON.stringify(w)} is not among the unigrams`);
        return id;
      });
      const g = asm.add(ids, r.lp, r.bo);
      if (typeof g === 'string') throw new Error(`${at(e.k)}: the ${n}-gram '${r.words.join(' ')}': ${g}`);
    }
  }
  skipBlank();
  if (i === lines.length || lines[i].trim() !== '\\end\\')
    throw new Error(
      `${i === lines.length ? `${file}, end of file` : at(i)}: expected \\end\\ after the ${order}-grams${i < lines.length ? `, found ${JSON.stringify(lines[i].trim())}` : ''}`,
    );
  return asm.m;
}
