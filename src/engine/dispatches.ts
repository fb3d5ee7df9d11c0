// Counts the WebGPU compute dispatches made while a function runs, through the backend's one
// program entry point (every tfjs-webgpu kernel and every program of ours goes through
// `runWebGPUProgram`, which records exactly one dispatch). Benchmarks and self-tests only.

import * as tf from '@tensorflow/tfjs-core';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

export interface DispatchCount {
  total: number;
  /** Dispatches per program-name prefix of interest, e.g. { ctclab_: 4 }. */
  byPrefix: Record<string, number>;
  /**
   * With `byName`: dispatches per program, by its shader key as the program states it before the
   * backend compiles it (e.g. `binary_17_4,1` is a MUL, `ctclab_layernorm` ours): where a step's
   * dispatches go.
   */
  byName?: Record<string, number>;
}

/**
 * Starts counting; `count` updates live until `stop()` (all zero on other backends). One counter
 * at a time: a second one would be undone by the first one's stop.
 */
export function watchDispatches(prefixes: string[] = ['ctclab_'], byName = false): { count: DispatchCount; stop: () => void } {
  const count: DispatchCount = { total: 0, byPrefix: Object.fromEntries(prefixes.map((p) => [p, 0])), ...(byName ? { byName: {} } : {}) };
  if (tf.getBackend() !== 'webgpu') return { count, stop: () => {} };
  const be = tf.backend() as WebGPUBackend;
  const orig = be.runWebGPUProgram;
  be.runWebGPUProgram = ((program, ...rest) => {
    count.total++;
    // Read before the call: the backend appends shapes to shaderKey when it compiles.
    for (const p of prefixes) if (program.shaderKey.startsWith(p)) count.byPrefix[p]++;
    if (count.byName) count.byName[program.shaderKey] = (count.byName[program.shaderKey] ?? 0) + 1;
    return orig.call(be, program, ...rest);
  }) as typeof be.runWebGPUProgram;
  return { count, stop: () => void (be.runWebGPUProgram = orig) };
}

/** Runs fn and counts its dispatches (per program too with byName). */
export async function countDispatches<T>(fn: () => Promise<T>, prefixes?: string[], byName = false): Promise<{ result: T; count: DispatchCount }> {
  const w = watchDispatches(prefixes, byName);
  try {
    return { result: await fn(), count: w.count };
  } finally {
    w.stop();
  }
}
