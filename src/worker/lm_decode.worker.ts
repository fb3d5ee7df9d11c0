// A decode worker of the pool (lm_pool.ts): holds one LM and its share of a set's log-probabilities,
// and decodes the share with lmBeamSearch at each (α, β) asked. Messages (plain data; the LM's and
// the samples' arrays arrive as transferables):
//   → { type: 'setup', setup: LmDecodeSetup, samples: DecodeSample[] }
//   → { type: 'decode', id, alpha, beta, useLm }   ← { id, ids: number[][] } or { id, error }

import { decodeSamples, setupFusion, type DecodeSample, type LmDecodeSetup } from '../engine/diagnose/lm_decoding';
import type { Fusion } from '../engine/decode/lm_beam';

export type DecodeRequest =
  { type: 'setup'; setup: LmDecodeSetup; samples: DecodeSample[] } | { type: 'decode'; id: number; alpha: number; beta: number; useLm: boolean };
export type DecodeReply = { id: number; ids: number[][] } | { id: number; error: string };

const scope = self as unknown as Worker; // this worker's global scope
let held: { setup: LmDecodeSetup; fusion: Fusion; samples: DecodeSample[] } | null = null;

scope.onmessage = (e: MessageEvent<DecodeRequest>) => {
  const m = e.data;
  if (m.type === 'setup') {
    held = { setup: m.setup, fusion: setupFusion(m.setup), samples: m.samples };
    return;
  }
  let reply: DecodeReply;
  try {
    if (!held) throw new Error('decode worker: no set (setup first)');
    reply = { id: m.id, ids: decodeSamples(held.setup, held.fusion, held.samples, m.alpha, m.beta, m.useLm) };
  } catch (err) {
    reply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
  }
  scope.postMessage(reply);
};
