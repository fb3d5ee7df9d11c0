// Forced alignments of a whole output set (or one sample of it), for the CTM / JSON downloads:
// read a chunk at a time; samples that cannot be aligned (too few output frames, tokens outside
// the vocabulary, NaN outputs) are listed with the reason instead.

import type { OutputSetMeta } from '../../data/types';
import type { OutputSource } from '../../data/source';
import { AlignmentError, forcedAlign } from './forced_align';
import { tokenSpans } from './spans';
import type { AlignmentSet } from './formats';

export async function alignOutputSet(
  meta: OutputSetMeta,
  source: OutputSource,
  opts: { ids?: string[]; chunk?: number } = {},
): Promise<AlignmentSet & { skipped: { id: string; reason: string }[] }> {
  const C = meta.classes.length,
    chunk = opts.chunk ?? 64;
  const classOf = new Map(meta.classes.map((t, c) => [t, c] as const).filter(([, c]) => c !== meta.blank));
  const want = opts.ids ? new Set(opts.ids) : null;
  const infos = source.infos.filter((s) => !want || want.has(s.id));
  if (want && infos.length !== want.size)
    throw new Error(
      `output set '${meta.name}' has no sample ${[...want]
        .filter((id) => !infos.some((s) => s.id === id))
        .map((id) => `'${id}'`)
        .join(', ')}`,
    );
  const set: AlignmentSet & { skipped: { id: string; reason: string }[] } = {
    subsampling: meta.subsampling ?? 1,
    frameShiftMs: meta.frameShiftMs,
    samples: [],
    skipped: [],
  };
  for (let i = 0; i < infos.length; i += chunk) {
    for (const s of await source.load(infos.slice(i, i + chunk).map((x) => x.index))) {
      const toks = s.text.split(' ');
      const ids = toks.map((t) => classOf.get(t));
      const unknown = toks.filter((_, k) => ids[k] === undefined);
      if (unknown.length) {
        set.skipped.push({ id: s.id, reason: `tokens that name no class: ${[...new Set(unknown)].join(', ')}` });
        continue;
      }
      const lp = new Float32Array(s.logProbs);
      try {
        const a = forcedAlign(lp, s.outFrames, C, ids as number[], meta.blank);
        set.samples.push({
          id: s.id,
          text: s.text,
          frames: s.outFrames,
          score: a.score,
          spans: tokenSpans(a, lp, C, toks, { subsampling: meta.subsampling ?? 1, frameShiftMs: meta.frameShiftMs, inputFrames: s.frames }),
        });
      } catch (e) {
        if (!(e instanceof AlignmentError)) throw e;
        set.skipped.push({ id: s.id, reason: e.message.replace(/^forcedAlign: /, '') });
      }
    }
  }
  return set;
}
