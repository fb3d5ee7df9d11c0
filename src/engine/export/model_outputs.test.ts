// The lab's own model through the outputs path: its log-probabilities written by the outputs
// writer, imported back, diagnosed from outputs only — the same WER, blank rate and entropy as the
// model diagnostics on the same samples (the e2e does the same in the browser on WebGPU).

import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { generateDemo } from '../../data/demo';
import { memoryOutputSource, memorySource } from '../../data/source';
import { prepareOutputsImport } from '../../data/outputs_import';
import { OutputsZipWriter } from '../../data/outputs_write';
import type { DatasetMeta, OutputSetMeta, SampleRecord } from '../../data/types';
import { TcnModel, TCN_DEFAULTS } from '../model/tcn';
import { diagnose, DIAGNOSE_DEFAULTS } from '../diagnose/run';
import { diagnoseOutputs } from '../diagnose/outputs';
import { modelLogProbs } from './model_outputs';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('export model outputs → import → diagnostics from outputs', () => {
  it('equal the model diagnostics on the same samples (greedy WER, blank rate, entropy)', async () => {
    const p = generateDemo();
    const meta: DatasetMeta = { ...p.meta, id: 'ds', createdAt: 0 };
    const samples: SampleRecord[] = p.samples.map((s, index) => ({ ...s, datasetId: 'ds', index }));
    const model = new TcnModel({ preset: 'tcn', featureDim: meta.featureDim, numClasses: meta.vocab.length + 1, ...TCN_DEFAULTS }, 3);
    // A model that emits tokens: the head biased towards three of them, so decoding has something to score.
    model.p('model.head.bias').assign(tf.tensor1d([0, 1.5, 0, 1.5, 0, 0, 1.5, 0, 0].slice(0, meta.vocab.length + 1)));
    const live = await diagnose(model, meta, samples, { ...DIAGNOSE_DEFAULTS, overfit: null, trainedSteps: 0, modelSource: 'fresh', backend: 'cpu' });

    const val = samples.filter((s) => s.split === 'val');
    const w = new OutputsZipWriter({
      classes: ['<blank>', ...meta.vocab],
      blank: 0,
      subsampling: model.subsampling,
      frameShiftMs: null,
      model: 'ctc-lab tcn (fresh)',
    });
    const before = tf.memory().numTensors;
    for await (const o of modelLogProbs(
      model,
      meta,
      memorySource(samples),
      val.map((s) => s.index),
    ))
      w.add({ ...o, split: o.split });
    expect(tf.memory().numTensors).toBe(before);
    model.dispose();
    const imported = await prepareOutputsImport([{ path: 'export.zip', blob: w.finish() }], 'export');
    expect(imported.meta).toMatchObject({ numSamples: val.length, subsampling: 2, kind: { declared: 'log_probs', detected: { log_probs: val.length } } });
    const set: OutputSetMeta = { ...imported.meta, id: 'o', createdAt: 0 };
    const fromOutputs = await diagnoseOutputs(set, memoryOutputSource(imported.samples.map((s, index) => ({ ...s, setId: 'o', index }))));

    const num = (r: typeof live, id: string, key: string) => r.checks.find((c) => c.id === id)!.numbers[key] as number;
    expect(num(live, 'decoding', 'samples')).toBe(val.length);
    expect(num(fromOutputs, 'decoding', 'greedyWer')).toBe(num(live, 'decoding', 'greedyWer'));
    expect(num(fromOutputs, 'decoding', 'greedyWer')).toBeGreaterThan(0);
    expect(num(fromOutputs, 'blank-rate', 'blankRate')).toBe(num(live, 'blank-rate', 'blankRate'));
    expect(Math.abs(num(fromOutputs, 'entropy', 'entropyRatio') - num(live, 'entropy', 'entropyRatio'))).toBeLessThan(1e-6);
  });
});
