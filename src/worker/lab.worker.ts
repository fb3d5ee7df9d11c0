// The lab's worker: owns TF.js, the GPU device and IndexedDB writes for long work; one per tab.
// This file only wires the features together; each lives in its own module.

import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs-core';
import '../engine/tfjs_register'; // gradients and chained ops (TF.js core without the umbrella package)
import type { LabApi } from './api';
import { checkpoints } from './checkpoints';
import { datasets } from './datasets';
import { diagnostics } from './diagnostics';
import { distill } from './distill';
import { pause, stop, unpause } from './jobs';
import { lms, useDecoders } from './lms';
import { decodePool } from './lm_pool';
import { models } from './models';
import { overfit } from './overfit';
import { outputs } from './outputs';
import { currentBackend, ready, useFallback } from './runtime';
import { enableTestHooks, runTestHook } from './testhooks';
import { sweeps } from './sweep';
import { training, trials } from './training';
import { tune } from './tune';

// LM decoding's searches run in a pool of decode workers (lm_pool.ts), handed to the LM feature here.
if (typeof Worker !== 'undefined') useDecoders(decodePool());

const api: LabApi = {
  init(opts) {
    if (opts?.testHooks) enableTestHooks();
    return ready();
  },
  backendInfo: async () => currentBackend() ?? ready(),
  useFallbackBackend: useFallback,
  testHook: runTestHook,
  stop,
  pause,
  unpause,
  ...models,
  ...datasets,
  ...overfit,
  ...training,
  ...distill,
  ...diagnostics,
  ...checkpoints,
  ...outputs,
  ...tune,
  ...lms,
  ...sweeps(trials),
};

// Surfaces the number of live tensors for tests and the page's debug line.
(globalThis as unknown as { __tfMemory: () => tf.MemoryInfo }).__tfMemory = () => tf.memory();

Comlink.expose(api);
