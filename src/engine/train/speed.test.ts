import { describe, expect, it } from 'vitest';
import { speedReport, STAGES, type SpeedInputs, type Stage, type StepProfile } from './speed';

const stages = (x: Partial<Record<Stage, number>>): Record<Stage, number> =>
  ({ ...Object.fromEntries(STAGES.map((s) => [s, 0])), ...x }) as Record<Stage, number>;

function profile(over: Partial<StepProfile> = {}): StepProfile {
  return {
    method: 'timers',
    note: 'planted',
    wallMs: stages({ data: 5, upload: 2, forward: 300, ctc: 40, backward: 600, optimizer: 20, readback: 3 }),
    gpuMs: null,
    microBatches: 1,
    batch: { B: 8, T: 150 },
    dispatches: 450,
    dispatchesPerMicroBatch: 400,
    flops: 4.3e9,
    activationBytes: 40 * 2 ** 20,
    paramBytes: 5.6e6,
    slotBytes: 11.2e6,
    ...over,
  };
}

/** A healthy, arithmetic-bound run: tconv-bilstm (already ×4), batch 8, no accumulation, cheap dispatches. */
function healthy(over: Partial<SpeedInputs> = {}): SpeedInputs {
  return {
    profile: profile(),
    device: { matmulFlops: 8e9, matmulN: 1024, dispatchMs: 0.01 }, // 4.3e9 FLOP in ~0.97 s: 55% MFU
    stepMs: 980,
    run: {
      preset: 'tconv-bilstm',
      channels: 128,
      layers: 2,
      params: 1_400_000,
      batchSize: 8,
      accumulationSteps: 1,
      trainSamples: 800,
      stepsPerEpoch: 100,
      epochsDone: 4,
      stepsIntoEpoch: 0,
      plannedEpochs: 150,
      evalEvery: 1,
      epochSeconds: [120, 110, 100, 105],
    },
    candidates: {
      halfChannels: { channels: 64, flops: 1.2e9 },
      fewerLayers: { layers: 1, flops: 2.6e9 },
      subsample4: null,
      student: { channels: 64, layers: 1, flops: 0.7e9, params: 300_000 },
    },
    memoryBudgetBytes: null,
    target: null,
    ...over,
  };
}

describe('speed report', () => {
  it('a healthy arithmetic-bound run: the stage table adds up, no alarm, only advice that applies, best first', () => {
    const r = speedReport(healthy());
    expect(r.stages.map((s) => s.stage)).toEqual([...STAGES]);
    expect(r.profiledMs).toBeCloseTo(970, 9);
    expect(r.stages.reduce((a, s) => a + s.share, 0)).toBeCloseTo(1, 12);
    expect(r.stepMs).toBe(980);
    expect(r.achievedFlops).toBeCloseTo(4.3e9 / 0.98, 0);
    expect(r.mfu).toBeCloseTo(4.3e9 / 0.98 / 8e9, 12);
    expect(r.bound).toBe('arithmetic');
    expect(r.findings).toEqual([]);
    const ids = r.advice.map((a) => a.id);
    // ×4 does not apply (already ×4); a larger batch gains < 5% when dispatches cost 4 of 940 ms.
    expect(ids).not.toContain('subsample-4');
    expect(ids).not.toContain('larger-batch');
    expect(ids).not.toContain('batch-for-accumulation');
    expect(ids).toEqual(['student', 'fewer-channels', 'fewer-layers']);
    for (let i = 1; i < r.advice.length; i++) expect(r.advice[i - 1].speedup).toBeGreaterThanOrEqual(r.advice[i].speedup);
    for (const a of r.advice) expect(a.cost.length).toBeGreaterThan(10);
  });

  it('predicts a speed-up from the step-time model: fewer channels scale the arithmetic only', () => {
    const r = speedReport(healthy());
    // Independent arithmetic: per step fixed 23 ms, upload 2, dispatch 400 × 0.01 = 4, arithmetic 940 − 4 = 936.
    const before = 23 + 2 + 4 + 936;
    const after = 23 + 2 + 4 + 936 * (1.2e9 / 4.3e9);
    expect(r.advice.find((a) => a.id === 'fewer-channels')!.speedup).toBeCloseTo(before / after, 10);
  });

  it('a dispatch-bound profile says so, and a larger batch leads the advice', () => {
    // transformer-like: 1550 dispatches of ~0.02 ms each, the arithmetic small.
    const r = speedReport(
      healthy({
        profile: profile({
          wallMs: stages({ data: 1, upload: 1, forward: 12, ctc: 2, backward: 24, optimizer: 4, readback: 1 }),
          dispatches: 1550,
          dispatchesPerMicroBatch: 1400,
          flops: 2.5e9,
        }),
        device: { matmulFlops: 1e12, matmulN: 2048, dispatchMs: 0.022 },
        stepMs: 45,
        run: { ...healthy().run, preset: 'transformer', layers: 4 },
        candidates: {
          halfChannels: { channels: 64, flops: 1.0e9 },
          fewerLayers: { layers: 3, flops: 2.0e9 },
          subsample4: null,
          student: { channels: 64, layers: 2, flops: 0.6e9, params: 300_000 },
        },
      }),
    );
    expect(r.bound).toBe('dispatch');
    expect(r.findings.join(' ')).toMatch(/Dispatch overhead, not arithmetic, dominates: 1550 dispatches per step/);
    const batch = r.advice.find((a) => a.id === 'larger-batch')!;
    // dispatch 1400 × 0.022 = 30.8 of 38 ms; before 5 + 1 + 38 = 44 per step × 100 steps; after 50 steps × (5 + 2 + 30.8 + 2·7.2).
    expect(batch.speedup).toBeCloseTo((100 * 44) / (50 * (5 + 2 + 30.8 + 2 * 7.2)), 10);
    expect(batch.cost).toMatch(/more GPU memory/);
    // Halving the channels barely helps when dispatches dominate: 44 / (5 + 1 + 30.8 + 7.2 · 0.4).
    expect(r.advice.find((a) => a.id === 'fewer-channels')!.speedup).toBeCloseTo(44 / (5 + 1 + 30.8 + 7.2 * 0.4), 10);
    expect(batch.speedup).toBeGreaterThan(r.advice.find((a) => a.id === 'fewer-channels')!.speedup);
  });

  it('the same step with arithmetic, not dispatches, dominating raises no dispatch alarm', () => {
    const r = speedReport(healthy({ profile: profile({ dispatches: 1550, dispatchesPerMicroBatch: 1400 }) }));
    expect(r.findings.join(' ')).not.toMatch(/Dispatch overhead/);
    expect(r.bound).toBe('arithmetic');
  });

  it('×4 subsampling: advised when every training sample stays feasible, never when one does not', () => {
    const tcn = (count: number) =>
      speedReport(
        healthy({
          run: { ...healthy().run, preset: 'tcn', channels: 64, layers: 3 },
          candidates: { ...healthy().candidates, subsample4: { flops: 2.3e9, infeasible: { count, examples: count ? ['s7: 5 frames < 6 needed'] : [] } } },
        }),
      );
    const ok = tcn(0);
    const a = ok.advice.find((x) => x.id === 'subsample-4')!;
    expect(a.speedup).toBeCloseTo((23 + 2 + 4 + 936) / (23 + 2 + 4 + 936 * (2.3e9 / 4.3e9)), 10);
    expect(ok.findings).toEqual([]);
    const bad = tcn(1);
    expect(bad.advice.map((x) => x.id)).not.toContain('subsample-4');
    expect(bad.findings.join(' ')).toMatch(/×4 time subsampling is not advised: 1 training sample .*s7: 5 frames < 6 needed/);
  });

  it('a larger batch is not advised when the memory budget is known and too small, nor beyond the training set', () => {
    const dispatchBound = healthy({
      profile: profile({
        wallMs: stages({ upload: 1, forward: 12, ctc: 2, backward: 24, optimizer: 4, readback: 1 }),
        dispatchesPerMicroBatch: 1400,
        flops: 2.5e9,
      }),
      device: { matmulFlops: 1e12, matmulN: 2048, dispatchMs: 0.022 },
    });
    expect(speedReport(dispatchBound).advice.map((a) => a.id)).toContain('larger-batch');
    expect(speedReport({ ...dispatchBound, memoryBudgetBytes: 60 * 2 ** 20 }).advice.map((a) => a.id)).not.toContain('larger-batch');
    expect(speedReport({ ...dispatchBound, run: { ...dispatchBound.run, trainSamples: 12 } }).advice.map((a) => a.id)).not.toContain('larger-batch');
  });

  it('with accumulation, doubling the batch and halving the accumulation keeps the updates and is offered first', () => {
    const r = speedReport(
      healthy({
        profile: profile({
          microBatches: 2,
          wallMs: stages({ upload: 2, forward: 24, ctc: 4, backward: 48, optimizer: 4, readback: 1 }),
          dispatchesPerMicroBatch: 1400,
          flops: 5e9,
        }),
        device: { matmulFlops: 1e12, matmulN: 2048, dispatchMs: 0.022 },
        run: { ...healthy().run, accumulationSteps: 2, stepsPerEpoch: 50 },
      }),
    );
    const a = r.advice.find((x) => x.id === 'batch-for-accumulation')!;
    expect(a.title).toBe('Batch 16 with 1 accumulation step (instead of batch 8 × 2)');
    // per micro-batch: upload 1, dispatch 30.8, arithmetic 38 − 30.8 = 7.2; fixed 5. Before 50 × (5 + 2·39); after 50 × (5 + 1·(2 + 30.8 + 14.4)).
    expect(a.speedup).toBeCloseTo((5 + 2 * (1 + 30.8 + 7.2)) / (5 + (2 + 30.8 + 14.4)), 10);
    expect(a.cost).toMatch(/same effective batch/);
  });

  it('a loader slower than the GPU bounds the step', () => {
    const r = speedReport(
      healthy({ profile: profile({ wallMs: stages({ data: 2000, upload: 2, forward: 300, ctc: 40, backward: 600, optimizer: 20, readback: 3 }) }) }),
    );
    expect(r.bound).toBe('data');
    expect(r.findings[0]).toMatch(/The loader bounds the step: reading and assembling a batch takes 2000 ms/);
  });

  it('projects from measured epochs (median of the last 3), mid-epoch included, and the target epoch when the forecast has one', () => {
    const r = speedReport(
      healthy({
        run: { ...healthy().run, epochsDone: 4, stepsIntoEpoch: 25, plannedEpochs: 10 },
        target: { kind: 'reached', targetWer: 0.25, epoch: 8, lo: 7, hi: 9 },
      }),
    );
    expect(r.projection.epochMeasured).toBe(true);
    expect(r.projection.epochSeconds).toBe(105); // median of 110, 100, 105
    expect(r.projection.remainingEpochs).toBeCloseTo(5 + 0.75, 12);
    expect(r.projection.remainingSeconds).toBeCloseTo(5.75 * 105, 9);
    expect(r.projection.target).toBe('target val WER 25% near epoch 8 (7–9): in 7.0 min (5.3 min–8.8 min)');
    const early = speedReport(healthy({ run: { ...healthy().run, epochSeconds: [] }, stepMs: 1000 }));
    expect(early.projection.epochMeasured).toBe(false);
    expect(early.projection.epochSeconds).toBe(100); // 100 steps × 1 s
    expect(speedReport(healthy()).projection.target).toBeNull();
    expect(speedReport(healthy({ target: { kind: 'not-within', targetWer: 0.1, plannedEpochs: 150 } })).projection.target).toMatch(
      /not within the planned 150 epochs/,
    );
  });

  it('GPU busy share from timestamp queries', () => {
    const r = speedReport(
      healthy({ profile: profile({ method: 'timestamp-query', gpuMs: stages({ forward: 150, ctc: 20, backward: 300, optimizer: 10, readback: 0.5 }) }) }),
    );
    expect(r.gpuBusy).toBeCloseTo(480.5 / 965, 12);
    expect(r.stages.find((s) => s.stage === 'forward')!.gpuMs).toBe(150);
  });
});
