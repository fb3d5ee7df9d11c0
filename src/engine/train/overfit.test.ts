import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../../data/demo';
import type { DatasetMeta, SampleRecord } from '../../data/types';
import { overfitSamples, runOverfitTest, OVERFIT_DEFAULTS } from './overfit';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function demoAsStored(): { meta: DatasetMeta; samples: SampleRecord[] } {
  const p = generateDemo();
  const meta: DatasetMeta = { ...p.meta, id: 'ds-test', createdAt: 0 };
  return { meta, samples: p.samples.map((s, index) => ({ ...s, datasetId: meta.id, index })) };
}

describe('overfit test on the demo dataset (cpu backend)', () => {
  it('memorises 5 samples: greedy decoding reproduces every transcript', async () => {
    const { meta, samples } = demoAsStored();
    const chosen = overfitSamples(samples, 5);
    const before = tf.memory().numTensors;
    const { result, model, optimizer } = await runOverfitTest(chosen, meta, { ...OVERFIT_DEFAULTS, maxEpochs: 600 });
    console.log(`overfit: passed=${result.passed} epochs=${result.epochs} loss=${result.finalLoss.toFixed(4)} ${result.seconds.toFixed(1)}s`);
    expect(result.passed).toBe(true);
    expect(result.hyps).toEqual(result.refs);
    expect(result.history[0].loss).toBeGreaterThan(result.finalLoss);
    model.dispose();
    optimizer.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });

  // The two larger presets at small sizes (CPU time): the same protocol must pass for them too.
  for (const [preset, size, lr] of [
    ['tconv-bilstm', { channels: 32, layers: 1, hidden: 32 }, 3e-3],
    ['transformer', { channels: 32, layers: 2, heads: 2 }, 1e-3],
  ] as const) {
    it(`memorises 5 samples with the ${preset} preset`, async () => {
      const { meta, samples } = demoAsStored();
      const before = tf.memory().numTensors;
      const { result, model, optimizer } = await runOverfitTest(overfitSamples(samples, 5), meta, { ...OVERFIT_DEFAULTS, preset, ...size, lr, maxEpochs: 600 });
      console.log(`overfit ${preset}: passed=${result.passed} epochs=${result.epochs} loss=${result.finalLoss.toFixed(4)} ${result.seconds.toFixed(1)}s`);
      expect(model.subsampling).toBe(4);
      expect(result.passed).toBe(true);
      expect(result.hyps).toEqual(result.refs);
      model.dispose();
      optimizer.dispose();
      expect(tf.memory().numTensors).toBe(before);
    }, 300_000);
  }

  it('reports failure, not success, when it runs out of epochs', async () => {
    const { meta, samples } = demoAsStored();
    const { result, model, optimizer } = await runOverfitTest(overfitSamples(samples, 5), meta, { ...OVERFIT_DEFAULTS, maxEpochs: 2 });
    expect(result.passed).toBe(false);
    expect(result.epochs).toBe(2);
    expect(result.reason).toMatch(/within 2 epochs/);
    model.dispose();
    optimizer.dispose();
  });
});
