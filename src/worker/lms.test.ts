// Language models in the worker (fake-indexeddb, Node's BroadcastChannel, cpu backend): built from
// the training transcripts, listed with their val perplexity, announced to the other tabs, a
// refused ARPA file stores nothing, the ARPA download reads back, deleting the dataset deletes them;
// and decoding the fresh model with one gives the three decoders on the val samples.
import 'fake-indexeddb/auto';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { generateDemo } from '../data/demo';
import * as store from '../data/store';
import { readArpa } from '../engine/lm/arpa';
import { perplexity } from '../engine/lm/ngram';
import { STORAGE_CHANNEL, type StorageChange } from './api';
import { lms } from './lms';
import { outputs } from './outputs';
import * as outputStore from '../data/store_outputs';
import { writeNpy } from '../data/npy';
import { zipSync } from 'fflate';
import { greedyIds } from '../engine/diagnose/outputs'; // the outputs report's own greedy decoding

beforeAll(async () => {
  vi.stubGlobal('navigator', {}); // no Web Locks or WebGPU: the lock-free paths and the cpu backend
  await tf.setBackend('cpu');
});
afterAll(() => vi.unstubAllGlobals());

const file = (text: string, name: string) => new File([text], name);

describe('language models in the worker', () => {
  it('build, list, refuse, download, delete — each change announced once, after it is readable', async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 3, numSamples: 40 }));
    const heard: StorageChange[] = [];
    const ch = new BroadcastChannel(STORAGE_CHANNEL);
    ch.onmessage = (e: MessageEvent<StorageChange>) => heard.push(e.data);

    const built = await lms.addLm(ds.id, '', { from: 'transcripts', order: 3 });
    expect(built.name).toBe('3-gram of the training transcripts');
    expect(built.order).toBe(3);
    const infos = await store.sampleInfos(ds.id);
    const val = infos.filter((s) => s.split === 'val').map((s) => s.text.split(' '));
    const { text } = await lms.lmArpa(built.id);
    const p = perplexity(readArpa(text), val);
    expect(built.perplexity).toEqual({ perplexity: p.perplexity, oov: p.oov, tokens: p.tokens, sentences: val.length });
    expect(built.perplexity!.sentences).toBeGreaterThan(0);

    // A malformed ARPA file: refused naming its line, nothing stored.
    const broken = text.replace(/ngram 2=\d+/, 'ngram 2=1');
    await expect(lms.addLm(ds.id, 'bad', { from: 'arpa', file: file(broken, 'bad.arpa') })).rejects.toThrow(/^bad\.arpa, line \d+: \\2-grams: has/);
    // A text file of sentences, order 2; an ARPA import keeps the file's order.
    const fromText = await lms.addLm(ds.id, 'mine', { from: 'text', order: 2, file: file('HELLO YES\nNO WATER\n', 'c.txt') });
    expect(fromText).toMatchObject({ name: 'mine', order: 2, source: 'text', sourceName: 'c.txt' });
    const imported = await lms.addLm(ds.id, '', { from: 'arpa', file: file(text, 'kenlm.arpa') });
    expect(imported).toMatchObject({ name: 'kenlm.arpa', order: 3, counts: built.counts, source: 'arpa' });
    expect((await lms.listLms(ds.id)).map((m) => m.id)).toEqual([built.id, fromText.id, imported.id]);

    await lms.deleteLm(fromText.id);
    expect((await lms.listLms(ds.id)).map((m) => m.id)).toEqual([built.id, imported.id]);
    await new Promise((r) => setTimeout(r, 50));
    expect(heard.filter((c) => c.kind === 'lms')).toEqual(Array.from({ length: 4 }, () => ({ kind: 'lms', datasetId: ds.id })));

    await store.deleteDataset(ds.id);
    expect(await lms.listLms(ds.id)).toEqual([]);
    ch.close();
  });

  it('decodes the fresh model with an LM: greedy, beam and beam + LM on the val samples, α and β tuned', async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 4, numSamples: 30 }));
    const lm = await lms.addLm(ds.id, '', { from: 'transcripts', order: 2 });
    const progress: number[] = [];
    const r = await lms.decodeWithLm({ lmId: lm.id, datasetId: ds.id, checkpointId: null, outputSetId: null }, (d) => progress.push(d));
    const val = (await store.sampleInfos(ds.id)).filter((s) => s.split === 'val');
    expect(r.samples).toBe(val.length);
    expect(r.split).toBe('validation');
    expect(r.rows.map((w) => w.decoder)).toEqual(['greedy', 'beam', 'beam + LM']);
    expect(r.hypotheses.map((h) => h.id)).toEqual(val.map((s) => s.id));
    expect(r.surface.length).toBeGreaterThanOrEqual(35);
    expect(progress.at(-1)).toBe(1 + r.surface.length);
    expect(Number.isFinite(r.alpha) && Number.isFinite(r.beta)).toBe(true);
    // The alignment view's one sample at the tuned weights: the same greedy and beam + LM hypotheses.
    const one = await lms.lmHypothesis(
      { lmId: lm.id, datasetId: ds.id, checkpointId: null, outputSetId: null, index: val[1].index },
      { alpha: r.alpha, beta: r.beta },
    );
    expect(one).toEqual({ id: val[1].id, greedy: r.hypotheses[1].greedy, lm: r.hypotheses[1].lm });
  });

  it('decodes a model-output set with an LM of its dataset: the val samples, greedy from the stored outputs', async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 6, numSamples: 30 }));
    const infos = await store.sampleInfos(ds.id);
    const C = ds.vocab.length + 1;
    const npz: Record<string, Uint8Array> = {};
    for (const s of infos) {
      const T = Math.ceil(s.frames / 2);
      const x = new Float32Array(T * C);
      for (let t = 0; t < T; t++) {
        const row = Array.from({ length: C }, (_, c) => 3 * Math.sin(t * 3 + c * 1.3 + s.index));
        const lse = Math.log(row.reduce((a, v) => a + Math.exp(v), 0));
        row.forEach((v, c) => (x[t * C + c] = v - lse));
      }
      npz[`${s.id}.npy`] = writeNpy(x, [T, C]);
    }
    const enc = new TextEncoder();
    const files = [
      { path: 'out/manifest.jsonl', blob: new Blob([infos.map((s) => JSON.stringify({ id: s.id, text: s.text, split: s.split })).join('\n') + '\n']) },
      { path: 'out/vocab.txt', blob: new Blob([ds.vocab.join('\n') + '\n']) },
      { path: 'out/posteriors.npz', blob: new Blob([zipSync(npz) as BlobPart]) },
      { path: 'out/outputs.json', blob: new Blob([enc.encode(JSON.stringify({ kind: 'log_probs', subsampling: 2 })) as BlobPart]) },
    ];
    const { pendingId } = await outputs.analyseOutputs(files, 'outs', ds.id, () => {});
    const set = await outputs.commitOutputs(pendingId);
    const lm = await lms.addLm(ds.id, '', { from: 'transcripts', order: 3 });
    const r = await lms.decodeWithLm({ lmId: lm.id, datasetId: ds.id, checkpointId: null, outputSetId: set.id }, () => {});
    const val = (await outputStore.outputSampleInfos(set.id)).filter((s) => s.split === 'val');
    expect(r.split).toBe('validation');
    expect(r.hypotheses.map((h) => h.id)).toEqual(val.map((s) => s.id));
    const stored = await outputStore.getOutputSamples(
      set.id,
      val.map((s) => s.index),
    );
    expect(r.hypotheses.map((h) => h.greedy)).toEqual(
      stored.map((s) =>
        greedyIds(new Float32Array(s.logProbs), s.outFrames, C, 0)
          .map((c) => ds.vocab[c - 1])
          .join(' '),
      ),
    );
  });
});
