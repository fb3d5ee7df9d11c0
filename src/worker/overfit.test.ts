// The overfit job in the worker (fake-indexeddb, cpu backend): the model it trains and stores is
// the one the form asks for, time subsampling included (tcn ×4: a second stride-2 convolution).
import 'fake-indexeddb/auto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../data/demo';
import * as store from '../data/store';
import { decodeCheckpoint } from '../engine/checkpoint/checkpoint';
import { paramShapes } from '../engine/model/shapes';
import { overfit } from './overfit';

beforeAll(async () => {
  vi.stubGlobal('navigator', {}); // Node has none; a worker without Web Locks or WebGPU: the lock-free paths and the cpu backend
  await tf.setBackend('cpu');
});
afterAll(() => {
  vi.unstubAllGlobals();
});

describe('the overfit job in the worker', () => {
  it('builds, reports and stores the tcn with the time subsampling asked for (×4, ×2, and ×2 when not said)', async () => {
    const ds = await store.saveDataset(generateDemo({ seed: 5, numSamples: 30 }));
    const cases: [2 | 4 | undefined, 2 | 4][] = [
      [4, 4],
      [2, 2],
      [undefined, 2],
    ];
    for (const [asked, built] of cases) {
      const settings = { preset: 'tcn' as const, numSamples: 2, maxEpochs: 2, channels: 8, layers: 1, ...(asked ? { subsampling: asked } : {}) };
      const out = await overfit.runOverfitTest(
        ds.id,
        settings,
        () => {},
        () => {},
      );
      expect(out).toMatchObject({ preset: 'tcn', subsampling: built });
      const rec = await store.getCheckpoint(out.checkpoint.id);
      const { meta, tensors } = decodeCheckpoint(rec.bytes, rec.fileName);
      expect(meta.subsampling).toBe(built);
      expect(meta.model).toMatchObject({ preset: 'tcn', channels: 8, layers: 1, subsampling: built });
      expect(meta.training.config).toMatchObject({ mode: 'overfit', subsampling: built });
      expect(Object.hasOwn(tensors, 'model.subsample2.weight')).toBe(built === 4);
      const params = [...paramShapes(meta.model).values()].reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
      expect(out.paramCount).toBe(params);
    }
  }, 120_000);
});
