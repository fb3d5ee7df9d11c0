import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { prepareOutputsImport, streamOutputsImport, type AttachTarget } from './outputs_import';
import { OutputsZipWriter } from './outputs_write';
import { outputStagingSink } from './staging';
import type { InputFile } from './import';
import { writeNpy } from './npy';
import { encodeFloat16 } from './float16';
import * as store from './store';
import * as outputStore from './store_outputs';
import { generateDemo } from './demo';
import type { OutputSetMeta } from './types';

const enc = new TextEncoder();
const blob = (x: Uint8Array | string) => new Blob([(typeof x === 'string' ? enc.encode(x) : x) as BlobPart]);
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** float16 .npy (writeNpy writes float32/64 only). */
function npy16(data: Float32Array, shape: number[]): Uint8Array {
  const f32 = writeNpy(data, shape);
  const headerLen = new DataView(f32.buffer).getUint16(8, true);
  const head = f32.slice(0, 10 + headerLen);
  const text = new TextDecoder().decode(head.subarray(10)).replace("'<f4'", "'<f2'");
  const out = new Uint8Array(10 + headerLen + data.length * 2);
  out.set(head.subarray(0, 10));
  out.set(enc.encode(text), 10);
  out.set(new Uint8Array(encodeFloat16(data).buffer), 10 + headerLen);
  return out;
}

/** Log-probabilities [T, C] (float64 log_softmax of a deterministic pattern). */
function logProbs(T: number, C: number, seed = 1): Float32Array {
  const out = new Float32Array(T * C);
  for (let t = 0; t < T; t++) {
    const row = Array.from({ length: C }, (_, c) => Math.sin(seed * 7 + t * 3 + c * 1.3) * 3);
    const m = Math.max(...row);
    const lse = m + Math.log(row.reduce((s, v) => s + Math.exp(v - m), 0));
    row.forEach((v, c) => (out[t * C + c] = v - lse));
  }
  return out;
}
const npy = (x: Float32Array, T: number, C: number) => writeNpy(x, [T, C]);

// Vocabulary A B C → classes <blank> A B C (C = 4).
const ROWS = [
  { id: 'u1', text: 'A B', split: 'val', frames: 20 },
  { id: 'u2', text: 'B C A', split: 'val', frames: 24 },
  { id: 'u3', text: 'C', frames: 16 },
];
const T_OF: Record<string, number> = { u1: 10, u2: 12, u3: 8 };

function outputSet(
  opts: { json?: object | string | null; vocab?: string; rows?: object[]; npz?: Record<string, Uint8Array>; extra?: Record<string, Uint8Array | string> } = {},
): InputFile[] {
  const rows = opts.rows ?? ROWS;
  const npz = opts.npz ?? Object.fromEntries(ROWS.map((r, i) => [`${r.id}.npy`, npy(logProbs(T_OF[r.id], 4, i), T_OF[r.id], 4)]));
  const files: InputFile[] = [
    { path: 'out/manifest.jsonl', blob: blob(jsonl(rows)) },
    { path: 'out/vocab.txt', blob: blob(opts.vocab ?? 'A\nB\nC\n') },
    { path: 'out/posteriors.npz', blob: blob(zipSync(npz)) },
  ];
  const json = opts.json === undefined ? { kind: 'log_probs', subsampling: 2, frame_shift_ms: 10, model: 'tiny' } : opts.json;
  if (json !== null) files.push({ path: 'out/outputs.json', blob: blob(typeof json === 'string' ? json : JSON.stringify(json)) });
  for (const [p, b] of Object.entries(opts.extra ?? {})) files.push({ path: `out/${p}`, blob: blob(b) });
  return files;
}

describe('model outputs: accepted inputs', () => {
  it('folder with manifest.jsonl, vocab.txt (blank = class 0), posteriors.npz and outputs.json', async () => {
    const { meta, samples, report } = await prepareOutputsImport(outputSet(), 'tiny');
    expect(meta).toMatchObject({
      numSamples: 3,
      classes: ['<blank>', 'A', 'B', 'C'],
      blank: 0,
      subsampling: 2,
      subsamplingSource: 'outputs.json',
      frameShiftMs: 10,
      model: 'tiny',
      counts: { train: 0, val: 2, test: 0, none: 1 },
      outFrames: { min: 8, max: 12 },
      bytes: (10 + 12 + 8) * 4 * 4,
      datasetId: null,
      nonFinite: [],
      kind: { declared: 'log_probs', detected: { log_probs: 3, logits: 0, probs: 0 } },
    });
    expect(samples.map((s) => [s.id, s.split, s.frames, s.outFrames])).toEqual([
      ['u1', 'val', 20, 10],
      ['u2', 'val', 24, 12],
      ['u3', null, 16, 8],
    ]);
    expect(new Float32Array(samples[1].logProbs)).toEqual(logProbs(12, 4, 1)); // log-probabilities kept bit for bit
    expect(report).toMatchObject({ normalised: '3 samples of log-probabilities kept as they are', infeasible: [], oov: [], unusedFiles: [] });
  });

  it("a '<blank>' line marks the blank's class; per-sample .npy named by the manifest; manifest.tsv; no outputs.json: subsampling inferred", async () => {
    const tsv = 'id\ttext\tframes\tposteriors\n' + ROWS.map((r) => `${r.id}\t${r.text}\t${r.frames}\tp/${r.id}.npy`).join('\n') + '\n';
    const files: InputFile[] = [
      { path: 'm/manifest.tsv', blob: blob(tsv) },
      { path: 'm/vocab.txt', blob: blob('A\nB\nC\n<blank>\n') },
      ...ROWS.map((r, i) => ({ path: `m/p/${r.id}.npy`, blob: blob(npy(logProbs(T_OF[r.id], 4, i), T_OF[r.id], 4)) })),
    ];
    const { meta } = await prepareOutputsImport(files, 'm');
    expect(meta).toMatchObject({ classes: ['A', 'B', 'C', '<blank>'], blank: 3, subsampling: 2, subsamplingSource: 'inferred', kind: { declared: null } });
  });

  it('outputs.json blank without a <blank> line: the tokens fill the other classes in order', async () => {
    const { meta } = await prepareOutputsImport(outputSet({ json: { blank: 2 } }), 'b');
    expect(meta.classes).toEqual(['A', 'B', '<blank>', 'C']);
  });

  it('kind detected per set: logits are normalised with log_softmax, probabilities logged; float16 and float64 read', async () => {
    const lp = logProbs(10, 4, 5);
    const logits = lp.map((v, i) => v + 3 + (i % 4 === 0 ? 0 : 0) + Math.floor(i / 4)); // a different shift per row
    const probs = lp.map(Math.exp);
    const withNpz = (x: Uint8Array) => outputSet({ json: null, rows: [ROWS[0]], npz: { 'u1.npy': x } });
    const a = await prepareOutputsImport(withNpz(npy(logits, 10, 4)), 'logits');
    expect(a.meta.kind).toMatchObject({ declared: null, detected: { logits: 1, log_probs: 0, probs: 0 } });
    expect(a.meta.kind.lseMin).toBeGreaterThan(2.9);
    expect(a.report.normalised).toBe('1 samples of logits normalised with log_softmax');
    new Float32Array(a.samples[0].logProbs).forEach((v, k) => expect(v).toBeCloseTo(lp[k], 5));
    const b = await prepareOutputsImport(withNpz(writeNpy(Float64Array.from(probs), [10, 4])), 'probs');
    expect(b.meta.kind.detected).toEqual({ log_probs: 0, logits: 0, probs: 1 });
    new Float32Array(b.samples[0].logProbs).forEach((v, k) => expect(v).toBeCloseTo(lp[k], 5));
    const c = await prepareOutputsImport(withNpz(npy16(lp, [10, 4])), 'f16');
    expect(c.meta.kind.detected.log_probs).toBe(1); // float16 rounding within the tolerance
    new Float32Array(c.samples[0].logProbs).forEach((v, k) => expect(Math.abs(v - lp[k])).toBeLessThan(Math.abs(lp[k]) * 2 ** -10 + 1e-7));
  });

  it('the report lists NaN/+Inf samples (kept: the diagnosis names them), out-of-vocabulary tokens, infeasible samples, unused files', async () => {
    const bad = logProbs(10, 4, 0);
    bad[13] = NaN;
    const files = outputSet({
      rows: [ROWS[0], { ...ROWS[1], text: 'B B B B B B B A Z' }, ROWS[2]],
      npz: { 'u1.npy': npy(bad, 10, 4), 'u2.npy': npy(logProbs(6, 4), 6, 4), 'u3.npy': npy(logProbs(8, 4), 8, 4) },
      json: { kind: 'log_probs' },
      extra: { 'stray.npy': npy(logProbs(2, 4), 2, 4) },
    });
    const { meta, report } = await prepareOutputsImport(files, 'r');
    expect(report.nonFinite).toEqual([{ id: 'u1', file: 'out/posteriors.npz:u1.npy', values: 1, first: 'NaN at frame 3, class 1' }]);
    expect(meta.nonFinite).toEqual([{ id: 'u1', values: 1, first: 'NaN at frame 3, class 1' }]);
    expect(report.oov).toEqual([{ token: 'Z', count: 1, firstId: 'u2' }]);
    expect(report.infeasible).toEqual([{ id: 'u2', outFrames: 6, needed: 15 }]);
    expect(report.unusedFiles).toEqual(['out/stray.npy']);
  });

  it('attached to a stored dataset: same ids and references; input frames taken from the dataset', async () => {
    const attach: AttachTarget = { id: 'ds-1', name: 'words', infos: ROWS.map((r) => ({ id: r.id, text: r.text, frames: r.frames })) };
    const rows = ROWS.map(({ frames: _f, ...r }) => r);
    const { meta, samples, report } = await prepareOutputsImport(outputSet({ rows }), 'att', { attach });
    expect(meta).toMatchObject({ datasetId: 'ds-1', datasetName: 'words' });
    expect(report.attachedTo).toEqual({ id: 'ds-1', name: 'words' });
    expect(samples.map((s) => s.frames)).toEqual([20, 24, 16]);
  });
});

describe('model outputs: the writer', () => {
  it('writes the format as one .zip that imports back to the same values, classes and settings', async () => {
    const w = new OutputsZipWriter({ classes: ['<blank>', 'A', 'B', 'C'], blank: 0, subsampling: 2, frameShiftMs: 10, model: 'ctc-lab tcn' });
    const data = ROWS.map((r, i) => logProbs(T_OF[r.id], 4, i));
    ROWS.forEach((r, i) => w.add({ id: r.id, text: r.text, split: (r.split as 'val') ?? null, frames: r.frames, logProbs: data[i] }));
    w.add({ id: 'odd/id with spaces', text: 'A', split: 'test', frames: null, logProbs: logProbs(3, 4, 9) });
    const zip = w.finish();
    const { meta, samples } = await prepareOutputsImport([{ path: 'export.zip', blob: zip }], 'back');
    expect(meta).toMatchObject({
      classes: ['<blank>', 'A', 'B', 'C'],
      blank: 0,
      subsampling: 2,
      frameShiftMs: 10,
      model: 'ctc-lab tcn',
      kind: { declared: 'log_probs' },
      counts: { val: 2, test: 1, none: 1 },
    });
    expect(samples.map((s) => [s.id, s.text, s.split, s.frames])).toEqual([
      ...ROWS.map((r) => [r.id, r.text, r.split ?? null, r.frames]),
      ['odd/id with spaces', 'A', 'test', null],
    ]);
    samples.slice(0, 3).forEach((s, i) => expect(new Float32Array(s.logProbs)).toEqual(data[i]));
  });
});

async function snapshot() {
  const d = await store.db();
  return {
    datasets: (await d.getAllKeys('datasets')).sort(),
    samples: await d.count('samples'),
    outputSets: (await d.getAllKeys('outputSets')).sort(),
    outputSamples: await d.count('outputSamples'),
  };
}

/** Stages an output import the way the worker does; discards on failure. */
async function stage(files: InputFile[], attach?: AttachTarget) {
  const id = store.newId('out');
  const sink = outputStagingSink(id, { batchBytes: 100 });
  try {
    const { meta } = await streamOutputsImport(files, 'o', sink, { attach });
    await sink.flush();
    return { ...meta, id, createdAt: 0 } as OutputSetMeta;
  } catch (e) {
    await outputStore.discardStagedOutputs(id);
    throw e;
  }
}

describe('model outputs: staged in IndexedDB (fake-indexeddb)', () => {
  it('invisible until committed; then listed and read back; deleting it removes its samples only', async () => {
    const before = await snapshot();
    const meta = await stage(outputSet());
    expect((await outputStore.listOutputSets()).some((o) => o.id === meta.id)).toBe(false);
    await outputStore.commitOutputSet(meta);
    expect((await outputStore.listOutputSets()).map((o) => o.id)).toContain(meta.id);
    expect((await outputStore.outputSampleInfos(meta.id)).map((s) => [s.index, s.id, s.outFrames])).toEqual([
      [0, 'u1', 10],
      [1, 'u2', 12],
      [2, 'u3', 8],
    ]);
    const [u2] = await outputStore.getOutputSamples(meta.id, [1]);
    expect(new Float32Array(u2.logProbs)).toEqual(logProbs(12, 4, 1));
    await outputStore.deleteOutputSet(meta.id);
    expect(await snapshot()).toEqual(before);
  });

  it('orphaned samples of an interrupted import are removed at start; a set another tab stages is kept', async () => {
    const before = await snapshot();
    const a = await stage(outputSet());
    const b = await stage(outputSet());
    expect(await outputStore.removeOrphanOutputSamples((id) => id === b.id)).toEqual([a.id]);
    await outputStore.discardStagedOutputs(b.id);
    expect(await snapshot()).toEqual(before);
  });

  it('deleting the dataset an output set is attached to leaves the set, standalone', async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 4, numSamples: 12 }));
    const infos = await store.sampleInfos(ds.id);
    const rows = infos.slice(0, 2).map((s) => ({ id: s.id, text: s.text }));
    const npz = Object.fromEntries(
      infos.slice(0, 2).map((s) => [`${s.id}.npy`, npy(logProbs(Math.ceil(s.frames / 2), ds.vocab.length + 1), Math.ceil(s.frames / 2), ds.vocab.length + 1)]),
    );
    const meta = await stage(outputSet({ rows, npz, vocab: ds.vocab.join('\n'), json: { kind: 'log_probs', subsampling: 2 } }), {
      id: ds.id,
      name: ds.name,
      infos,
    });
    await outputStore.commitOutputSet(meta);
    expect((await outputStore.getOutputSet(meta.id)).datasetId).toBe(ds.id);
    await store.deleteDataset(ds.id);
    expect(await outputStore.getOutputSet(meta.id)).toMatchObject({ datasetId: null, numSamples: 2 });
    await outputStore.deleteOutputSet(meta.id);
  });

  it('commit refuses a staging area with missing samples', async () => {
    const meta = await stage(outputSet());
    await expect(outputStore.commitOutputSet({ ...meta, numSamples: 4 })).rejects.toThrow(
      `staged output set ${meta.id} has 3 samples, expected 4; nothing was stored`,
    );
    await outputStore.discardStagedOutputs(meta.id);
  });
});

describe('model outputs: malformed sets are refused with the file and line or sample, and nothing is stored', () => {
  it('(a dataset and an output set are stored while the refusals run)', async () => {
    await store.saveDataset(generateDemo({ seed: 9, numSamples: 12 }));
    await outputStore.commitOutputSet(await stage(outputSet()));
    const s = await snapshot();
    expect(s.datasets.length).toBeGreaterThan(0);
    expect(s.outputSets.length).toBeGreaterThan(0);
  });

  const lp = (T: number, C = 4) => npy(logProbs(T, C), T, C);
  const npzWith = (over: Record<string, Uint8Array>) => ({ 'u1.npy': lp(10), 'u2.npy': lp(12), 'u3.npy': lp(8), ...over });
  const attach: AttachTarget = { id: 'ds-x', name: 'words', infos: ROWS.map((r) => ({ id: r.id, text: r.text, frames: r.frames })) };
  const cases: Array<[string, () => InputFile[], string, AttachTarget?]> = [
    ['no manifest', () => outputSet().filter((f) => !f.path.endsWith('manifest.jsonl')), 'o: no manifest.jsonl or manifest.tsv among the 3 files given'],
    [
      'no vocab.txt',
      () => outputSet().filter((f) => !f.path.endsWith('vocab.txt')),
      'o: no vocab.txt (one token per line in class order, a <blank> line where the blank is; without it the classes cannot be named)',
    ],
    ['outputs.json not JSON', () => outputSet({ json: '{kind: log_probs}' }), 'out/outputs.json: not valid JSON ('],
    [
      'outputs.json unknown key',
      () => outputSet({ json: { kind: 'log_probs', blank_id: 0 } }),
      "out/outputs.json: unknown key 'blank_id' (known: kind, blank, subsampling, frame_shift_ms, model)",
    ],
    [
      'outputs.json bad kind',
      () => outputSet({ json: { kind: 'log_softmax' } }),
      'out/outputs.json: \'kind\' must be "log_probs", "logits" or "probs", got "log_softmax"',
    ],
    [
      'outputs.json bad subsampling',
      () => outputSet({ json: { subsampling: 2.5 } }),
      "out/outputs.json: 'subsampling' must be a positive integer (input frames per output frame), got 2.5",
    ],
    [
      'blank contradicts the <blank> line',
      () => outputSet({ json: { blank: 0 }, vocab: 'A\nB\n<blank>\n' }),
      "out/outputs.json: 'blank' is 0, but out/vocab.txt puts '<blank>' at class 2 (line 3)",
    ],
    ['duplicate <blank> line', () => outputSet({ vocab: '<blank>\nA\n<blank>\n' }), "out/vocab.txt, line 3: duplicate token '<blank>'"],
    [
      'duplicate ids',
      () => outputSet({ rows: [ROWS[0], ROWS[1], { ...ROWS[2], id: 'u1' }] }),
      "out/manifest.jsonl, line 3: duplicate id 'u1' (first on line 1)",
    ],
    ['empty reference', () => outputSet({ rows: [ROWS[0], { ...ROWS[1], text: ' ' }] }), "out/manifest.jsonl, line 2: sample 'u2': empty reference"],
    [
      'frames not a positive integer',
      () => outputSet({ rows: [ROWS[0], { ...ROWS[1], frames: 12.5 }] }),
      "out/manifest.jsonl, line 2: sample 'u2': 'frames' (input frames) must be a positive integer, got 12.5",
    ],
    [
      'posteriors file missing',
      () => outputSet({ rows: [ROWS[0], { ...ROWS[1], posteriors: 'p/u2.npy' }] }),
      "out/manifest.jsonl, line 2: sample 'u2': posteriors file 'p/u2.npy' was not among the files given",
    ],
    [
      'no array for a sample',
      () => outputSet({ npz: { 'u1.npy': lp(10), 'u3.npy': lp(8) } }),
      "out/manifest.jsonl, line 2: sample 'u2': no 'posteriors' path and no 'u2.npy' in any .npz",
    ],
    [
      'classes do not match the vocabulary',
      () => outputSet({ npz: npzWith({ 'u2.npy': lp(12, 5) }) }),
      "out/posteriors.npz:u2.npy, sample 'u2': has 5 classes per frame (shape 12x5), but out/vocab.txt names 4 classes (3 tokens + the blank)",
    ],
    [
      'batch axis saved',
      () => outputSet({ npz: npzWith({ 'u1.npy': writeNpy(logProbs(10, 4), [1, 10, 4]) }) }),
      "out/posteriors.npz:u1.npy, sample 'u1': shape (1, 10, 4) must be [output frames, classes]; the batch axis was saved: save out[0] (or out[b, :length_b] per sample)",
    ],
    [
      '1-D array',
      () => outputSet({ npz: npzWith({ 'u3.npy': writeNpy(new Float32Array(8), [8]) }) }),
      'out/posteriors.npz:u3.npy: shape (8) must be [frames, features, ...]; got 1-D',
    ],
    [
      'integer dtype',
      () =>
        outputSet({
          npz: npzWith({
            'u1.npy': (() => {
              const b = lp(10);
              b.set(enc.encode("'<i4'"), new TextDecoder('latin1').decode(b).indexOf("'<f4'"));
              return b;
            })(),
          }),
        }),
      "out/posteriors.npz:u1.npy: dtype '<i4': integer/boolean features are not supported",
    ],
    [
      'truncated array',
      () => outputSet({ npz: npzWith({ 'u2.npy': lp(12).slice(0, 200) }) }),
      'out/posteriors.npz:u2.npy: truncated data: shape (12, 4) needs 192 bytes, file has 72',
    ],
    [
      "padding saved with the outputs (frames vs T')",
      () => outputSet({ npz: npzWith({ 'u3.npy': lp(12) }) }),
      "out/posteriors.npz:u3.npy, sample 'u3': 12 output frames, but out/manifest.jsonl line 3 gives 16 input frames: at ×2 subsampling at most 10 (padding saved with the outputs? save out[b, :length_b] for each sample)",
    ],
    [
      'too few output frames for the subsampling',
      () => outputSet({ npz: npzWith({ 'u2.npy': lp(3) }) }),
      "out/posteriors.npz:u2.npy, sample 'u2': 3 output frames, but out/manifest.jsonl line 2 gives 24 input frames: at ×2 subsampling about 12 (is the subsampling right? set 'subsampling' in outputs.json)",
    ],
    [
      'one sample off the inferred subsampling',
      () => outputSet({ json: null, rows: [...ROWS, { id: 'u4', text: 'A', frames: 40 }], npz: npzWith({ 'u4.npy': lp(40) }) }),
      "out/posteriors.npz:u4.npy, sample 'u4': 40 output frames, but out/manifest.jsonl line 4 gives 40 input frames: at ×2 subsampling (inferred from the other samples) at most 22",
    ],
    [
      'the same id in two .npz',
      () => [...outputSet(), { path: 'out/more.npz', blob: blob(zipSync({ 'u1.npy': lp(10) })) }],
      "out/more.npz: member 'u1.npy' also appears in out/posteriors.npz",
    ],
    ['not a zip', () => [{ path: 'outputs.zip', blob: blob('PK nope') }], 'outputs.zip: not a readable zip archive'],
    [
      'attached: id not in the dataset',
      () => outputSet({ rows: [ROWS[0], { ...ROWS[1], id: 'zz' }] }),
      "out/manifest.jsonl, line 2: sample 'zz' is not in dataset 'words' (an attached output set has the dataset's ids)",
      attach,
    ],
    [
      'attached: reference differs from the dataset',
      () => outputSet({ rows: [ROWS[0], { ...ROWS[1], text: 'B C' }] }),
      "out/manifest.jsonl, line 2: sample 'u2': reference 'B C' differs from dataset 'words' ('B C A')",
      attach,
    ],
  ];
  for (const [what, files, message, att] of cases) {
    it(what, async () => {
      const before = await snapshot();
      await expect(stage(files(), att)).rejects.toThrow(message);
      expect(await snapshot()).toEqual(before);
    });
  }
  it(`at least 12 cases (${cases.length})`, () => expect(cases.length).toBeGreaterThanOrEqual(12));
});
