// Diagnostics in the worker: a fresh model or a stored checkpoint (checked against the dataset),
// the dataset streamed from IndexedDB, the last overfit test, and the early-stopping settings.
// What is judged, and against which optimiser, is the engine's (engine/diagnose/subject.ts).

import { storedCheckpointFor } from '../engine/checkpoint/fit';
import { diagnose, DIAGNOSE_DEFAULTS } from '../engine/diagnose/run';
import { checkpointSubject, freshSubject, type DiagnosisSubject } from '../engine/diagnose/subject';
import * as store from '../data/store';
import type { DiagnosticsApi } from './api';
import { exclusive } from './jobs';
import { ready } from './runtime';

export const diagnostics: DiagnosticsApi = {
  runDiagnostics(datasetId, req) {
    return exclusive(async () => {
      let subject: DiagnosisSubject | null = null;
      try {
        const be = await ready();
        const meta = await store.getDataset(datasetId);
        const samples = await store.datasetSource(datasetId);
        if (req.checkpointId) {
          const ck = storedCheckpointFor(await store.getCheckpoint(req.checkpointId), meta);
          subject = checkpointSubject(ck, ck.record.fileName, meta.counts.train);
        } else {
          subject = freshSubject(meta);
        }
        const last = (await store.listCheckpoints(datasetId)).filter((c) => c.kind === 'overfit' && c.overfit).at(-1);
        return await diagnose(subject.model, meta, samples, {
          ...DIAGNOSE_DEFAULTS,
          patience: req.patience,
          minDelta: req.minDelta,
          maxEpochs: req.maxEpochs,
          overfit: last?.overfit ? { ...last.overfit, when: new Date(last.createdAt).toISOString() } : null,
          trainedSteps: subject.trainedSteps,
          modelSource: subject.source,
          backend: be.name,
          gradContext: subject.gradContext,
          trainedHow: subject.trainedHow,
        });
      } finally {
        subject?.model.dispose();
      }
    });
  },
};
