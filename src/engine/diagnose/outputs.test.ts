// Diagnostics on model outputs: the calibration scenarios, each built as a model's
// log-probabilities in TypeScript (a "true" alignment per sample, posteriors around it), each
// asserting the verdict and the named cause; a healthy converged model gets every check OK.

import { describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { Rng } from '../../lib/rng';
import { memoryOutputSource } from '../../data/source';
import { prepareOutputsImport } from '../../data/outputs_import';
import { writeNpy } from '../../data/npy';
import type { OutputSampleRecord, OutputSetMeta } from '../../data/types';
import { diagnoseOutputs } from './outputs';
import { reportToMarkdown, type DiagnosticsReport } from './report';

const TOKENS = Array.from({ length: 12 }, (_, i) => `W${i}`);
const C = TOKENS.length + 1; // blank = class 0

interface Planted {
  /** Probability of the class the alignment puts at a token frame, and at a blank frame. */
  peak?: number;
  blankPeak?: number;
  /** Every frame's distribution: 'uniform' (near-uniform), 'blank' (blank wins everywhere). */
  everywhere?: 'uniform' | 'blank';
  /** Emit class `to` where the alignment says `from`. */
  swap?: { from: number; to: number };
  /** Output frames for these sample indices: fewer than the reference needs. */
  short?: Set<number>;
}

/** A set of n samples: references of 1–12 tokens, 3 output frames per token (token spike of 1–2
 * frames, blanks around), posteriors with seeded noise. */
function makeSet(n: number, planted: Planted = {}, seed = 1): { meta: OutputSetMeta; samples: OutputSampleRecord[] } {
  const rng = new Rng(seed);
  const { peak = 0.96, blankPeak = 0.97 } = planted;
  const samples: OutputSampleRecord[] = [];
  let frames = 0;
  for (let i = 0; i < n; i++) {
    const L = rng.int(1, 12);
    const ids = Array.from({ length: L }, () => rng.int(1, C - 1));
    // The "true" alignment: blank, then per token a 1–2 frame spike and 1–2 blanks.
    const path: number[] = [0];
    for (const c of ids) {
      const w = rng.int(1, 2);
      for (let k = 0; k < w; k++) path.push(c);
      for (let k = rng.int(1, 2); k > 0; k--) path.push(0);
    }
    let T = path.length;
    if (planted.short?.has(i)) T = Math.max(1, Math.floor(L / 2));
    const lp = new Float32Array(T * C);
    for (let t = 0; t < T; t++) {
      let target = path[Math.min(t, path.length - 1)];
      if (planted.swap && target === planted.swap.from) target = planted.swap.to;
      const p = new Float64Array(C);
      if (planted.everywhere === 'uniform') for (let c = 0; c < C; c++) p[c] = 1 + 0.05 * rng.next();
      else {
        const top = planted.everywhere === 'blank' ? blankPeak : target === 0 ? blankPeak : peak;
        const at = planted.everywhere === 'blank' ? 0 : target;
        for (let c = 0; c < C; c++) p[c] = 0.5 + rng.next();
        let rest = 0;
        for (let c = 0; c < C; c++) if (c !== at) rest += p[c];
        for (let c = 0; c < C; c++) p[c] = c === at ? top : ((1 - top) * p[c]) / rest;
      }
      const z = p.reduce((a, b) => a + b, 0);
      for (let c = 0; c < C; c++) lp[t * C + c] = Math.log(p[c] / z);
    }
    frames += T;
    samples.push({
      setId: 'o',
      index: i,
      id: `s${i}`,
      text: ids.map((c) => TOKENS[c - 1]).join(' '),
      split: 'val',
      frames: T * 4,
      outFrames: T,
      logProbs: lp.buffer,
    });
  }
  const meta: OutputSetMeta = {
    id: 'o',
    name: 'planted',
    source: 'import',
    createdAt: 0,
    numSamples: n,
    counts: { train: 0, val: n, test: 0, none: 0 },
    classes: ['<blank>', ...TOKENS],
    blank: 0,
    kind: { declared: 'log_probs', detected: { log_probs: n, logits: 0, probs: 0 }, lseMin: 0, lseMax: 0 },
    subsampling: 4,
    subsamplingSource: 'outputs.json',
    frameShiftMs: 10,
    model: 'planted',
    outFrames: { min: 1, mean: frames / n, max: 99 },
    bytes: frames * C * 4,
    datasetId: null,
    datasetName: null,
    nonFinite: [],
  };
  return { meta, samples };
}

const run = (set: { meta: OutputSetMeta; samples: OutputSampleRecord[] }) => diagnoseOutputs(set.meta, memoryOutputSource(set.samples), { chunk: 7 });
const check = (r: DiagnosticsReport, id: string) => r.checks.find((c) => c.id === id)!;
const statuses = (r: DiagnosticsReport) => Object.fromEntries(r.checks.map((c) => [c.id, c.status]));

describe('diagnostics on model outputs: the calibration scenarios', () => {
  it('healthy converged model: every check OK, ten checks with the report headings', async () => {
    const r = await run(makeSet(80));
    expect(r.checks.map((c) => c.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(statuses(r)).toEqual({
      outputs: 'ok',
      entropy: 'ok',
      'blank-rate': 'ok',
      feasibility: 'ok',
      decoding: 'ok',
      loss: 'ok',
      tokens: 'ok',
      'error-split': 'ok',
      'sample-loss': 'ok',
      'wer-by-length': 'ok',
    });
    expect(r.checks.every((c) => c.cause === '')).toBe(true);
    expect(check(r, 'error-split').numbers.wer).toBe(0);
    const md = reportToMarkdown(r);
    for (const [n, title] of [
      'Model outputs',
      'Prediction entropy',
      'Blank rate',
      "Feasibility at T'",
      'Decoding',
      'Loss against the uniform baseline',
      'Tokens',
      'Length ratio and S/D/I',
      'Per-sample loss',
      'WER by reference length',
    ].entries()) {
      expect(md).toContain(`## ${n + 1}. ${title} — OK`);
    }
    expect(md).toContain('- Model outputs: planted (planted) — 80 samples (all), 13 classes, blank 0, time subsampling ×4, frame shift 10 ms');
  });

  it('blank collapse: blank rate FAIL naming the collapse; deletions dominate', async () => {
    const r = await run(makeSet(60, { everywhere: 'blank' }));
    expect(check(r, 'blank-rate')).toMatchObject({ status: 'fail', numbers: { blankRate: 1, emittedTokens: 0 } });
    expect(check(r, 'blank-rate').cause).toContain('Blank collapse');
    expect(check(r, 'error-split').status).toBe('warn');
    expect(check(r, 'error-split').cause).toContain('Deletions dominate');
    expect(check(r, 'error-split').cause).toContain('blank-heavy');
  });

  it('near-uniform outputs: entropy FAIL (guessing uniformly) and loss at the uniform baseline', async () => {
    const r = await run(makeSet(60, { everywhere: 'uniform' }));
    expect(check(r, 'entropy').status).toBe('fail');
    expect(check(r, 'entropy').cause).toContain('guessing uniformly');
    expect(check(r, 'loss').status).toBe('fail');
    expect(check(r, 'loss').cause).toContain('uniform-guessing level');
    expect(check(r, 'blank-rate').status).toBe('ok'); // not a blank collapse
  });

  it('correct but low-confidence peaks: greedy is right, adaptive filtering hides it (the field guide)', async () => {
    const r = await run(makeSet(60, { peak: 0.4 }));
    const d = check(r, 'decoding');
    expect(d.numbers.greedyWer).toBe(0);
    expect(d.numbers.adaptiveWer).toBe(1);
    expect(d.status).toBe('warn');
    expect(d.cause).toContain('Confidence filtering removes tokens the model gets right');
    expect(d.fix).toContain('simple greedy decoding');
    expect(r.verdict.failing).toEqual([]);
  });

  it('one token systematically emitted as another: tokens FAIL naming the pair and the class mapping', async () => {
    const r = await run(makeSet(80, { swap: { from: 4, to: 8 } })); // W3 → W7
    const t = check(r, 'tokens');
    expect(t.status).toBe('fail');
    expect(t.cause).toMatch(/^Systematic confusion: 'W3' is emitted as 'W7' in \d+ of its \d+ occurrences/);
    expect(t.cause).toContain('class mapping');
    expect(check(r, 'error-split').cause).toContain('Substitutions dominate');
  });

  it('too few output frames for some samples: feasibility FAIL listing them', async () => {
    const short = new Set([3, 17, 41]);
    const set = makeSet(60, { short });
    const want = [...short].filter((i) => set.samples[i].text.split(' ').length > set.samples[i].outFrames).map((i) => `s${i}`);
    expect(want.length).toBeGreaterThan(1);
    const r = await run(set);
    const f = check(r, 'feasibility');
    expect(f.status).toBe('fail');
    expect((f.details as { infeasible: { id: string }[] }).infeasible.map((x) => x.id)).toEqual(want);
    expect(f.cause).toContain('have too few output frames for their reference');
    expect(f.cause).toContain('×4 time subsampling leaves too few frames');
    expect(check(r, 'loss').numbers.excluded).toBe(want.length);
  });

  it('references shuffled for 10% of the samples: per-sample loss FAIL listing exactly them as likely label noise', async () => {
    const set = makeSet(80);
    const shuffled = [5, 12, 20, 33, 41, 50, 66, 79];
    const texts = shuffled.map((i) => set.samples[i].text);
    shuffled.forEach((i, k) => (set.samples[i] = { ...set.samples[i], text: texts[(k + 1) % texts.length] }));
    const r = await run(set);
    const c = check(r, 'sample-loss');
    expect(c.status).toBe('fail');
    expect(c.cause).toContain('likely label noise');
    const ids = (c.details as { outliers: { id: string }[] }).outliers.map((o) => o.id).sort();
    // A shuffled reference the outputs cannot hold at all is infeasible (listed there instead).
    const infeasible = (check(r, 'feasibility').details as { infeasible: { id: string }[] }).infeasible.map((x) => x.id);
    expect([...ids, ...infeasible].sort()).toEqual(shuffled.map((i) => `s${i}`).sort());
    expect(ids.length).toBeGreaterThanOrEqual(4);
  });
});

describe('logits given instead of log-probabilities (through the importer)', () => {
  /** The planted set's log-probabilities written as logits: each row shifted by its own offset. */
  async function imported(json: object | null) {
    const { samples } = makeSet(20);
    const npz: Record<string, Uint8Array> = {};
    const rng = new Rng(5);
    for (const s of samples) {
      const x = new Float32Array(s.logProbs).slice();
      for (let t = 0; t < s.outFrames; t++) {
        const shift = 2 + 3 * rng.next();
        for (let c = 0; c < C; c++) x[t * C + c] += shift;
      }
      npz[`${s.id}.npy`] = writeNpy(x, [s.outFrames, C]);
    }
    const enc = new TextEncoder();
    const files = [
      { path: 'm/manifest.jsonl', blob: new Blob([enc.encode(samples.map((s) => JSON.stringify({ id: s.id, text: s.text })).join('\n'))]) },
      { path: 'm/vocab.txt', blob: new Blob([enc.encode(TOKENS.join('\n'))]) },
      { path: 'm/posteriors.npz', blob: new Blob([zipSync(npz) as BlobPart]) },
      ...(json ? [{ path: 'm/outputs.json', blob: new Blob([enc.encode(JSON.stringify(json))]) }] : []),
    ];
    const p = await prepareOutputsImport(files, 'logits');
    const meta: OutputSetMeta = { ...p.meta, id: 'o', createdAt: 0 };
    return run({ meta, samples: p.samples.map((s, index) => ({ ...s, setId: 'o', index })) });
  }

  it('declared log_probs: model outputs FAIL — these are logits, the loss needs log_softmax; the rest is judged on the normalised values', async () => {
    const r = await imported({ kind: 'log_probs' });
    const o = check(r, 'outputs');
    expect(o.status).toBe('fail');
    expect(o.cause).toContain('outputs.json says log_probs, but the rows are not normalised');
    expect(o.cause).toContain('these are logits');
    expect(o.fix).toContain('Apply log_softmax');
    expect(check(r, 'error-split').numbers.wer).toBe(0); // normalised: the model itself is fine
    expect(r.verdict.failing).toEqual(['Model outputs']);
  });

  it('nothing declared: WARN, the kind found and that the lab normalised them', async () => {
    const o = check(await imported(null), 'outputs');
    expect(o.status).toBe('warn');
    expect(o.summary).toContain('found logits (20 samples); logits normalised with log_softmax');
    expect(o.cause).toContain('logits, not log-probabilities');
  });

  it('declared logits: OK', async () => {
    expect(check(await imported({ kind: 'logits' }), 'outputs')).toMatchObject({ status: 'ok', cause: '' });
  });
});
