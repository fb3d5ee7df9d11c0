// The decode pool (lm_pool.ts) against decoding on one thread: the same hypotheses at every (α, β),
// with the real decode worker module (lm_decode.worker.ts) run behind a stand-in Worker (Node has
// none): each stand-in loads its own copy of the module and passes messages by structured clone.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Rng } from '../lib/rng';
import { buildKneserNey } from '../engine/lm/kneser_ney';
import { decodeShares, inlineDecoder, type DecodeSample, type LmDecodeSetup } from '../engine/diagnose/lm_decoding';
import { decodePool, poolSize } from './lm_pool';

class StandInWorker {
  static started = 0;
  private listeners = new Set<(e: { data: unknown }) => void>();
  private scope: { onmessage: ((e: { data: unknown }) => void) | null; postMessage: (d: unknown) => void } = {
    onmessage: null,
    postMessage: (d) => queueMicrotask(() => this.listeners.forEach((l) => l({ data: structuredClone(d) }))),
  };
  private loaded: Promise<void>;
  private static chain: Promise<void> = Promise.resolve();
  constructor() {
    StandInWorker.started++;
    // One module instance per worker, each evaluated with its own `self`, one after the other.
    this.loaded = StandInWorker.chain = StandInWorker.chain.then(async () => {
      vi.stubGlobal('self', this.scope);
      vi.resetModules();
      await import('./lm_decode.worker');
    });
  }
  postMessage(d: unknown) {
    const copy = structuredClone(d);
    void this.loaded.then(() => this.scope.onmessage!({ data: copy }));
  }
  addEventListener(_t: string, l: (e: { data: unknown }) => void) {
    this.listeners.add(l);
  }
  removeEventListener(_t: string, l: (e: { data: unknown }) => void) {
    this.listeners.delete(l);
  }
  terminate() {}
}

afterEach(() => vi.unstubAllGlobals());

describe('the decode pool', () => {
  it('shares balance frames, keep every sample once, in order', () => {
    const frames = [10, 3, 7, 7, 1, 20];
    const s = decodeShares(frames, 3);
    expect(s.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(s).toEqual([[5], [0, 1, 4], [2, 3]]); // loads 21, 17, 16 (frames + 1 each)
    expect(decodeShares([5], 4).filter((x) => x.length)).toEqual([[0]]);
    expect(poolSize(100, 2)).toBe(2);
    expect(poolSize(100, 16)).toBe(4);
    expect(poolSize(3, 16)).toBe(3);
    expect(poolSize(100, 0)).toBe(1);
  });

  it('gives the same hypotheses as one thread, with the LM and without', async () => {
    vi.stubGlobal('Worker', StandInWorker);
    const rng = new Rng(11);
    const words = ['A', 'B', 'C', 'D', 'E'];
    const sentences = Array.from({ length: 200 }, () => Array.from({ length: rng.int(1, 5) }, () => words[rng.int(0, 4)]));
    const setup: LmDecodeSetup = { lm: buildKneserNey(sentences, 3).model, classes: ['<blank>', ...words], blank: 0, beamWidth: 6, prune: Math.log(1e-4) };
    const C = 6;
    const samples: DecodeSample[] = Array.from({ length: 9 }, () => {
      const T = rng.int(4, 14);
      const lp = new Float32Array(T * C);
      for (let t = 0; t < T; t++) {
        const row = Array.from({ length: C }, () => 2 * rng.normal());
        const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
        row.forEach((v, c) => (lp[t * C + c] = v - lse));
      }
      return { logProbs: lp, frames: T };
    });
    const pool = await decodePool(3)(setup, samples);
    expect(StandInWorker.started).toBe(3);
    const one = inlineDecoder(setup, samples);
    for (const [a, b, lm] of [
      [0, 0, false],
      [0.5, 1, true],
      [2, -1, true],
    ] as const)
      expect(await pool.decode(a, b, lm)).toEqual(await one.decode(a, b, lm));
    pool.close();
    await expect(pool.decode(0, 0, false)).rejects.toThrow('closed');
  });
});
