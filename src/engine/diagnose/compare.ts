// Two models on the same samples (two output sets, e.g. epoch 10 vs epoch 50, teacher vs student,
// the lab vs PyTorch): greedy WER of each, the winner per sample, and the samples where their
// hypotheses differ, read a chunk at a time.

import type { OutputSetMeta } from '../../data/types';
import type { OutputSource } from '../../data/source';
import { editCounts, wer } from '../metrics/wer';
import { greedyIds } from './outputs';

export interface CompareRow {
  id: string;
  ref: string;
  hypA: string;
  hypB: string;
  werA: number;
  werB: number;
  winner: 'a' | 'b' | 'tie';
}

export interface Comparison {
  a: { name: string; wer: number; S: number; D: number; I: number; N: number };
  b: { name: string; wer: number; S: number; D: number; I: number; N: number };
  samples: number; // ids in both sets
  onlyInA: number;
  onlyInB: number;
  aWins: number;
  bWins: number;
  ties: number;
  disagreements: number; // samples whose hypotheses differ
  rows: CompareRow[]; // disagreements first, the largest WER difference first
}

/** Pure: the comparison of two hypotheses per sample against one reference. */
export function compareDecodes(names: [string, string], rows: { id: string; ref: string; hypA: string; hypB: string }[], onlyInA = 0, onlyInB = 0): Comparison {
  const split = (s: string) => (s === '' ? [] : s.split(' '));
  const out: CompareRow[] = rows.map((r) => {
    const ea = editCounts(split(r.ref), split(r.hypA)),
      eb = editCounts(split(r.ref), split(r.hypB));
    const werA = (ea.S + ea.D + ea.I) / Math.max(ea.N, 1),
      werB = (eb.S + eb.D + eb.I) / Math.max(eb.N, 1);
    return { ...r, werA, werB, winner: werA < werB ? 'a' : werB < werA ? 'b' : 'tie' };
  });
  const refs = rows.map((r) => r.ref);
  const wa = wer(
      refs,
      rows.map((r) => r.hypA),
    ),
    wb = wer(
      refs,
      rows.map((r) => r.hypB),
    );
  return {
    a: { name: names[0], wer: wa.rate, S: wa.S, D: wa.D, I: wa.I, N: wa.N },
    b: { name: names[1], wer: wb.rate, S: wb.S, D: wb.D, I: wb.I, N: wb.N },
    samples: rows.length,
    onlyInA,
    onlyInB,
    aWins: out.filter((r) => r.winner === 'a').length,
    bWins: out.filter((r) => r.winner === 'b').length,
    ties: out.filter((r) => r.winner === 'tie').length,
    disagreements: out.filter((r) => r.hypA !== r.hypB).length,
    rows: out.sort((x, y) => Number(y.hypA !== y.hypB) - Number(x.hypA !== x.hypB) || Math.abs(y.werA - y.werB) - Math.abs(x.werA - x.werB)),
  };
}

async function greedyById(meta: OutputSetMeta, source: OutputSource, ids: Set<string>, chunk: number): Promise<Map<string, { ref: string; hyp: string }>> {
  const C = meta.classes.length;
  const out = new Map<string, { ref: string; hyp: string }>();
  const infos = source.infos.filter((s) => ids.has(s.id));
  for (let i = 0; i < infos.length; i += chunk) {
    for (const s of await source.load(infos.slice(i, i + chunk).map((x) => x.index))) {
      const g = greedyIds(new Float32Array(s.logProbs), s.outFrames, C, meta.blank);
      out.set(s.id, { ref: s.text, hyp: g.map((c) => meta.classes[c]).join(' ') });
    }
  }
  return out;
}

/** Compares two output sets on the ids they share (their references must agree). */
export async function compareOutputSets(
  a: { meta: OutputSetMeta; source: OutputSource },
  b: { meta: OutputSetMeta; source: OutputSource },
  chunk = 64,
): Promise<Comparison> {
  const idsB = new Set(b.source.infos.map((s) => s.id));
  const common = new Set(a.source.infos.map((s) => s.id).filter((id) => idsB.has(id)));
  if (common.size === 0) throw new Error(`output sets '${a.meta.name}' and '${b.meta.name}' share no sample id`);
  const [ha, hb] = [await greedyById(a.meta, a.source, common, chunk), await greedyById(b.meta, b.source, common, chunk)];
  const rows = a.source.infos
    .filter((s) => common.has(s.id))
    .map((s) => {
      const x = ha.get(s.id)!,
        y = hb.get(s.id)!;
      if (x.ref !== y.ref)
        throw new Error(
          `sample '${s.id}': the references differ ('${x.ref}' in ${a.meta.name}, '${y.ref}' in ${b.meta.name}); a comparison needs the same samples`,
        );
      return { id: s.id, ref: x.ref, hypA: x.hyp, hypB: y.hyp };
    });
  return compareDecodes([a.meta.name, b.meta.name], rows, a.source.infos.length - common.size, b.source.infos.length - common.size);
}
