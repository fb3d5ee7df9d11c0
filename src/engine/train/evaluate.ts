// Validation of a model during a run: mean per-token CTC loss (PyTorch 'mean'), greedy WER/CER
// with S/D/I, blank rate; with a teacher also its greedy decodes (computed once and cached: the
// teacher is fixed), its WER and the agreement (share of samples whose decodes are equal).

import * as tf from '@tensorflow/tfjs-core';
import { makeBatch } from '../../data/batch';
import type { SampleInfo, SampleSource } from '../../data/source';
import type { DatasetMeta } from '../../data/types';
import { ctcNll } from '../ctc/ctc_loss';
import { greedyDecode, idsToTokens } from '../decode/greedy';
import type { TeacherSource } from '../distill/teacher';
import { cer, wer } from '../metrics/wer';
import type { SequenceModel } from '../model/model';
import { batchTensors, disposeBatchTensors, type BatchTensors } from './batch_tensors';

export interface Evaluation {
  loss: number; // mean over samples of the CTC loss per label token
  wer: number;
  cer: number;
  S: number;
  D: number;
  I: number;
  N: number;
  blankRate: number; // share of real output frames whose argmax is blank
  refs: string[];
  hyps: string[];
  // with a teacher:
  teacherHyps?: string[];
  teacherWer?: number;
  agreement?: number;
}

/** Evaluates one model on samples of one dataset; keeps the teacher's decodes between calls. */
export class Evaluator {
  private readonly teacherHyps = new Map<number, string>(); // dataset index → teacher's greedy decode

  constructor(
    private readonly model: SequenceModel,
    private readonly source: SampleSource,
    private readonly meta: DatasetMeta,
    private readonly index: Map<string, number>, // token → class
    private readonly teacher: TeacherSource | null,
  ) {}

  /** The model (eval mode) on these samples, in batches sorted by length; null without samples. */
  async evaluate(samples: SampleInfo[], batchSize = 16): Promise<Evaluation | null> {
    if (samples.length === 0) return null;
    const order = samples.map((_, i) => i).sort((a, b) => samples[a].frames - samples[b].frames);
    const refs: string[] = [],
      hyps: string[] = [],
      evaluated: number[] = [];
    let lossSum = 0,
      blanks = 0,
      frames = 0;
    for (let i = 0; i < order.length; i += batchSize) {
      const chunkIdx = order.slice(i, i + batchSize).map((j) => samples[j].index);
      const chunk = await this.source.load(chunkIdx);
      const b = makeBatch(chunk, this.meta, this.index);
      const t = batchTensors(this.model, b);
      if (this.teacher) await this.decodeTeacher(chunkIdx, t);
      evaluated.push(...chunkIdx);
      const [nllT, bestT] = tf.tidy(() => {
        const logits = this.model.apply(t, false);
        return [ctcNll(logits, t.labels, t.xl, t.yl, { zeroInfinity: true }), tf.argMax(logits, 2)];
      });
      const [nll, best] = await Promise.all([nllT.data(), bestT.data()]);
      tf.dispose([nllT, bestT]);
      disposeBatchTensors(t);
      for (let k = 0; k < b.B; k++) lossSum += nll[k] / Math.max(b.labelLengths[k], 1);
      t.outFrames.forEach((n, k) => {
        for (let f = 0; f < n; f++) if (best[k * t.maxOutFrames + f] === 0) blanks++;
        frames += n;
      });
      greedyDecode(best, t.maxOutFrames, t.outFrames).forEach((ids, k) => {
        hyps.push(idsToTokens(ids, this.meta.vocab).join(' '));
        refs.push(b.texts[k]);
      });
    }
    const w = wer(refs, hyps);
    const teacherHyps = this.teacher ? evaluated.map((j) => this.teacherHyps.get(j)!) : null;
    const teacher = teacherHyps
      ? { teacherHyps, teacherWer: wer(refs, teacherHyps).rate, agreement: hyps.filter((h, k) => h === teacherHyps[k]).length / hyps.length }
      : {};
    return {
      loss: lossSum / samples.length,
      wer: w.rate,
      cer: cer(refs, hyps).rate,
      S: w.S,
      D: w.D,
      I: w.I,
      N: w.N,
      blankRate: blanks / frames,
      refs,
      hyps,
      ...teacher,
    };
  }

  /** The teacher's greedy decodes of these samples, into the cache (those not there yet). */
  private async decodeTeacher(indices: number[], t: BatchTensors): Promise<void> {
    const teacher = this.teacher;
    if (!teacher || indices.every((j) => this.teacherHyps.has(j))) return;
    const fetched = await teacher.fetch(indices);
    const bestT = tf.tidy(() => tf.argMax(teacher.logits(t, fetched), 2));
    const best = await bestT.data();
    bestT.dispose();
    greedyDecode(best, t.maxOutFrames, t.outFrames).forEach((ids, k) => this.teacherHyps.set(indices[k], idsToTokens(ids, this.meta.vocab).join(' ')));
  }
}
