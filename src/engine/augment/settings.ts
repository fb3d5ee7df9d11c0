// Augmentation settings of a training run (TrainConfig.augment): one flat object, each op off at
// its neutral value, so an old checkpoint (no `augment`) and AUGMENT_OFF train the same. The ops
// are those of speech and sign-language CTC recipes (issue 21): speed perturbation / temporal
// rescale, SpecAugment time and feature masks (ESPnet's length-relative widths), a
// vocal-tract-length-like warp of the feature axis, Gaussian noise, frame dropping.

export interface AugmentSettings {
  stretchMin: number; // time stretch: each sample's length × a factor drawn in [min, max]; 1–1 = off; 0.9–1.1 usual, 0.8–1.2 sign language
  stretchMax: number;
  timeMasks: number; // SpecAugment time masks per sample; 0 = off; 2
  timeMaskWidth: number; // widest time mask, as a fraction of the sample's frames, in (0, 1); 0.05
  featureMasks: number; // SpecAugment feature masks per sample; 0 = off; 2
  featureMaskWidth: number; // widest feature mask, as a fraction of the feature dim, in (0, 1); 0.15
  featureWarp: number; // feature-axis warp ±this fraction (spectrograms: vocal tract length); 0 = off; 0.1
  noise: number; // Gaussian noise σ on the normalised features (std 1); 0 = off; 0.05
  frameDrop: number; // drop up to this fraction of each sample's frames (pose / video features); 0 = off; 0.1
}

/** Every op off: training sees the batch as it is. */
export const AUGMENT_OFF: AugmentSettings = {
  stretchMin: 1,
  stretchMax: 1,
  timeMasks: 0,
  timeMaskWidth: 0.05,
  featureMasks: 0,
  featureMaskWidth: 0.15,
  featureWarp: 0,
  noise: 0,
  frameDrop: 0,
};

/** Sensible strengths to start from: stretch 0.9–1.1, two time and two feature masks; warp, noise and frame dropping off. */
export const AUGMENT_DEFAULTS: AugmentSettings = { ...AUGMENT_OFF, stretchMin: 0.9, stretchMax: 1.1, timeMasks: 2, featureMasks: 2 };

/** The sign-language recipes' temporal rescale (VAC, CorrNet, SlowFastSign): ±20%. */
export const SIGN_LANGUAGE_STRETCH = { stretchMin: 0.8, stretchMax: 1.2 } as const;

export const MAX_MASKS = 20;
export const MAX_STRETCH = 4;

/** Whether any op changes a batch (else the trainer skips augmentation altogether). */
export function augmentActive(a: AugmentSettings | undefined): a is AugmentSettings {
  return !!a && (a.stretchMin !== 1 || a.stretchMax !== 1 || a.timeMasks > 0 || a.featureMasks > 0 || a.featureWarp > 0 || a.noise > 0 || a.frameDrop > 0);
}

/** What is wrong with a set of settings, each naming its field (the form and the trainer refuse them; the schema says the same). */
export function augmentProblems(a: AugmentSettings | undefined): string[] {
  const p: string[] = [];
  if (!a) return p; // none recorded: off
  const num = (k: keyof AugmentSettings, ok: (x: number) => boolean, want: string) => {
    const x = a[k];
    if (typeof x !== 'number' || !Number.isFinite(x) || !ok(x)) p.push(`augment.${k}: expected ${want}, got ${String(x)}`);
  };
  num('stretchMin', (x) => x > 0 && x <= MAX_STRETCH, `a factor above 0 and at most ${MAX_STRETCH}`);
  num('stretchMax', (x) => x > 0 && x <= MAX_STRETCH, `a factor above 0 and at most ${MAX_STRETCH}`);
  if (p.length === 0 && a.stretchMin > a.stretchMax) p.push(`augment.stretchMin: expected at most stretchMax (${a.stretchMax}), got ${a.stretchMin}`);
  num('timeMasks', (x) => Number.isInteger(x) && x >= 0 && x <= MAX_MASKS, `an integer from 0 to ${MAX_MASKS}`);
  num('timeMaskWidth', (x) => x > 0 && x < 1, 'a fraction of the frames above 0 and below 1');
  num('featureMasks', (x) => Number.isInteger(x) && x >= 0 && x <= MAX_MASKS, `an integer from 0 to ${MAX_MASKS}`);
  num('featureMaskWidth', (x) => x > 0 && x < 1, 'a fraction of the feature dim above 0 and below 1');
  num('featureWarp', (x) => x >= 0 && x < 1, 'a fraction from 0 to below 1');
  num('noise', (x) => x >= 0 && x <= 10, 'a σ from 0 to 10');
  num('frameDrop', (x) => x >= 0 && x < 1, 'a fraction from 0 to below 1');
  return p;
}
