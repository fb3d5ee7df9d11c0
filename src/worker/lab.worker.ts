// The lab's worker: owns TF.js, the GPU device and IndexedDB writes for long work; one per tab.
// This file only wires the features together; each lives in its own module.

import * as Comlink from 'comlink';
import * as tf from '@tensorflow/tfjs';
import type { LabApi } from './api';
import { checkpoints } from './checkpoints';
import { datasets } from './datasets';
import { diagnostics } from './diagnostics';
import { pause, stop, unpause } from './jobs';
import { models } from './models';
import { overfit } from './overfit';
import { ready } from './runtime';
import { training } from './training';

const api: LabApi = {
  init: ready,
  stop,
  pause,
  unpause,
  ...models,
  ...datasets,
  ...overfit,
  ...training,
  ...diagnostics,
  ...checkpoints,
};

// Surfaces the number of live tensors for tests and the page's debug line.
(globalThis as unknown as { __tfMemory: () => tf.MemoryInfo }).__tfMemory = () => tf.memory();

Comlink.expose(api);
