// The overfit test in the worker: N training samples read from IndexedDB, the live doctor on every
// epoch, and the resulting model stored as an 'overfit' checkpoint.

import { TrainingDoctor } from '../engine/diagnose/doctor';
import { presetSize } from '../engine/model/presets';
import { overfitCheckpointFileName } from '../engine/run/names';
import { OVERFIT_DEFAULTS, overfitSamples, runOverfitTest } from '../engine/train/overfit';
import { overfitCheckpoint } from '../engine/train/run_checkpoint';
import * as store from '../data/store';
import type { OverfitApi } from './api';
import { announce } from './changes';
import { control, exclusive, withTrainingLock } from './jobs';
import { ready } from './runtime';

export const overfit: OverfitApi = {
  runOverfitTest(datasetId, partial, onEpoch, onAlerts) {
    // The one-trainer lock too: two tabs training on one GPU would each run at half speed or less.
    return exclusive(() =>
      withTrainingLock(async () => {
        const be = await ready();
        const cfg = { ...OVERFIT_DEFAULTS, ...presetSize(partial.preset ?? OVERFIT_DEFAULTS.preset), ...partial };
        const meta = await store.getDataset(datasetId);
        const chosen = overfitSamples(await store.sampleInfos(datasetId), cfg.numSamples);
        const samples = await store.getSamples(
          datasetId,
          chosen.map((s) => s.index),
        );
        let lastPost = 0;
        const doctor = new TrainingDoctor({ optimizer: 'adam', clipNorm: 0 }); // the overfit test's Adam, no clipping
        const { result, model, optimizer } = await runOverfitTest(samples, meta, cfg, {
          shouldStop: control.shouldStop,
          onEpoch: (e) => {
            const fired = doctor.observe({ ...e, earlyStopping: null });
            if (fired.length) onAlerts(fired);
            // Throttle messages to the page (~20/s); the last epoch always arrives with the result.
            const t = performance.now();
            if (t - lastPost > 50) {
              lastPost = t;
              onEpoch(e);
            }
          },
        });
        try {
          const bytes = await overfitCheckpoint(model, optimizer, result, cfg, meta);
          const rec = await store.saveCheckpoint({
            datasetId,
            kind: 'overfit',
            fileName: overfitCheckpointFileName(meta.name, result.epochs),
            bytes: bytes.buffer as ArrayBuffer,
            overfit: { passed: result.passed, epochs: result.epochs, seconds: result.seconds, finalLoss: result.finalLoss, finalWer: result.finalWer },
          });
          announce({ kind: 'runs', datasetId });
          const { bytes: _bytes, ...checkpoint } = rec;
          return {
            result,
            checkpoint,
            preset: model.config.preset,
            paramCount: model.paramCount(),
            subsampling: model.subsampling,
            backend: be.name,
            alerts: doctor.alerts,
          };
        } finally {
          model.dispose();
          optimizer.dispose();
        }
      }),
    );
  },
};
