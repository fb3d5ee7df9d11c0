// Built-in demo dataset, generated from a seed: a small vocabulary of "words", each a template of
// a few feature frames; an utterance strings 2-6 words together, each time-warped, with short
// silences between them and Gaussian noise on every frame. Small enough that the overfit test
// passes in seconds on a CPU-emulated GPU, structured enough that a CTC model has to align.

import { Rng } from '../lib/rng';
import { assignSplits, finishDataset, type PreparedDataset, type PreparedSample } from './prepare';

export interface DemoOptions {
  seed: number; // usual 42
  numSamples: number; // utterances, usual 160
  featureDim: number; // F, usual 12
  words: string[]; // vocabulary
  noise: number; // std of additive noise, usual 0.15
}

export const DEMO_DEFAULTS: DemoOptions = {
  seed: 42,
  numSamples: 160,
  featureDim: 12,
  words: ['HELLO', 'THANK-YOU', 'PLEASE', 'YES', 'NO', 'HOUSE', 'WATER', 'FRIEND'],
  noise: 0.15,
};

export function generateDemo(opts: Partial<DemoOptions> = {}): PreparedDataset {
  const o = { ...DEMO_DEFAULTS, ...opts };
  const rng = new Rng(o.seed);
  const F = o.featureDim;
  // Each word: 3-5 template frames of unit-scale random vectors.
  const templates = o.words.map(() => {
    const k = rng.int(3, 5);
    return Array.from({ length: k }, () => Float32Array.from({ length: F }, () => rng.normal()));
  });

  const rows: { id: string; text: string; frames: Float32Array[] }[] = [];
  for (let i = 0; i < o.numSamples; i++) {
    const n = rng.int(2, 6);
    const seq = Array.from({ length: n }, () => rng.int(0, o.words.length - 1));
    const frames: Float32Array[] = [];
    const silence = (count: number) => {
      for (let c = 0; c < count; c++) frames.push(new Float32Array(F));
    };
    silence(rng.int(1, 2));
    seq.forEach((w, j) => {
      const tpl = templates[w];
      // Time warp: resample the template to 0.8-1.4x its length (at least 3 frames), linearly.
      const len = Math.max(3, Math.round(tpl.length * (0.8 + 0.6 * rng.next())));
      for (let t = 0; t < len; t++) {
        const pos = (t * (tpl.length - 1)) / (len - 1);
        const a = Math.floor(pos),
          b = Math.min(a + 1, tpl.length - 1),
          f = pos - a;
        frames.push(Float32Array.from({ length: F }, (_, d) => tpl[a][d] * (1 - f) + tpl[b][d] * f));
      }
      if (j < n - 1) silence(rng.int(1, 2));
    });
    silence(rng.int(1, 2));
    for (const fr of frames) for (let d = 0; d < F; d++) fr[d] += o.noise * rng.normal();
    rows.push({ id: `demo-${String(i).padStart(4, '0')}`, text: seq.map((w) => o.words[w]).join(' '), frames });
  }

  const splits = assignSplits(
    rows.map(() => undefined),
    o.seed,
  );
  const samples: PreparedSample[] = rows.map((r, i) => {
    const x = new Float32Array(r.frames.length * F);
    r.frames.forEach((fr, t) => x.set(fr, t * F));
    return { id: r.id, text: r.text, split: splits[i], frames: r.frames.length, features: x.buffer };
  });
  return finishDataset('Demo (seed ' + o.seed + ')', 'demo', samples, F);
}
