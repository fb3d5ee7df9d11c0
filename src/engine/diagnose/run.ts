// Runs the diagnostics on a model and a dataset: measures everything the checks need (one
// evaluation pass, one gradient pass, a scan of the stored samples) and assembles the report.
// Runs in the worker; read-backs here are asynchronous and outside any training step.

import * as tf from '@tensorflow/tfjs-core';
import { makeBatch, tokenIndex } from '../../data/batch';
import { throwOnGpuErrors } from '../backend';
import type { DatasetMeta, SampleRecord } from '../../data/types';
import { ctcLoss, ctcNll } from '../ctc/ctc_loss';
import { adaptiveDecode } from '../decode/adaptive';
import { beamSearchDecode } from '../decode/beam';
import { greedyDecode, idsToTokens } from '../decode/greedy';
import { batchTensors, disposeBatchTensors } from '../train/batch_tensors';
import { editCounts, wer } from '../metrics/wer';
import { TRAIN_DEFAULTS } from '../train/config';
import type { SequenceModel } from '../model/model';
import { streamDatasetFacts } from '../../data/dataset_facts';
import { asSource, type SampleInfo, type SampleSource } from '../../data/source';
import { checkBlankRate, checkDataset, checkDecoding, checkEntropy, checkInitialLoss, checkOutputs } from './checks';
import { checkEarlyStopping, checkOverfit, type OverfitFacts } from './run_checks';
import { checkGradients, type GradContext } from './gradient_checks';
import { DecodingTally } from './decoding';
import { checkGeneralisation, measureGeneralisation, samplesTrainedOn, type TrainedHow } from './generalisation';
import { verdictOf, type DiagnosticsReport } from './report';

export interface DiagnoseOptions {
  maxEvalSamples: number; // validation samples decoded and scored, usual 64
  gradBatch: number; // training samples in the gradient-flow batch, usual 8
  beamWidth: number; // prefix beam search width, usual 8
  patience: number; // the early-stopping settings to judge
  minDelta: number;
  maxEpochs: number;
  overfit: OverfitFacts | null;
  trainedSteps: number; // 0 for a fresh model
  modelSource: string; // "fresh (untrained)" or the checkpoint's file name
  backend: string;
  /** The optimiser, learning rate and clipping the gradients are judged for (a checkpoint's
   * training config, with its per-epoch norms); default: the lab's training defaults. */
  gradContext?: GradContext;
  /** How the checkpoint was trained (generalisation.ts's trainedHow); null or absent: a fresh model. */
  trainedHow?: TrainedHow | null;
}

export { DIAGNOSE_DEFAULTS } from './defaults';

export async function diagnose(
  model: SequenceModel,
  meta: DatasetMeta,
  samples: SampleRecord[] | SampleSource,
  opts: DiagnoseOptions,
): Promise<DiagnosticsReport> {
  const V = model.config.numClasses;
  const source = asSource(samples);
  const facts = await streamDatasetFacts(meta, source, model.subsampling);
  const excluded = new Set([...facts.infeasible.map((x) => x.id), ...facts.nonFinite.map((x) => x.id)]);
  const index = tokenIndex(meta.vocab);
  const usable = (s: SampleInfo) => !excluded.has(s.id) && s.text.split(' ').every((t) => index.has(t));
  const train = source.infos.filter((s) => s.split === 'train' && usable(s));
  const val = source.infos.filter((s) => s.split === 'val' && usable(s));
  const evalSet = await source.load((val.length ? val : train).slice(0, opts.maxEvalSamples).map((s) => s.index));
  const split = val.length ? 'validation' : 'training';
  if (evalSet.length === 0) throw new Error('no sample can be evaluated (all are infeasible, non-finite or out of vocabulary)');

  // Evaluation pass: log-probabilities, per-sample loss, uniform baseline.
  const eb = makeBatch(evalSet, meta, index);
  const em = batchTensors(model, eb);
  const evalOut = tf.tidy(() => {
    const logits = model.apply(em, false);
    return [
      tf.logSoftmax(logits),
      tf.argMax(logits, 2),
      ctcNll(logits, em.labels, em.xl, em.yl),
      ctcNll(tf.zerosLike(logits) as tf.Tensor3D, em.labels, em.xl, em.yl),
    ];
  });
  const [lpArr, bestArr, nllArr, uniArr] = (await Promise.all(evalOut.map((t) => t.data()))) as [Float32Array, Int32Array, Float32Array, Float32Array];
  tf.dispose(evalOut);
  disposeBatchTensors(em);
  const greedyIds = greedyDecode(bestArr, em.maxOutFrames, em.outFrames);

  // Valid frames only, for the output checks; decoding per sample.
  const rows: number[] = [];
  let frames = 0;
  const decoding = new DecodingTally();
  for (let b = 0; b < eb.B; b++) {
    const n = em.outFrames[b];
    const lpB = lpArr.subarray(b * em.maxOutFrames * V, (b * em.maxOutFrames + n) * V);
    for (let k = 0; k < lpB.length; k++) rows.push(lpB[k]);
    frames += n;
    const a = adaptiveDecode(lpB, n, V);
    decoding.add(
      evalSet[b].text,
      idsToTokens(greedyIds[b], meta.vocab),
      a,
      idsToTokens(a.ids, meta.vocab).join(' '),
      idsToTokens(beamSearchDecode(lpB, n, V, opts.beamWidth), meta.vocab).join(' '),
    );
  }
  const { greedy: greedyH, adaptive: adaptiveH, beam: beamH } = decoding;
  const lpRows = { lp: Float32Array.from(rows), frames, V };

  // Gradient pass on a training batch.
  const gb = makeBatch(await source.load(train.slice(0, opts.gradBatch).map((s) => s.index)), meta, index);
  const gm = batchTensors(model, gb);
  const names = [...model.params.keys()];
  const sizes = [...model.params.values()].map((v) => v.size);
  const normTensors = tf.tidy(() => {
    const vars = [...model.params.values()];
    const { grads } = tf.variableGrads(() => ctcLoss(model.apply(gm, false), gm.labels, gm.xl, gm.yl, { zeroInfinity: true }) as tf.Scalar, vars);
    // [2, P]: gradient norms, then the parameters' own norms (for update-to-weight ratios).
    return tf.stack([tf.stack(vars.map((v) => tf.norm(grads[v.name]))), tf.stack(vars.map((v) => tf.norm(v)))]);
  });
  const both = await normTensors.data();
  const norms = both.subarray(0, names.length),
    weightNorms = both.subarray(names.length);
  normTensors.dispose();
  disposeBatchTensors(gm);
  throwOnGpuErrors('diagnostics');

  // Generalisation: the same evaluation on samples it trained on and on validation samples.
  const how = opts.trainedHow ?? null;
  const trainSplit = source.infos.filter((s) => s.split === 'train');
  const gen = how && val.length ? await measureGeneralisation(model, meta, source, samplesTrainedOn(how, trainSplit, usable), val, opts.maxEvalSamples) : null;

  const refs = evalSet.map((s) => s.text);
  const perSample = evalSet.map((s, i) => {
    const c = editCounts(s.text.split(' '), greedyH[i] ? greedyH[i].split(' ') : []);
    return { id: s.id, ref: s.text, greedy: greedyH[i], adaptive: adaptiveH[i], beam: beamH[i], ...c, wer: (c.S + c.D + c.I) / Math.max(c.N, 1) };
  });
  const mean = (a: Float32Array) => a.reduce((s, v) => s + v, 0) / a.length;
  const trained = opts.trainedSteps > 0;
  const greedyWer = wer(refs, greedyH).rate;
  const learns = trained && greedyWer <= 0.2 ? { wer: greedyWer, split } : null;
  const gradContext = opts.gradContext ?? { optimizer: TRAIN_DEFAULTS.optimizer, lr: TRAIN_DEFAULTS.lr, clipNorm: TRAIN_DEFAULTS.clipNorm };
  const checks = [
    checkOutputs(lpRows),
    checkEntropy(lpRows, { trained }),
    checkBlankRate(
      lpRows,
      0,
      refs.reduce((n, r) => n + r.split(' ').length, 0),
    ),
    checkGradients(
      names.map((name, i) => ({ name, norm: norms[i], weightNorm: weightNorms[i], size: sizes[i] })),
      gradContext,
    ),
    checkDataset(facts),
    {
      ...checkDecoding(decoding.facts(split, opts.beamWidth)),
      details: perSample,
    },
    checkInitialLoss({ modelLoss: mean(nllArr), uniformLoss: mean(uniArr), samples: evalSet.length, split, trained }),
    checkOverfit(opts.overfit, learns),
    checkEarlyStopping({ patience: opts.patience, minDelta: opts.minDelta, maxEpochs: opts.maxEpochs, trainSamples: meta.counts.train }, learns),
    checkGeneralisation({ train: gen?.train ?? null, val: gen?.val ?? null, how }),
  ];
  return {
    format: 'ctc-lab-diagnostics/1',
    createdAt: new Date().toISOString(),
    dataset: {
      id: meta.id,
      name: meta.name,
      trainSamples: meta.counts.train,
      valSamples: meta.counts.val,
      vocabSize: meta.vocab.length,
      featureDim: meta.featureDim,
    },
    model: {
      source: opts.modelSource,
      preset: model.config.preset,
      parameters: model.paramCount(),
      subsampling: model.subsampling,
      trainedSteps: opts.trainedSteps,
    },
    backend: opts.backend,
    checks,
    verdict: verdictOf(checks),
  };
}
