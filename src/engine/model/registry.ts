// Builds any preset's model from its config (the presets' names and default sizes: presets.ts).

import { TcnModel, TCN_DEFAULTS, type TcnConfig } from './tcn';
import { TconvBilstmModel, type TconvBilstmConfig } from './tconv_bilstm';
import { TransformerModel, type TransformerConfig } from './transformer';
import type { SequenceModel } from './model';
import { PRESET_NAMES, presetSize, type ArchKnobs, type Preset } from './presets';

export type ModelConfig = TcnConfig | TconvBilstmConfig | TransformerConfig;

export function modelConfig(k: ArchKnobs, featureDim: number, numClasses: number): ModelConfig {
  const { channels, layers, dropout } = k;
  switch (k.preset) {
    case 'tcn':
      return { preset: 'tcn', featureDim, numClasses, channels, layers, kernel: TCN_DEFAULTS.kernel, dropout, subsampling: k.subsampling ?? 2 };
    case 'tconv-bilstm':
      return { preset: 'tconv-bilstm', featureDim, numClasses, channels, layers, hidden: k.hidden, dropout };
    case 'transformer':
      return { preset: 'transformer', featureDim, numClasses, channels, layers, heads: k.heads, dropout };
  }
}

export function createModel(config: ModelConfig, seed: number): SequenceModel {
  switch (config.preset) {
    case 'tcn':
      return new TcnModel(config, seed);
    case 'tconv-bilstm':
      return new TconvBilstmModel(config, seed);
    case 'transformer':
      return new TransformerModel(config, seed);
  }
}

/** Fields a stored config may lack (written before they existed), and the value that means. */
const OPTIONAL_FIELDS: Partial<Record<Preset, Record<string, number>>> = { tcn: { subsampling: 2 } };

/** Checks an untrusted config (from a checkpoint file) names a known preset with numeric fields. */
export function parseModelConfig(raw: unknown, file: string): ModelConfig {
  const c = raw as Record<string, unknown>;
  if (!c || typeof c !== 'object') throw new Error(`${file}: no model config in the metadata`);
  const preset = c.preset as Preset;
  if (!PRESET_NAMES.includes(preset)) throw new Error(`${file}: model preset '${String(c.preset)}' is unknown (this lab has ${PRESET_NAMES.join(', ')})`);
  for (const k of Object.keys(modelConfig({ preset, ...presetSize(preset), dropout: 0 }, 1, 1))) {
    if (!(k in c) && !(k in (OPTIONAL_FIELDS[preset] ?? {}))) throw new Error(`${file}: model config has no field ${k} (needed by preset ${preset})`);
  }
  for (const [k, v] of Object.entries(c)) {
    if (k !== 'preset' && (typeof v !== 'number' || !Number.isFinite(v)))
      throw new Error(`${file}: model config field ${k} is ${JSON.stringify(v)}, expected a number`);
  }
  if (preset === 'tcn' && 'subsampling' in c && c.subsampling !== 2 && c.subsampling !== 4) {
    throw new Error(`${file}: model config field subsampling is ${String(c.subsampling)}, expected 2 or 4 (tcn)`);
  }
  return { ...OPTIONAL_FIELDS[preset], ...c } as unknown as ModelConfig;
}
