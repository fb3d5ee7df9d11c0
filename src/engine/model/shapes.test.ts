import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import fc from 'fast-check';
import { createModel, type ModelConfig } from './registry';
import { paramShapes, slotShapes } from './shapes';
import { Adam } from '../optim/adam';
import { Sgd } from '../optim/sgd';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const built = (m: Map<string, tf.Variable>) => new Map([...m].map(([k, v]) => [k, v.shape]));

// Small random configs of every preset (the transformer's d_model even and divisible by its heads).
const common = (minLayers: number, maxLayers: number) => ({
  featureDim: fc.integer({ min: 1, max: 9 }),
  numClasses: fc.integer({ min: 2, max: 9 }),
  layers: fc.integer({ min: minLayers, max: maxLayers }),
  dropout: fc.constant(0),
});
const configs: fc.Arbitrary<ModelConfig> = fc.oneof(
  fc.record({
    preset: fc.constant('tcn' as const),
    ...common(0, 4),
    channels: fc.integer({ min: 1, max: 8 }),
    kernel: fc.constantFrom(1, 3, 5),
    subsampling: fc.constantFrom(2 as const, 4 as const),
  }),
  fc.record({
    preset: fc.constant('tconv-bilstm' as const),
    ...common(1, 3),
    channels: fc.integer({ min: 1, max: 8 }),
    hidden: fc.integer({ min: 1, max: 6 }),
  }),
  fc
    .record({ preset: fc.constant('transformer' as const), ...common(0, 3), heads: fc.integer({ min: 1, max: 3 }), half: fc.integer({ min: 1, max: 3 }) })
    .map(({ half, ...c }) => ({ ...c, channels: 2 * half * c.heads })),
);

describe('paramShapes', () => {
  it('equals the built model’s parameters (names and shapes) and the optimizers’ slots, for random configs of every preset', () => {
    fc.assert(
      fc.property(configs, (config) => {
        const model = createModel(config, 1);
        const adam = new Adam(model.params);
        const sgd = new Sgd(model.params, { lr: 0.1, momentum: 0.9, weightDecay: 0 });
        try {
          const shapes = paramShapes(config);
          expect(shapes).toEqual(built(model.params));
          expect(slotShapes(shapes, 'adam')).toEqual(built(adam.slots));
          expect(slotShapes(shapes, 'sgd')).toEqual(built(sgd.slots));
        } finally {
          model.dispose();
          adam.dispose();
          sgd.dispose();
        }
      }),
      { numRuns: 60 },
    );
  });
});
