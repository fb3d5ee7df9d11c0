// The decode pool: module workers (lm_decode.worker.ts), one per core (navigator.hardwareConcurrency,
// at most 4, at least 1), each holding a copy of the LM and its share of the set (decodeShares:
// balanced by frames), so an (α, β) point costs one small message each way per worker and the
// samples and LM cross once per run. The LM crosses as transferables (a copy of its arrays per
// worker: modelTransferables). Wired by the entry (lab.worker.ts: useDecoders), so the LM feature
// (lms.ts) gets it without importing another worker module; where workers cannot start (Node tests),
// the feature keeps decoding on its own thread. close() terminates the workers (Stop, or the end).

import {
  decodeShares,
  type BatchDecoder,
  type DecodeReply,
  type DecodeRequest,
  type DecodeSample,
  type DecoderFactory,
  type LmDecodeSetup,
} from '../engine/diagnose/lm_decoding';
import { modelTransferables, type NgramModel } from '../engine/lm/ngram';

/** Workers for a set of `samples`: one per core, at most 4, at least 1, never more than samples. */
export function poolSize(samples: number, cores = globalThis.navigator?.hardwareConcurrency ?? 1): number {
  return Math.max(1, Math.min(4, cores || 1, samples));
}

const copyModel = (m: NgramModel): NgramModel => ({
  ...m,
  vocab: m.vocab,
  starts: m.starts.slice(),
  word: m.word.slice(),
  context: m.context.slice(),
  suffix: m.suffix.slice(),
  logProb: m.logProb.slice(),
  backoff: m.backoff.slice(),
  table: m.table.slice(),
});

export function decodePool(size?: number): DecoderFactory {
  return async (setup: LmDecodeSetup, samples: DecodeSample[]): Promise<BatchDecoder & { close(): void }> => {
    const n = size ?? poolSize(samples.length);
    const shares = decodeShares(
      samples.map((s) => s.frames),
      n,
    ).filter((s) => s.length);
    const workers = shares.map((share, k) => {
      const w = new Worker(new URL('./lm_decode.worker.ts', import.meta.url), { type: 'module', name: `ctc-lab-decode-${k}` });
      const lm = copyModel(setup.lm);
      const mine = share.map((i) => ({ logProbs: samples[i].logProbs.slice(), frames: samples[i].frames }));
      const msg: DecodeRequest = { type: 'setup', setup: { ...setup, lm }, samples: mine };
      w.postMessage(msg, [...modelTransferables(lm), ...mine.map((s) => s.logProbs.buffer as ArrayBuffer)]);
      return w;
    });
    let next = 0;
    let closed = false;
    const ask = (w: Worker, req: Extract<DecodeRequest, { type: 'decode' }>) =>
      new Promise<number[][]>((resolve, reject) => {
        const onMessage = (e: MessageEvent<DecodeReply>) => {
          if (e.data.id !== req.id) return;
          done();
          if ('error' in e.data) reject(new Error(e.data.error));
          else resolve(e.data.ids);
        };
        const onError = (e: ErrorEvent) => {
          done();
          reject(new Error(`a decode worker failed: ${e.message || 'could not start'}`));
        };
        const done = () => {
          w.removeEventListener('message', onMessage);
          w.removeEventListener('error', onError);
        };
        w.addEventListener('message', onMessage);
        w.addEventListener('error', onError);
        w.postMessage(req);
      });
    return {
      async decode(alpha, beta, useLm) {
        if (closed) throw new Error('the decode pool is closed');
        const id = next++;
        const parts = await Promise.all(workers.map((w) => ask(w, { type: 'decode', id, alpha, beta, useLm })));
        const out: number[][] = new Array(samples.length);
        shares.forEach((share, k) => share.forEach((i, j) => (out[i] = parts[k][j])));
        return out;
      },
      close() {
        closed = true;
        workers.forEach((w) => w.terminate());
      },
    };
  };
}
