// Language models in the worker: build one from the dataset's training transcripts or an uploaded
// text file, import an ARPA file (refused naming the line, nothing stored), list, download, delete;
// and decode a diagnostics subject (a stored checkpoint, the fresh model, or an output set) with one:
// greedy, beam and beam + LM with α, β tuned on its val samples (engine/diagnose/lm_decoding.ts).
// The searches run in the decode pool the entry hands in (worker/lm_pool.ts, one module worker per
// core, at most 4), or on this thread when there is none (tests, a browser without nested workers).

import { readArpa } from '../engine/lm/arpa';
import { builtLm, importedLm, sentencesFromText } from '../engine/lm/stored';
import {
  decodeSamples,
  greedyIds,
  inlineDecoder,
  lmDecodingReport,
  lmDecodingSamples,
  setupFusion,
  type DecodeSample,
  type LmDecodeSetup,
  type BatchDecoder,
  type DecoderFactory,
} from '../engine/diagnose/lm_decoding';
import { DIAGNOSE_DEFAULTS } from '../engine/diagnose/defaults';
import { OUTPUTS_DIAGNOSE_DEFAULTS } from '../engine/diagnose/outputs';
import { freshSubject } from '../engine/diagnose/subject';
import { checkpointModel, storedCheckpointFor } from '../engine/checkpoint/fit';
import { modelLogProbs } from '../engine/export/model_outputs';
import { LM_BEAM_DEFAULTS } from '../engine/decode/lm_beam';
import type { SequenceModel } from '../engine/model/model';
import * as store from '../data/store';
import * as outputStore from '../data/store_outputs';
import * as lmStore from '../data/lms';
import type { LmDecodingRequest, LmsApi } from './api';
import { announce } from './changes';
import { control, exclusive } from './jobs';
import { ready } from './runtime';

let decoderFactory: DecoderFactory = async (setup, samples) => ({ ...inlineDecoder(setup, samples), close() {} });

/** The entry (lab.worker.ts) hands in the decode pool here. */
export function useDecoders(f: DecoderFactory): void {
  decoderFactory = f;
}

/** The pool's decoder, switching to this thread's for the rest of the run if a decode worker cannot start or fails. */
function withFallback(d: BatchDecoder & { close(): void }, setup: LmDecodeSetup, samples: DecodeSample[]): BatchDecoder & { close(): void } {
  let use: BatchDecoder = d;
  return {
    async decode(alpha, beta, useLm) {
      try {
        return await use.decode(alpha, beta, useLm);
      } catch (e) {
        if (use !== d || !(e instanceof Error) || !e.message.startsWith('a decode worker failed')) throw e;
        console.warn(`${e.message}; decoding on the lab worker's thread instead`);
        d.close();
        use = inlineDecoder(setup, samples);
        return use.decode(alpha, beta, useLm);
      }
    },
    close: () => d.close(),
  };
}

const announced = <T>(datasetId: string, x: T): T => (announce({ kind: 'lms', datasetId }), x);

async function splitTranscripts(datasetId: string) {
  const infos = await store.sampleInfos(datasetId);
  return { train: infos.filter((s) => s.split === 'train').map((s) => s.text), val: infos.filter((s) => s.split === 'val').map((s) => s.text) };
}

/**
 * The subject's log-probabilities: an output set's stored ones, or a checkpoint's (the fresh
 * model's) run on the dataset; `index` one sample by its index, else the LM decoding's samples.
 */
async function subjectOutputs(req: LmDecodingRequest, index: number | null) {
  const ids: string[] = [],
    refs: string[] = [],
    samples: DecodeSample[] = [];
  let classes: string[], blank: number, split: string;
  if (req.outputSetId) {
    const meta = await outputStore.getOutputSet(req.outputSetId);
    const source = await outputStore.outputSource(req.outputSetId);
    const bad = new Set(meta.nonFinite.map((x) => x.id));
    const pick =
      index === null
        ? lmDecodingSamples(source.infos, (s) => !bad.has(s.id), OUTPUTS_DIAGNOSE_DEFAULTS.maxDecodeSamples)
        : { chosen: [{ index }], split: 'one' };
    for (const s of await source.load(pick.chosen.map((s) => s.index))) {
      ids.push(s.id);
      refs.push(s.text);
      samples.push({ logProbs: new Float32Array(s.logProbs), frames: s.outFrames });
    }
    ({ classes, blank, split } = { classes: meta.classes, blank: meta.blank, split: pick.split });
  } else {
    await ready();
    const meta = await store.getDataset(req.datasetId);
    const source = await store.datasetSource(req.datasetId);
    const vocab = new Set(meta.vocab);
    const pick =
      index === null
        ? lmDecodingSamples(source.infos, (s) => s.text.split(' ').every((t) => vocab.has(t)), DIAGNOSE_DEFAULTS.maxEvalSamples)
        : { chosen: [{ index }], split: 'one' };
    let model: SequenceModel | null = null;
    try {
      if (req.checkpointId) {
        const ck = storedCheckpointFor(await store.getCheckpoint(req.checkpointId), meta);
        model = checkpointModel(ck, ck.record.fileName);
      } else model = freshSubject(meta).model;
      for await (const s of modelLogProbs(
        model,
        meta,
        source,
        pick.chosen.map((s) => s.index),
      )) {
        ids.push(s.id);
        refs.push(s.text);
        samples.push({ logProbs: s.logProbs, frames: s.outFrames });
      }
    } finally {
      model?.dispose();
    }
    ({ classes, blank, split } = { classes: ['<blank>', ...meta.vocab], blank: 0, split: pick.split });
  }
  return { ids, refs, samples, classes, blank, split };
}

export const lms: LmsApi = {
  listLms: (datasetId) => lmStore.listLms(datasetId),

  async addLm(datasetId, name, source) {
    const { train, val } = await splitTranscripts(datasetId);
    let facts;
    if (source.from === 'transcripts') {
      if (!train.length) throw new Error('the dataset has no training transcripts to build a language model from');
      facts = builtLm(
        train.map((t) => t.split(' ')),
        source.order,
        val,
      );
    } else if (source.from === 'text') facts = builtLm(sentencesFromText(await source.file.text(), source.file.name), source.order, val);
    else facts = importedLm(await source.file.text(), source.file.name, val);
    const info = await lmStore.saveLm({
      ...facts,
      datasetId,
      name: name.trim() || (source.from === 'transcripts' ? `${facts.order}-gram of the training transcripts` : source.file.name),
      source: source.from,
      sourceName: source.from === 'transcripts' ? '' : source.file.name,
    });
    return announced(datasetId, info);
  },

  async deleteLm(id) {
    const rec = await lmStore.getLm(id);
    await lmStore.deleteLm(id);
    announced(rec.datasetId, undefined);
  },

  async lmArpa(id) {
    const rec = await lmStore.getLm(id);
    return { fileName: `${rec.name.replace(/[^\w.-]+/g, '_')}.arpa`, text: rec.arpa };
  },

  decodeWithLm(req, onProgress) {
    return exclusive(async () => {
      const rec = await lmStore.getLm(req.lmId);
      const lm = readArpa(rec.arpa, `${rec.name}.arpa`);
      const { ids, refs, samples, classes, blank, split } = await subjectOutputs(req, null);
      const setup: LmDecodeSetup = { lm, classes, blank, beamWidth: LM_BEAM_DEFAULTS.beamWidth, prune: LM_BEAM_DEFAULTS.prune };
      const decoder = withFallback(await decoderFactory(setup, samples), setup, samples);
      try {
        return await lmDecodingReport(
          {
            ids,
            references: refs,
            samples,
            setup,
            lmInfo: { id: rec.id, name: rec.name, order: rec.order },
            split,
            onProgress: (d, t) => onProgress(d, t),
            shouldStop: control.shouldStop,
          },
          decoder,
        );
      } finally {
        decoder.close();
      }
    });
  },

  lmHypothesis(req, weights) {
    return exclusive(async () => {
      const rec = await lmStore.getLm(req.lmId);
      const { ids, samples, classes, blank } = await subjectOutputs(req, req.index);
      const setup: LmDecodeSetup = {
        lm: readArpa(rec.arpa, `${rec.name}.arpa`),
        classes,
        blank,
        beamWidth: LM_BEAM_DEFAULTS.beamWidth,
        prune: LM_BEAM_DEFAULTS.prune,
      };
      const names = (h: number[]) => h.map((c) => classes[c]).join(' ');
      const [lm] = decodeSamples(setup, setupFusion(setup), samples, weights.alpha, weights.beta, true);
      return { id: ids[0], greedy: names(greedyIds(samples[0].logProbs, samples[0].frames, classes.length, blank)), lm: names(lm) };
    });
  },
};
