// Counts the WebGPU compute dispatches made while a function runs, through the backend's one
// program entry point (every tfjs-webgpu kernel and every program of ours goes through
// `runWebGPUProgram`, which records exactly one dispatch). Benchmarks and self-tests only.

import * as tf from '@tensorflow/tfjs';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';

export interface DispatchCount {
  total: number;
  /** Dispatches per program-name prefix of interest, e.g. { ctclab_: 4 }. */
  byPrefix: Record<string, number>;
}

/** Runs fn and counts its dispatches (all zero on other backends). Not re-entrant. */
export async function countDispatches<T>(fn: () => Promise<T>, prefixes: string[] = ['ctclab_']): Promise<{ result: T; count: DispatchCount }> {
  const count: DispatchCount = { total: 0, byPrefix: Object.fromEntries(prefixes.map((p) => [p, 0])) };
  if (tf.getBackend() !== 'webgpu') return { result: await fn(), count };
  const be = tf.backend() as WebGPUBackend;
  const orig = be.runWebGPUProgram;
  be.runWebGPUProgram = ((program, ...rest) => {
    count.total++;
    // Read before the call: the backend appends shapes to shaderKey when it compiles.
    for (const p of prefixes) if (program.shaderKey.startsWith(p)) count.byPrefix[p]++;
    return orig.call(be, program, ...rest);
  }) as typeof be.runWebGPUProgram;
  try {
    return { result: await fn(), count };
  } finally {
    be.runWebGPUProgram = orig;
  }
}
