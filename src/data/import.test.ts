import 'fake-indexeddb/auto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { zipSync } from 'fflate';
import { prepareImport, streamImport, type ImportProgress, type InputFile } from './import';
import { writeNpy } from './npy';
import * as store from './store';
import { generateDemo } from './demo';

const fixture = (name: string) => new Blob([readFileSync(new URL(`./fixtures/${name}`, import.meta.url)) as BlobPart]);
const expected = JSON.parse(readFileSync(new URL('./fixtures/expected.json', import.meta.url), 'utf8')) as { values: Record<string, number[]> };

const enc = new TextEncoder();
const blob = (x: Uint8Array | string) => new Blob([(typeof x === 'string' ? enc.encode(x) : x) as BlobPart]);
const feats = (T: number, F: number, fill = (i: number) => Math.cos(i)) =>
  writeNpy(
    Float32Array.from({ length: T * F }, (_, i) => fill(i)),
    [T, F],
  );
const jsonl = (rows: object[]) => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

function folder(rows: object[], files: Record<string, Uint8Array | string>, root = 'ds/'): InputFile[] {
  return [{ path: `${root}manifest.jsonl`, blob: blob(jsonl(rows)) }, ...Object.entries(files).map(([p, b]) => ({ path: root + p, blob: blob(b) }))];
}

const basic = () =>
  folder(
    [
      { id: 'a', text: 'HELLO WORLD', split: 'train', features: 'f/a.npy' },
      { id: 'b', text: 'WORLD', split: 'train', features: 'f/b.npy' },
      { id: 'c', text: 'HELLO', split: 'val', features: 'f/c.npy' },
    ],
    { 'f/a.npy': feats(5, 3), 'f/b.npy': feats(4, 3), 'f/c.npy': feats(6, 3) },
  );

describe('prepareImport: accepted inputs', () => {
  it('folder with manifest.jsonl and one .npy per sample', async () => {
    const d = (await prepareImport(basic(), 'ds')).dataset;
    expect(d.meta).toMatchObject({
      numSamples: 3,
      featureDim: 3,
      counts: { train: 2, val: 1, test: 0 },
      vocab: ['HELLO', 'WORLD'],
      frames: { min: 4, max: 6 },
    });
    expect(d.samples.map((s) => s.id)).toEqual(['a', 'b', 'c']);
  });

  it('manifest.tsv with a header row', async () => {
    const tsv = 'id\ttext\tsplit\tfeatures\na\tX Y\ttrain\ta.npy\nb\tY\ttest\tb.npy\n';
    const d = (
      await prepareImport(
        [
          { path: 'manifest.tsv', blob: blob(tsv) },
          { path: 'a.npy', blob: blob(feats(3, 2)) },
          { path: 'b.npy', blob: blob(feats(3, 2)) },
        ],
        'tsv',
      )
    ).dataset;
    expect(d.meta.counts).toEqual({ train: 1, val: 0, test: 1 });
  });

  it('picked files without folders: features matched by file name', async () => {
    const files = basic().map((f) => ({ ...f, path: f.path.split('/').pop()! }));
    const d = (await prepareImport(files, 'flat')).dataset;
    expect(d.meta.numSamples).toBe(3);
  });

  it('.npz archive (np.savez layout) with members <id>.npy, and vocab.txt', async () => {
    const npz = zipSync({ 'a.npy': feats(5, 2), 'b.npy': feats(7, 2) });
    const files = folder(
      [
        { id: 'a', text: 'B A', split: 'train' },
        { id: 'b', text: 'A', split: 'train' },
      ],
      { 'x.npz': npz, 'vocab.txt': 'A\nB\nC\n' },
    );
    const d = (await prepareImport(files, 'npz')).dataset;
    expect(d.meta.vocab).toEqual(['A', 'B', 'C']);
    expect(d.samples.map((s) => s.frames)).toEqual([5, 7]);
  });

  it('a .zip of the whole folder', async () => {
    const zip = zipSync({ 'ds/manifest.jsonl': enc.encode(jsonl([{ id: 'a', text: 'Q', features: 'a.npy' }])), 'ds/a.npy': feats(3, 4) });
    const d = (await prepareImport([{ path: 'ds.zip', blob: blob(zip) }], 'zip')).dataset;
    expect(d.meta).toMatchObject({ numSamples: 1, featureDim: 4, counts: { train: 1, val: 0, test: 0 } });
  });

  it('seeded 90/10 split when the manifest has none', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => ({ id: `u${i}`, text: 'A', features: `u${i}.npy` }));
    const files = folder(rows, Object.fromEntries(rows.map((r) => [`u${r.id.slice(1)}.npy`, feats(3, 2)])));
    const a = (await prepareImport(files, 'x', 5)).dataset;
    const b = (await prepareImport(files, 'x', 5)).dataset;
    expect(a.meta.counts).toEqual({ train: 18, val: 2, test: 0 });
    expect(a.samples.map((s) => s.split)).toEqual(b.samples.map((s) => s.split));
  });
});

describe('prepareImport: the report shown before storing', () => {
  it('lists NaN/Inf samples (left out), zero-variance dims, out-of-vocabulary tokens, infeasible samples, unused files', async () => {
    const files = folder(
      [
        { id: 'a', text: 'X Y', split: 'train', features: 'a.npy' },
        { id: 'b', text: 'X', split: 'train', features: 'b.npy' },
        { id: 'c', text: 'Y X Z', split: 'val', features: 'c.npy' },
        { id: 'd', text: 'X X X X', split: 'train', features: 'd.npy' },
      ],
      {
        'a.npy': feats(6, 2, (i) => (i % 2 ? 5 : i)), // feature 1 is constant
        'b.npy': feats(4, 2, (i) => (i === 5 ? Infinity : i % 2 ? 5 : i)),
        'c.npy': feats(8, 2, (i) => (i % 2 ? 5 : -i)),
        'd.npy': feats(6, 2, (i) => (i % 2 ? 5 : 2 * i)), // 3 output frames at ×2 < 4 X's + 3 repeats
        'stray.npy': feats(2, 2),
      },
    );
    const { dataset, report } = await prepareImport(files, 'ds');
    expect(dataset.samples.map((s) => s.id)).toEqual(['a', 'c', 'd']);
    expect(report.nonFinite).toEqual([{ id: 'b', file: 'ds/b.npy', values: 1, first: 'Inf value at frame 2, feature 1' }]);
    expect(report.zeroVarianceDims).toEqual([1]);
    expect(report.oov).toEqual([{ token: 'Z', count: 1, firstId: 'c' }]);
    expect(report.infeasible.map((x) => x.id)).toEqual(['d']);
    expect(report.unusedFeatureFiles).toEqual(['ds/stray.npy']);
    expect(report.counts).toEqual({ train: 2, val: 1, test: 0 });
  });
});

async function snapshot() {
  const d = await store.db();
  const samples = await d.getAll('samples');
  return { datasets: await d.getAll('datasets'), samples: samples.map((x) => `${x.datasetId}/${x.index}/${x.features.byteLength}`) };
}

describe('prepareImport: refused inputs name the file and line or sample', () => {
  // A stored dataset exists while the refusals run, so "nothing changed" is checked against real data.
  beforeAll(async () => {
    if ((await snapshot()).datasets.length === 0) await store.saveDataset(generateDemo({ seed: 9, numSamples: 12 }));
  });

  const cases: Array<[string, () => InputFile[], string]> = [
    ['no manifest', () => [{ path: 'a.npy', blob: blob(feats(2, 2)) }], 'ds: no manifest.jsonl or manifest.tsv among the 1 files given'],
    ['bad JSONL line', () => [{ path: 'manifest.jsonl', blob: blob('{"id":"a","text":"X"}\n{oops\n') }], 'manifest.jsonl, line 2: not valid JSON'],
    ['empty transcript', () => folder([{ id: 'a', text: '  ', features: 'a.npy' }], {}), "ds/manifest.jsonl, line 1: sample 'a': empty transcript"],
    [
      'duplicate ids',
      () =>
        folder(
          [
            { id: 'a', text: 'X' },
            { id: 'a', text: 'Y' },
          ],
          {},
        ),
      "ds/manifest.jsonl, line 2: duplicate id 'a' (first on line 1)",
    ],
    ['bad split', () => folder([{ id: 'a', text: 'X', split: 'dev' }], {}), 'split must be train, val or test, got "dev"'],
    [
      'TSV missing column',
      () => [{ path: 'manifest.tsv', blob: blob('id\tfeatures\na\ta.npy\n') }],
      "manifest.tsv, line 1: header row lacks the 'text' column",
    ],
    [
      'missing features file',
      () => folder([{ id: 'a', text: 'X', features: 'nope.npy' }], {}),
      "ds/manifest.jsonl, line 1: sample 'a': features file 'nope.npy' was not among the files given",
    ],
    [
      'mismatched feature dims',
      () =>
        folder(
          [
            { id: 'a', text: 'X', features: 'a.npy' },
            { id: 'b', text: 'X', features: 'b.npy' },
          ],
          { 'a.npy': feats(3, 4), 'b.npy': feats(3, 5) },
        ),
      "ds/b.npy, sample 'b': has 5 features per frame (shape 3x5), but ds/a.npy has 4",
    ],
    [
      'NaN in every sample',
      () => folder([{ id: 'a', text: 'X', features: 'a.npy' }], { 'a.npy': feats(3, 2, (i) => (i === 3 ? NaN : 1)) }),
      'ds: every sample has NaN/Inf features (first: ds/a.npy, NaN value at frame 1, feature 1)',
    ],
    ['corrupt npy', () => folder([{ id: 'a', text: 'X', features: 'a.npy' }], { 'a.npy': 'garbage' }), 'ds/a.npy: not a .npy file (wrong magic bytes)'],
    ['bad zip', () => [{ path: 'd.zip', blob: blob('PK not really') }], 'd.zip: not a readable zip archive'],
    [
      'token missing from vocab.txt',
      () => folder([{ id: 'a', text: 'X Z', features: 'a.npy' }], { 'a.npy': feats(3, 2), 'vocab.txt': 'X\n' }),
      "ds/vocab.txt: token 'Z' of training sample 'a' is not in the vocabulary",
    ],
    ['no training samples', () => folder([{ id: 'a', text: 'X', split: 'val', features: 'a.npy' }], { 'a.npy': feats(3, 2) }), 'ds: no training samples'],
    [
      'npz without the sample',
      () => folder([{ id: 'a', text: 'X' }], { 'x.npz': zipSync({ 'b.npy': feats(2, 2) }) }),
      "sample 'a': no 'features' path and no 'a.npy' in any .npz",
    ],
  ];
  for (const [what, files, message] of cases) {
    it(what, async () => {
      // Through the staging path the worker uses: the error is exact and the store is unchanged.
      const before = await snapshot();
      expect(before.datasets).toHaveLength(1);
      expect(before.samples).toHaveLength(12);
      const id = store.newId('ds');
      let n = 0;
      const run = streamImport(files(), 'ds', { put: (x) => store.stageSamples(id, n++, [x]) }).catch(async (e: unknown) => {
        await store.discardStaged(id);
        throw e;
      });
      await expect(run).rejects.toThrow(message);
      expect(await snapshot()).toEqual(before);
    });
  }
});

describe('real NumPy / Python archives', () => {
  const manifest = (ids: string[]) => blob(ids.map((id, i) => JSON.stringify({ id, text: 'A B', split: i === 2 ? 'val' : 'train' })).join('\n'));
  for (const npz of ['savez.npz', 'savez_compressed.npz', 'zip64.npz']) {
    it(`${npz}: float32, float64 and float16 members read exactly`, async () => {
      const { dataset } = await prepareImport(
        [
          { path: 'manifest.jsonl', blob: manifest(['u1', 'u2', 'u3']) },
          { path: npz, blob: fixture(npz) },
        ],
        'np',
      );
      expect(dataset.samples.map((x) => x.frames)).toEqual([5, 7, 4]);
      for (const smp of dataset.samples) {
        const want = expected.values[smp.id];
        new Float32Array(smp.features).forEach((v, k) => expect(v).toBe(Math.fround(want[k])));
      }
    });
  }

  it('deflated .zip of a folder with manifest.tsv and pose features [T, joints, xyz] (flattened)', async () => {
    const { dataset } = await prepareImport([{ path: 'pose_folder.zip', blob: fixture('pose_folder.zip') }], 'pose');
    expect(dataset.meta).toMatchObject({ featureDim: 6, numSamples: 3, vocab: ['A', 'B'] });
    expect(Array.from(new Float32Array(dataset.samples[1].features))).toEqual(expected.values.p1.map(Math.fround));
  });
});

describe('streaming', () => {
  it('samples reach the sink in manifest order, progress rises to the total, stats equal a float64 two-pass', async () => {
    const rows = Array.from({ length: 30 }, (_, i) => ({ id: `u${i}`, text: 'A', split: i % 5 ? 'train' : 'val', features: `u${i}.npy` }));
    const data = rows.map((_, i) => Float32Array.from({ length: (3 + (i % 7)) * 3 }, (_, k) => 1000 + Math.cos(k * 7 + i) * ((k % 3) + 1)));
    const files = folder(rows, Object.fromEntries(rows.map((r, i) => [r.features, writeNpy(data[i], [data[i].length / 3, 3])])));
    const got: string[] = [];
    const prog: ImportProgress[] = [];
    const { meta } = await streamImport(files, 'ds', { put: (x) => void got.push(x.id) }, { onProgress: (p) => prog.push(p) });
    expect(got).toEqual(rows.map((r) => r.id));
    const last = prog.at(-1)!;
    expect(last).toMatchObject({ samplesDone: 30, samplesTotal: 30 });
    expect(last.bytesDone).toBe(last.bytesTotal);
    for (let k = 1; k < prog.length; k++) expect(prog[k].bytesDone).toBeGreaterThanOrEqual(prog[k - 1].bytesDone);
    // Two-pass float64 reference over the training frames.
    const train = data.filter((_, i) => i % 5);
    for (let d = 0; d < 3; d++) {
      const vals = train.flatMap((x) => Array.from(x).filter((_, k) => k % 3 === d));
      const mu = vals.reduce((a, b) => a + b, 0) / vals.length;
      const sd = Math.sqrt(vals.reduce((a, b) => a + (b - mu) ** 2, 0) / vals.length);
      expect(Math.abs(meta.norm.mean[d] - mu)).toBeLessThan(1e-9 * 1000);
      expect(Math.abs(meta.norm.std[d] - sd) / sd).toBeLessThan(1e-9);
    }
  });

  it('an abort signal stops it between samples', async () => {
    const rows = Array.from({ length: 10 }, (_, i) => ({ id: `u${i}`, text: 'A', features: `u${i}.npy` }));
    const files = folder(rows, Object.fromEntries(rows.map((r) => [r.features, feats(4, 2)])));
    const ac = new AbortController();
    let n = 0;
    await expect(streamImport(files, 'ds', { put: () => void (++n === 3 && ac.abort()) }, { signal: ac.signal })).rejects.toThrow('the import was aborted');
    expect(n).toBe(3);
  });
});
