// One sample as a training batch would see it augmented, for the sample inspector's "after
// augmentation" view: the same plan (plan.ts) as the trainer's, for the sample alone as the first
// of an epoch, applied with the reference arithmetic (plain TS, no tfjs: the page can call it).
// Output frames follow the models' rule: each ×2 of time subsampling is ceil(frames / 2).

import { ctcMinFrames } from '../../lib/ctc_frames';
import { applyPlanReference, planAugmentation } from './plan';
import type { AugmentSettings } from './settings';

/** The models' output frames at this time subsampling (tcn, tconv-bilstm, transformer: repeated ceil(f / 2)). */
export function stridedOutFrames(frames: number, subsampling: number): number {
  let f = frames;
  for (let s = subsampling; s > 1; s /= 2) f = Math.ceil(f / 2);
  return f;
}

export interface AugmentedSample {
  x: Float32Array; // [frames, F]
  frames: number;
  stretch: number; // the length factor applied
  clamped: boolean; // raised so the transcript still fits
}

/** The normalised features z [frames, F] of a sample with transcript `text`, augmented as the first sample of epoch `epoch`. */
export function augmentedSample(
  z: Float32Array,
  frames: number,
  F: number,
  text: string,
  a: AugmentSettings,
  seed: number,
  subsampling: number,
  epoch = 1,
): AugmentedSample {
  const tokens = text.split(' ').filter((t) => t);
  const ids = new Map<string, number>();
  const need = ctcMinFrames(tokens.map((t) => ids.get(t) ?? ids.set(t, ids.size).get(t)!));
  const p = planAugmentation(
    a,
    { seed, epoch, batch: 0, batchSize: 1 },
    { T: frames, F, frames: [frames], minFrames: [need], outFrames: (f) => stridedOutFrames(f, subsampling) },
  );
  return { x: Float32Array.from(applyPlanReference(p, z)), frames: p.frames[0], stretch: p.stretch[0], clamped: p.clamped[0] };
}
