// Diagnostics defaults (plain data, no TF.js: the page's form starts from these too).

export const DIAGNOSE_DEFAULTS = {
  maxEvalSamples: 64, // validation samples decoded and scored
  gradBatch: 8, // training samples in the gradient-flow batch
  beamWidth: 8, // prefix beam search width
  patience: 15, // the early-stopping settings judged by default: the field guide's failing run
  minDelta: 0,
  maxEpochs: 150,
};
