// The speed report's bench check (issue #20 part 3): does the profiled step's stage split add up to
// the step time training actually takes? Per preset, on synthetic data: a Trainer runs its steps
// with no syncs (as a run does); after the warm-up steps the worker's probe (engine/train/profile.ts,
// measureRunSpeed) profiles a step between two steps, as the worker does; the stage sum is set
// against the median of the real steps after the probe. Checked first: every step's loss is finite
// and the probe left the tensor count as it was. Also recorded: the method (timers, or timestamp
// queries where the adapter offers them), dispatches per step counted by the probe and by the real
// steps, MFU and the advice's first item.

import * as tf from '@tensorflow/tfjs-core';
import { memorySource } from '../src/data/source';
import { watchDispatches } from '../src/engine/dispatches';
import type { Preset } from '../src/engine/model/presets';
import { measureRunSpeed } from '../src/engine/train/profile';
import type { SpeedReport } from '../src/engine/train/speed';
import { benchTrainer } from './train.bench';

export interface ProfileBenchShape {
  name: string;
  preset: Preset;
  B: number;
  T: number;
  F: number;
  V: number;
  L: number;
  steps: number; // optimizer steps: 3 warm-up, the probe, the rest timed
  channels: number;
  layers: number;
  hidden: number;
  heads: number;
}

// Smaller than the throughput table's PHOENIX-like shapes, so the three presets run in minutes on SwiftShader.
const speech = { name: 'speech-like', B: 8, T: 150, F: 80, V: 40, L: 20, steps: 10 };
export const DEFAULT_PROFILE_SHAPES: ProfileBenchShape[] = [
  { ...speech, preset: 'tcn', channels: 64, layers: 3, hidden: 0, heads: 0 },
  { ...speech, preset: 'tconv-bilstm', channels: 128, layers: 2, hidden: 128, heads: 0 },
  { ...speech, preset: 'transformer', channels: 128, layers: 4, hidden: 0, heads: 4 },
];

export interface ProfileBenchResult {
  shape: ProfileBenchShape;
  backend: string;
  params: number;
  stepMs: number; // median of the real steps after the probe
  stepSpread: [number, number];
  stepDispatches: number | null; // real steps' dispatches per step (WebGPU)
  report: SpeedReport;
  sumOverStep: number; // the profiled stages' sum / the real step time
  within10: boolean;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function benchProfile(s: ProfileBenchShape): Promise<ProfileBenchResult> {
  const { trainer, samples } = benchTrainer(s, { checkpointMinutes: 0 });
  const source = memorySource(samples);
  const losses: number[] = [];
  const stepMs: number[] = [];
  const stepDispatches: number[] = [];
  let report: SpeedReport | null = null;
  let tensorsBefore = 0,
    tensorsAfter = 0;
  // A step runs from the end of the previous step's hooks to its onStep.
  let from = 0,
    dispatchesFrom = 0;
  const dispatches = watchDispatches();
  try {
    from = performance.now();
    await trainer.run({
      onStep: (st) => {
        console.info(`[profile bench] ${s.preset} step ${st.step}: ${(performance.now() - from).toFixed(0)} ms`);
        losses.push(st.loss);
        if (st.step > 3) {
          stepMs.push(performance.now() - from);
          stepDispatches.push(dispatches.count.total - dispatchesFrom);
        }
      },
      afterStep: async () => {
        if (trainer.state.step === 3) {
          tensorsBefore = tf.memory().numTensors;
          const t0 = performance.now();
          report = await measureRunSpeed(trainer, source, null);
          console.info(
            `[profile bench] ${s.preset} probe: ${(performance.now() - t0).toFixed(0)} ms, stages ${report.stages.map((x) => x.ms.toFixed(0)).join(' ')} (${report.method})`,
          );
          tensorsAfter = tf.memory().numTensors;
        }
        from = performance.now();
        dispatchesFrom = dispatches.count.total;
      },
    });
  } finally {
    dispatches.stop();
  }
  const bad = losses.findIndex((l) => !Number.isFinite(l));
  if (bad >= 0) throw new Error(`profile benchmark ${s.preset}: step ${bad + 1} loss is ${losses[bad]}`);
  if (!report) throw new Error(`profile benchmark ${s.preset}: the probe did not run (${losses.length} steps)`);
  if (tensorsAfter !== tensorsBefore) throw new Error(`profile benchmark ${s.preset}: the probe changed the tensor count ${tensorsBefore} → ${tensorsAfter}`);
  if (stepMs.length < 3) throw new Error(`profile benchmark ${s.preset}: ${stepMs.length} timed steps, at least 3 needed`);
  const r: SpeedReport = report;
  const step = median(stepMs);
  const result: ProfileBenchResult = {
    shape: s,
    backend: tf.getBackend(),
    params: trainer.model.paramCount(),
    stepMs: step,
    stepSpread: [Math.min(...stepMs), Math.max(...stepMs)],
    stepDispatches: tf.getBackend() === 'webgpu' ? median(stepDispatches) : null,
    report: r,
    sumOverStep: r.profiledMs / step,
    within10: Math.abs(r.profiledMs / step - 1) <= 0.1,
  };
  trainer.dispose();
  return result;
}
