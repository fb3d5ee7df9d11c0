// Builds any preset's model from its config; the per-preset defaults the trainer and the page use.

import { TcnModel, TCN_DEFAULTS, type TcnConfig } from './tcn';
import type { SequenceModel } from './model';
import { PRESET_NAMES, type ArchKnobs, type Preset } from './presets';

export type ModelConfig = TcnConfig;

export function modelConfig(k: ArchKnobs, featureDim: number, numClasses: number): ModelConfig {
  switch (k.preset) {
    case 'tcn':
      return { preset: 'tcn', featureDim, numClasses, channels: k.channels, layers: k.layers, kernel: TCN_DEFAULTS.kernel, dropout: k.dropout };
    default:
      throw new Error(`model preset '${k.preset}' is not built yet`);
  }
}

export function createModel(config: ModelConfig, seed: number): SequenceModel {
  switch (config.preset) {
    case 'tcn':
      return new TcnModel(config, seed);
  }
}

/** Checks an untrusted config (from a checkpoint file) names a known preset with numeric fields. */
export function parseModelConfig(raw: unknown, file: string): ModelConfig {
  const c = raw as Record<string, unknown>;
  if (!c || typeof c !== 'object') throw new Error(`${file}: no model config in the metadata`);
  if (!PRESET_NAMES.includes(c.preset as Preset)) throw new Error(`${file}: model preset '${String(c.preset)}' is unknown (this lab has ${PRESET_NAMES.join(', ')})`);
  for (const [k, v] of Object.entries(c)) {
    if (k !== 'preset' && (typeof v !== 'number' || !Number.isFinite(v))) throw new Error(`${file}: model config field ${k} is ${JSON.stringify(v)}, expected a number`);
  }
  return c as unknown as ModelConfig;
}
