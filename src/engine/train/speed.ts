// The speed report (issue #20 part 3): where one training step's time goes, how fast the arithmetic
// runs against the device's own matmul rate, how long the run still takes, and what would make it
// faster, ranked by predicted effect. A pure function over measurements (profile.ts takes them), so
// every judgement here is tested on planted profiles (speed.test.ts).
//
// The step-time model behind the predictions, per optimizer step of A micro-batches:
//   step = fixed + A · (upload + dispatch + arithmetic)
//   fixed      = optimiser + read-back                 (per step; independent of the batch size)
//   dispatch   = dispatches per micro-batch × the device's measured cost of an empty dispatch
//   arithmetic = forward + CTC + backward − dispatch   (∝ the FLOPs: batch size, channels, frames)
// Data (IndexedDB read + batch assembly) is prefetched while the GPU runs the previous step, so it
// costs the step only where it is longer than the rest (then the report says the loader bounds it).
// A prediction changes the terms an option changes and keeps the others; it assumes the arithmetic
// runs at the same FLOP rate, which is conservative for a larger batch on a real GPU (bigger matmuls
// use it better).

export const STAGES = ['data', 'upload', 'forward', 'ctc', 'backward', 'optimizer', 'readback'] as const;
export type Stage = (typeof STAGES)[number];

export const STAGE_LABELS: Record<Stage, string> = {
  data: 'data (IndexedDB read + batch assembly)',
  upload: 'upload',
  forward: 'forward',
  ctc: 'CTC loss',
  backward: 'backward',
  optimizer: 'optimiser (norm, clipping, update)',
  readback: 'read-back',
};

export type ProfileMethod = 'timestamp-query' | 'timers';

/** One profiled step (profile.ts), per optimizer step: the micro-batch stages already × micro-batches. */
export interface StepProfile {
  method: ProfileMethod; // timestamp-query: GPU time per stage from WebGPU timestamp queries, besides the timers
  note: string; // how the times were taken; why timestamp queries were not used when they were not
  wallMs: Record<Stage, number>; // timers around awaited stages (the queue drained between them)
  gpuMs: Record<Stage, number> | null; // GPU time per stage (timestamp queries); null without them
  microBatches: number; // A
  batch: { B: number; T: number }; // the profiled micro-batch: samples, padded input frames
  dispatches: number | null; // WebGPU compute dispatches per optimizer step; null on other backends
  dispatchesPerMicroBatch: number | null; // of those, one micro-batch's forward + CTC + backward
  flops: number; // training FLOPs per optimizer step (3 × forward, matmuls/convs/recurrences)
  activationBytes: number; // tensor bytes one micro-batch's forward + CTC keep for the backward
  paramBytes: number;
  slotBytes: number; // optimizer state
}

/** Measured once per session on the device (profile.ts). */
export interface DeviceRates {
  matmulFlops: number; // FLOP/s of a square float32 matmul (the device's own attainable rate)
  matmulN: number; // its size
  dispatchMs: number; // wall time of one tiny op (one dispatch on WebGPU), queued back to back
}

/** FLOPs per optimizer step of the same batch under other model settings (null: the option does not apply). */
export interface Candidates {
  halfChannels: { channels: number; flops: number } | null; // null when channels cannot be halved
  fewerLayers: { layers: number; flops: number } | null; // null with one layer
  subsample4: { flops: number; infeasible: { count: number; examples: string[] } } | null; // null: already ×4 (or not tcn)
  student: { channels: number; layers: number; flops: number; params: number } | null;
}

export interface RunFacts {
  preset: string;
  channels: number;
  layers: number;
  params: number;
  batchSize: number;
  accumulationSteps: number;
  trainSamples: number;
  stepsPerEpoch: number;
  epochsDone: number; // completed epochs
  stepsIntoEpoch: number; // optimizer steps done in the unfinished epoch
  plannedEpochs: number;
  evalEvery: number;
  epochSeconds: number[]; // the history's measured epoch times (training + validation), oldest first
}

/** When the forecast (../forecast/fit.ts) has a target WER: where it says the target is reached. */
export type TargetEta =
  | { kind: 'reached'; targetWer: number; epoch: number; lo: number; hi: number | null }
  | { kind: 'already'; targetWer: number; epoch: number }
  | { kind: 'not-within'; targetWer: number; plannedEpochs: number }
  | { kind: 'withheld'; targetWer: number; message: string };

export interface SpeedInputs {
  profile: StepProfile;
  device: DeviceRates;
  stepMs: number | null; // measured real step time (mean of recent steps, no syncs); null: not yet
  run: RunFacts;
  candidates: Candidates;
  memoryBudgetBytes: number | null; // null: the device does not say (WebGPU never does)
  target: TargetEta | null;
}

export interface Advice {
  id: 'larger-batch' | 'batch-for-accumulation' | 'subsample-4' | 'fewer-channels' | 'fewer-layers' | 'student';
  title: string;
  speedup: number; // predicted epoch-time ratio, before / after
  how: string; // why that number (the measured terms it comes from)
  cost: string;
}

export interface SpeedReport {
  method: ProfileMethod;
  note: string;
  stages: { stage: Stage; label: string; ms: number; share: number; gpuMs: number | null }[];
  profiledMs: number; // sum of the stages
  stepMs: number; // the step time the projections use: measured without syncs where known, else profiledMs
  stepMeasured: boolean;
  dispatches: number | null;
  msPerDispatch: number | null; // the GPU stages' wall time per dispatch
  dispatchMs: number; // the device's cost of an empty dispatch
  flopsPerStep: number;
  achievedFlops: number; // FLOP/s over the step time
  matmulFlops: number;
  mfu: number; // achievedFlops / matmulFlops
  gpuBusy: number | null; // GPU time / wall time of the GPU stages (timestamp queries only)
  bound: 'dispatch' | 'data' | 'arithmetic';
  findings: string[]; // plain-language judgements: dispatch overhead, a loader that bounds the step
  projection: { epochSeconds: number; epochMeasured: boolean; remainingSeconds: number; remainingEpochs: number; target: string | null };
  advice: Advice[]; // best first; only what applies and is predicted to gain ≥ 5%
}

const MIN_SPEEDUP = 1.05;

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 10 * 2 ** 20 ? 1 : 0)} MB`;
const pct = (x: number) => `${(100 * x).toFixed(x < 0.1 ? 1 : 0)}%`;

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '–';
  if (s >= 86400) return `${(s / 86400).toFixed(1)} days`;
  if (s >= 3600) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 60) return `${(s / 60).toFixed(1)} min`;
  return `${s.toFixed(s < 10 ? 1 : 0)} s`;
}

/** The step-time terms (see the header), per micro-batch except `fixed`, in ms of the profiled step. */
export function stepTerms(p: StepProfile, dispatchMs: number): { fixed: number; upload: number; dispatch: number; arithmetic: number; data: number } {
  const A = p.microBatches;
  const w = p.wallMs;
  const compute = (w.forward + w.ctc + w.backward) / A;
  const dispatch = Math.min(compute, (p.dispatchesPerMicroBatch ?? 0) * dispatchMs);
  return { fixed: w.optimizer + w.readback, upload: w.upload / A, dispatch, arithmetic: compute - dispatch, data: w.data };
}

interface Change {
  batch?: number; // micro-batch size factor
  accumulation?: number; // micro-batches per step factor
  flops?: number; // arithmetic factor at the same batch
  dispatch?: number; // dispatch count factor
}

/** Epoch-time ratio before / after a change, from the step-time model. */
function predictSpeedup(inp: SpeedInputs, c: Change): number {
  const t = stepTerms(inp.profile, inp.device.dispatchMs);
  const A = inp.profile.microBatches;
  const gpu = (acc: number, batch: number, flops: number, dispatch: number) =>
    t.fixed + acc * (t.upload * batch + t.dispatch * dispatch + t.arithmetic * batch * flops);
  // The loader is hidden behind the GPU's work unless it is longer (then it is the step).
  const step = (acc: number, batch: number, flops: number, dispatch: number) => Math.max(gpu(acc, batch, flops, dispatch), t.data * batch);
  const N = inp.run.trainSamples;
  const B = inp.run.batchSize;
  const a2 = A * (c.accumulation ?? 1);
  const b2 = B * (c.batch ?? 1);
  const stepsBefore = Math.ceil(Math.ceil(N / B) / A);
  const stepsAfter = Math.ceil(Math.ceil(N / b2) / a2);
  const before = stepsBefore * step(A, 1, 1, 1);
  const after = stepsAfter * step(a2, c.batch ?? 1, c.flops ?? 1, c.dispatch ?? 1);
  return before / after;
}

function advise(inp: SpeedInputs): Advice[] {
  const { run, profile: p, candidates: k } = inp;
  const out: Advice[] = [];
  const t = stepTerms(p, inp.device.dispatchMs);
  const overheadShare = t.dispatch / Math.max(t.dispatch + t.arithmetic, 1e-9);
  const why = `dispatch overhead is ${pct(overheadShare)} of the forward + CTC + backward time`;
  // Memory a doubled micro-batch needs beyond today's: its activations once more.
  const moreMemory = p.activationBytes;
  const fits = inp.memoryBudgetBytes === null || p.paramBytes + p.slotBytes + 2 * p.activationBytes <= inp.memoryBudgetBytes;
  const memoryCost =
    inp.memoryBudgetBytes === null
      ? `≈ ${mb(moreMemory)} more GPU memory for activations (the browser does not say how much the GPU has: watch for an out-of-memory failure)`
      : `≈ ${mb(moreMemory)} more GPU memory for activations (${mb(p.paramBytes + p.slotBytes + 2 * p.activationBytes)} of ${mb(inp.memoryBudgetBytes)})`;
  if (fits && 2 * run.batchSize <= run.trainSamples) {
    const A = run.accumulationSteps;
    if (A >= 2 && A % 2 === 0) {
      // Same effective batch, same updates: only the memory changes.
      const s = predictSpeedup(inp, { batch: 2, accumulation: 0.5 });
      out.push({
        id: 'batch-for-accumulation',
        title: `Batch ${2 * run.batchSize} with ${A / 2} accumulation step${A / 2 > 1 ? 's' : ''} (instead of batch ${run.batchSize} × ${A})`,
        speedup: s,
        how: `the same samples per update in half the micro-batches: each micro-batch's fixed cost is paid half as often (${why})`,
        cost: `${memoryCost}; the optimisation is unchanged (same effective batch, same updates per epoch)`,
      });
    }
    const s = predictSpeedup(inp, { batch: 2 });
    out.push({
      id: 'larger-batch',
      title: `Batch size ${run.batchSize} → ${2 * run.batchSize}`,
      speedup: s,
      how: `twice the samples per dispatch, half the steps per epoch (${why}; optimiser and read-back ${t.fixed.toFixed(0)} ms per step)`,
      cost: `${memoryCost}; half as many updates per epoch: raise the learning rate (×√2 is a common start) and expect to need more epochs`,
    });
  }
  if (k.subsample4) {
    // Advised only when every training sample stays feasible (else the report's findings say why not).
    if (k.subsample4.infeasible.count === 0) {
      const r = k.subsample4.flops / p.flops;
      out.push({
        id: 'subsample-4',
        title: 'Time subsampling ×2 → ×4',
        speedup: predictSpeedup(inp, { flops: r }),
        how: `${pct(1 - r)} fewer FLOPs per step (half the output frames through every block); every training sample stays CTC-feasible at ×4`,
        cost: 'a new run from scratch; half the output frames per token (fine for word/gloss-rate labels, risky for fast character-rate ones)',
      });
    }
  }
  if (k.halfChannels) {
    const r = k.halfChannels.flops / p.flops;
    out.push({
      id: 'fewer-channels',
      title: `Channels ${run.channels} → ${k.halfChannels.channels}`,
      speedup: predictSpeedup(inp, { flops: r }),
      how: `${pct(1 - r)} fewer FLOPs per step at the same dispatch count`,
      cost: 'capacity: a new run; expect a higher WER (check the forecast of a short run against your target)',
    });
  }
  if (k.fewerLayers) {
    const r = k.fewerLayers.flops / p.flops;
    out.push({
      id: 'fewer-layers',
      title: `Layers ${run.layers} → ${k.fewerLayers.layers}`,
      speedup: predictSpeedup(inp, { flops: r, dispatch: k.fewerLayers.layers / run.layers }),
      how: `${pct(1 - r)} fewer FLOPs and about ${pct(1 - k.fewerLayers.layers / run.layers)} fewer dispatches per step`,
      cost: 'capacity and receptive field: a new run; expect a higher WER',
    });
  }
  if (k.student) {
    const r = k.student.flops / p.flops;
    out.push({
      id: 'student',
      title: `A distilled student (channels ${k.student.channels}, layers ${k.student.layers}; ${k.student.params.toLocaleString('en-US')} parameters) taught by this run`,
      speedup: predictSpeedup(inp, { flops: r, dispatch: k.student.layers / run.layers }),
      how: `${pct(1 - r)} fewer FLOPs per step than this model, for the student's training (with the teacher's outputs exported once as an output set) and for its inference`,
      cost: 'this run must finish first (it is the teacher), then a second run; a student usually lands a few WER points above its teacher',
    });
  }
  return out.filter((a) => a.speedup >= MIN_SPEEDUP).sort((a, b) => b.speedup - a.speedup);
}

/** The report: stage table, rates, bound, projections, advice (see the header). */
export function speedReport(inp: SpeedInputs): SpeedReport {
  const { profile: p, device: d, run } = inp;
  const profiledMs = sum(STAGES.map((s) => p.wallMs[s]));
  const stepMeasured = inp.stepMs !== null && inp.stepMs > 0;
  const stepMs = stepMeasured ? inp.stepMs! : profiledMs;
  const stages = STAGES.map((stage) => ({
    stage,
    label: STAGE_LABELS[stage],
    ms: p.wallMs[stage],
    share: profiledMs > 0 ? p.wallMs[stage] / profiledMs : 0,
    gpuMs: p.gpuMs ? p.gpuMs[stage] : null,
  }));
  const gpuStagesMs = p.wallMs.upload + p.wallMs.forward + p.wallMs.ctc + p.wallMs.backward + p.wallMs.optimizer + p.wallMs.readback;
  const gpuBusy = p.gpuMs ? Math.min(1, sum(STAGES.map((s) => p.gpuMs![s])) / Math.max(gpuStagesMs, 1e-9)) : null;
  const achievedFlops = p.flops / (stepMs / 1000);
  const mfu = achievedFlops / d.matmulFlops;
  const msPerDispatch = p.dispatches ? gpuStagesMs / p.dispatches : null;
  const t = stepTerms(p, d.dispatchMs);
  const findings: string[] = [];
  const gpuStep = t.fixed + p.microBatches * (t.upload + t.dispatch + t.arithmetic);
  let bound: SpeedReport['bound'] = 'arithmetic';
  if (t.data > gpuStep) {
    bound = 'data';
    findings.push(
      `The loader bounds the step: reading and assembling a batch takes ${t.data.toFixed(0)} ms, longer than the GPU's ${gpuStep.toFixed(0)} ms, so the GPU waits for data (prefetch cannot hide it). Fewer, larger feature files or float16 storage read faster.`,
    );
  }
  const overheadShare = t.dispatch / Math.max(t.dispatch + t.arithmetic, 1e-9);
  if (p.dispatches !== null && overheadShare >= 0.5 && mfu < 0.25) {
    if (bound !== 'data') bound = 'dispatch';
    findings.push(
      `Dispatch overhead, not arithmetic, dominates: ${p.dispatches} dispatches per step at ${d.dispatchMs.toFixed(3)} ms each (an empty dispatch on this device) ≈ ${(p.dispatches * d.dispatchMs).toFixed(0)} ms of a ${stepMs.toFixed(0)} ms step, while the arithmetic runs at ${pct(mfu)} of the device's matmul rate. More work per dispatch (a larger batch) or fewer dispatches (fused kernels) help; fewer FLOPs do not.`,
    );
  }
  const k = inp.candidates.subsample4;
  if (k && k.infeasible.count > 0) {
    findings.push(
      `×4 time subsampling is not advised: ${k.infeasible.count} training sample${k.infeasible.count > 1 ? 's' : ''} would have fewer output frames than their transcript needs (${k.infeasible.examples.join(', ')}).`,
    );
  }
  // Projection: measured epochs when there are some (they include validation), else steps × step time.
  const measured = run.epochSeconds.filter((s) => Number.isFinite(s) && s > 0).slice(-3);
  const epochMeasured = measured.length > 0;
  const epochSeconds = epochMeasured ? [...measured].sort((a, b) => a - b)[measured.length >> 1] : (run.stepsPerEpoch * stepMs) / 1000;
  const stepsLeftThisEpoch = Math.max(0, run.stepsPerEpoch - run.stepsIntoEpoch);
  const fullEpochsLeft = Math.max(0, run.plannedEpochs - run.epochsDone - (run.stepsIntoEpoch > 0 ? 1 : 0));
  const remainingEpochs = fullEpochsLeft + (run.stepsIntoEpoch > 0 ? stepsLeftThisEpoch / run.stepsPerEpoch : 0);
  const remainingSeconds = remainingEpochs * epochSeconds;
  let target: string | null = null;
  const g = inp.target;
  if (g) {
    const w = `${(100 * g.targetWer).toFixed(0)}%`;
    if (g.kind === 'reached') {
      const at = (e: number) => Math.max(0, e - run.epochsDone) * epochSeconds;
      target = `target val WER ${w} near epoch ${g.epoch} (${g.lo}–${g.hi ?? 'beyond the plan'}): in ${formatSeconds(at(g.epoch))} (${formatSeconds(at(g.lo))}–${g.hi === null ? '?' : formatSeconds(at(g.hi))})`;
    } else if (g.kind === 'already') target = `target val WER ${w} already reached at epoch ${g.epoch}`;
    else if (g.kind === 'not-within') target = `target val WER ${w}: not within the planned ${g.plannedEpochs} epochs at this rate`;
    else target = `target val WER ${w}: no forecast yet (${g.message})`;
  }
  return {
    method: p.method,
    note: p.note,
    stages,
    profiledMs,
    stepMs,
    stepMeasured,
    dispatches: p.dispatches,
    msPerDispatch,
    dispatchMs: d.dispatchMs,
    flopsPerStep: p.flops,
    achievedFlops,
    matmulFlops: d.matmulFlops,
    mfu,
    gpuBusy,
    bound,
    findings,
    projection: { epochSeconds, epochMeasured, remainingSeconds, remainingEpochs, target },
    advice: advise(inp),
  };
}
