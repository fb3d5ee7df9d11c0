// Model outputs in the worker: the streamed import (analyse → stage → store or cancel, like a
// dataset's), diagnostics from outputs only, alignments (of an output set's sample, or of a stored
// checkpoint run on a dataset sample), CTM/JSON files, comparisons, and Export model outputs (a
// checkpoint run on a dataset split, log_softmax per sample, written as one .zip).

import * as Comlink from 'comlink';
import { streamOutputsImport } from '../data/outputs_import';
import { outputStagingSink } from '../data/staging';
import { OutputsZipWriter } from '../data/outputs_write';
import * as store from '../data/store';
import * as outputStore from '../data/store_outputs';
import type { OutputSetMeta } from '../data/types';
import { alignmentView } from '../engine/align/view';
import { alignOutputSet } from '../engine/align/set';
import { alignmentsToCtm, alignmentsToJson } from '../engine/align/formats';
import { diagnoseOutputs } from '../engine/diagnose/outputs';
import { compareOutputSets } from '../engine/diagnose/compare';
import { exportedOutputsInfo, modelLogProbs } from '../engine/export/model_outputs';
import { checkpointModel, storedCheckpointFor } from '../engine/checkpoint/fit';
import { alignmentsFileName, outputsFileName } from '../engine/run/names';
import type { OutputsApi } from './api';
import { announce } from './changes';
import { exclusive } from './jobs';
import { ready } from './runtime';
import { stagedImports } from './staged_imports';

// Staged output imports awaiting the user's decision (the set's record), and the running analysis (one per tab).
const imports = stagedImports<OutputSetMeta>('an import of model outputs is already running in this tab', (id) => outputStore.discardStagedOutputs(id));

/**
 * Tells every tab the stored output sets changed (their lists, the Teacher choices, the
 * diagnostics and alignment sources re-read); passes the value through. Staging announces
 * nothing: a staged set is invisible until its record is written.
 */
const announced = <T>(x: T): T => (announce({ kind: 'outputs' }), x);

/** A stored checkpoint as a model ready to run on a dataset (checked against it). */
async function storedModel(checkpointId: string, datasetId: string) {
  const dataset = await store.getDataset(datasetId);
  const ck = storedCheckpointFor(await store.getCheckpoint(checkpointId), dataset);
  return { dataset, ck, model: checkpointModel(ck, ck.record.fileName) };
}

export const outputs: OutputsApi = {
  listOutputSets: () => outputStore.listOutputSets(),

  analyseOutputs(files, name, attachTo, onProgress) {
    const id = store.newId('out');
    return imports.analyse(id, async (signal) => {
      await ready(); // start-up clean-up of interrupted imports runs before this one stages
      const attach = attachTo ? { id: attachTo, name: (await store.getDataset(attachTo)).name, infos: await store.sampleInfos(attachTo) } : undefined;
      const sink = outputStagingSink(id);
      const { meta, report } = await streamOutputsImport(files, name, sink, { onProgress: (p) => onProgress(p), signal, attach });
      await sink.flush();
      return { staged: { ...meta, id, createdAt: Date.now() }, answer: { pendingId: id, report } };
    });
  },

  abortOutputs() {
    imports.abort();
  },

  commitOutputs: (pendingId) => imports.commit(pendingId, (meta) => outputStore.commitOutputSet(meta).then(announced)),

  cancelOutputs: (pendingId) => imports.cancel(pendingId),

  deleteOutputSet: (id) => outputStore.deleteOutputSet(id).then(announced),

  renameOutputSet: (id, name) => outputStore.renameOutputSet(id, name).then(announced),

  async outputSamples(setId) {
    return (await outputStore.outputSampleInfos(setId)).map(({ index, id, text, split, outFrames }) => ({ index, id, text, split, outFrames }));
  },

  runOutputDiagnostics(setId, split) {
    return exclusive(async () => diagnoseOutputs(await outputStore.getOutputSet(setId), await outputStore.outputSource(setId), { split }));
  },

  exportOutputs(checkpointId, datasetId, split) {
    return exclusive(async () => {
      await ready();
      const { dataset, ck, model } = await storedModel(checkpointId, datasetId);
      try {
        const source = await store.datasetSource(datasetId);
        const chosen = source.infos.filter((s) => split === 'all' || s.split === split);
        if (chosen.length === 0) throw new Error(`dataset "${dataset.name}" has no ${split} samples`);
        const w = new OutputsZipWriter(exportedOutputsInfo(model, dataset, { fileName: ck.record.fileName, epoch: ck.meta.training.state.epoch }, split));
        for await (const o of modelLogProbs(
          model,
          dataset,
          source,
          chosen.map((s) => s.index),
        ))
          w.add(o);
        const bytes = await w.finish().arrayBuffer();
        const fileName = outputsFileName(dataset.name, split, ck.record.fileName);
        return Comlink.transfer({ fileName, bytes, samples: w.samples }, [bytes]);
      } finally {
        model.dispose();
      }
    });
  },

  async outputAlignment(setId, index) {
    const meta = await outputStore.getOutputSet(setId);
    const [s] = await outputStore.getOutputSamples(setId, [index]);
    const v = alignmentView(meta, s);
    return Comlink.transfer(v, [v.posteriors.buffer]);
  },

  checkpointAlignment(checkpointId, datasetId, index) {
    return exclusive(async () => {
      await ready();
      const { dataset, model } = await storedModel(checkpointId, datasetId);
      try {
        const source = await store.datasetSource(datasetId);
        let out = null;
        for await (const o of modelLogProbs(model, dataset, source, [index])) out = o;
        if (!out) throw new Error(`dataset "${dataset.name}" has no sample #${index}`);
        const v = alignmentView({ classes: ['<blank>', ...dataset.vocab], blank: 0, subsampling: model.subsampling, frameShiftMs: null }, out);
        return Comlink.transfer(v, [v.posteriors.buffer]);
      } finally {
        model.dispose();
      }
    });
  },

  async alignmentFile(setId, format, sampleId) {
    const meta = await outputStore.getOutputSet(setId);
    const set = await alignOutputSet(meta, await outputStore.outputSource(setId), { ids: sampleId ? [sampleId] : undefined });
    const text = format === 'ctm' ? alignmentsToCtm(set) : alignmentsToJson(set);
    return { fileName: alignmentsFileName(meta.name, sampleId, format), text, aligned: set.samples.length, skipped: set.skipped };
  },

  async compareOutputs(aId, bId) {
    const [a, b] = await Promise.all([aId, bId].map(async (id) => ({ meta: await outputStore.getOutputSet(id), source: await outputStore.outputSource(id) })));
    return compareOutputSets(a, b);
  },
};
