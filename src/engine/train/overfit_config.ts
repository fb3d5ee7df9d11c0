// The overfit test's settings and their defaults (plain data, no TF.js: the page's form starts from
// these too).

import { presetSize, type Preset } from '../model/presets';

export interface OverfitConfig {
  numSamples: number; // 5 (field guide)
  maxEpochs: number; // 2000
  lr: number; // Adam learning rate, usual 3e-3 for the tcn preset
  seed: number; // weight init
  preset: Preset; // model preset, tcn (fast) by default
  channels: number; // preset width (tcn channels, conv channels, d_model)
  layers: number; // preset depth
  hidden: number; // LSTM hidden size (tconv-bilstm)
  heads: number; // attention heads (transformer)
  subsampling?: 2 | 4; // tcn only: time subsampling ×2 (default) or ×4, as in training; the other presets have their own
}

export const OVERFIT_DEFAULTS: OverfitConfig = { numSamples: 5, maxEpochs: 2000, lr: 3e-3, seed: 1, preset: 'tcn', ...presetSize('tcn'), subsampling: 2 };
