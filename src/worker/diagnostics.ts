// Diagnostics in the worker: a fresh model or a stored checkpoint (checked against the dataset),
// the dataset streamed from IndexedDB, the last overfit test, and the early-stopping settings.

import { diagnose, DIAGNOSE_DEFAULTS } from '../engine/diagnose/run';
import type { GradContext } from '../engine/diagnose/gradient_checks';
import { TRAIN_DEFAULTS } from '../engine/train/config';
import type { SequenceModel } from '../engine/model/model';
import { createModel, modelConfig } from '../engine/model/registry';
import { presetSize } from '../engine/model/presets';
import * as store from '../data/store';
import type { DiagnosticsApi } from './api';
import { storedCheckpointFor } from './checkpoints';
import { exclusive } from './jobs';
import { ready } from './runtime';

export const diagnostics: DiagnosticsApi = {
  runDiagnostics(datasetId, req) {
    return exclusive(async () => {
      let model: SequenceModel | null = null;
      try {
        const be = await ready();
        const meta = await store.getDataset(datasetId);
        const samples = await store.datasetSource(datasetId);
        let source = 'fresh model (untrained, seed 1)';
        let trainedSteps = 0;
        // Gradients are judged for the optimiser and clipping that train this model: the
        // checkpoint's own (the overfit test: Adam, no clipping), with its per-epoch norms; for a
        // fresh model, the training defaults.
        let gradContext: GradContext = { optimizer: TRAIN_DEFAULTS.optimizer, lr: TRAIN_DEFAULTS.lr, clipNorm: TRAIN_DEFAULTS.clipNorm };
        if (req.checkpointId) {
          const ck = await storedCheckpointFor(req.checkpointId, meta);
          model = createModel(ck.model, 1);
          model.loadTensors(ck.tensors, ck.record.fileName);
          source = ck.record.fileName;
          trainedSteps = ck.meta.training.state.step;
          const tc = ck.meta.training.config;
          const history = ck.meta.history.map((h) => h.gradNorm).filter((g): g is number => typeof g === 'number' && Number.isFinite(g));
          gradContext =
            tc.mode === 'train'
              ? { optimizer: tc.optimizer, lr: tc.lr, clipNorm: tc.clipNorm, history }
              : { optimizer: 'adam', lr: tc.lr, clipNorm: 0, history };
        } else {
          model = createModel(modelConfig({ preset: 'tcn', ...presetSize('tcn'), dropout: 0 }, meta.featureDim, meta.vocab.length + 1), 1);
        }
        const last = (await store.listCheckpoints(datasetId)).filter((c) => c.kind === 'overfit' && c.overfit).at(-1);
        return await diagnose(model, meta, samples, {
          ...DIAGNOSE_DEFAULTS,
          patience: req.patience,
          minDelta: req.minDelta,
          maxEpochs: req.maxEpochs,
          overfit: last?.overfit ? { ...last.overfit, when: new Date(last.createdAt).toISOString() } : null,
          trainedSteps,
          modelSource: source,
          backend: be.name,
          gradContext,
        });
      } finally {
        model?.dispose();
      }
    });
  },
};
