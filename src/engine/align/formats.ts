// Writers for alignments: NIST CTM (one line per token: utterance, channel, start, duration,
// token, confidence) and the lab's JSON. CTM times are seconds; without a known frame shift they
// are output frames, and a ';;' comment line (CTM's comment syntax) says so.

import type { TokenSpan } from './spans';

export interface SampleAlignment {
  id: string;
  text: string; // the reference
  frames: number; // output frames T'
  score: number; // log-probability of the forced path
  spans: TokenSpan[];
}

export interface AlignmentSet {
  subsampling: number;
  frameShiftMs: number | null;
  samples: SampleAlignment[];
}

const num = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(3).replace(/0+$/, '').replace(/\.$/, ''));

export function alignmentsToCtm(set: AlignmentSet): string {
  const seconds = set.frameShiftMs !== null;
  const lines: string[] = [];
  if (!seconds) lines.push(';; times are output frames: the frame shift is unknown (set frame_shift_ms in outputs.json)');
  for (const s of set.samples) {
    for (const sp of s.spans) {
      const start = seconds ? sp.startSec! : sp.start;
      const dur = seconds ? sp.endSec! - sp.startSec! : sp.end - sp.start;
      lines.push(`${s.id.replace(/\s+/g, '_')} 1 ${num(start)} ${num(dur)} ${sp.token} ${sp.meanPosterior.toFixed(4)}`);
    }
  }
  return lines.join('\n') + '\n';
}

export function alignmentsToJson(set: AlignmentSet): string {
  return JSON.stringify({ format: 'ctc-lab-alignments/1', subsampling: set.subsampling, frameShiftMs: set.frameShiftMs, samples: set.samples }, null, 1);
}
