// Builds any preset's model from its config (the presets' names and default sizes: presets.ts).

import { TcnModel, TCN_DEFAULTS, type TcnConfig } from './tcn';
import { TconvBilstmModel, type TconvBilstmConfig } from './tconv_bilstm';
import { TransformerModel, type TransformerConfig } from './transformer';
import type { SequenceModel } from './model';
import { PRESET_NAMES, type ArchKnobs, type Preset } from './presets';
import * as v from 'valibot';
import { modelConfigSchema } from '../checkpoint/schema';

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

/**
 * Checks an untrusted config (from a checkpoint file) against the checkpoint schema's model config
 * (the one validator: ../checkpoint/schema.ts), refusing in this function's words: an unknown
 * preset, a missing field, a field that is not a number, or one out of its range.
 */
export function parseModelConfig(raw: unknown, file: string): ModelConfig {
  const c = raw as Record<string, unknown>;
  if (!c || typeof c !== 'object') throw new Error(`${file}: no model config in the metadata`);
  const preset = c.preset as Preset;
  const r = v.safeParse(modelConfigSchema, c, { abortEarly: true });
  if (!r.success) {
    const issue = r.issues[0];
    const k = String(issue.path?.[0]?.key ?? 'preset');
    if (k === 'preset' || !PRESET_NAMES.includes(preset))
      throw new Error(`${file}: model preset '${String(c.preset)}' is unknown (this lab has ${PRESET_NAMES.join(', ')})`);
    if (!(k in c)) throw new Error(`${file}: model config has no field ${k} (needed by preset ${preset})`);
    const value = c[k];
    if (typeof value !== 'number' || !Number.isFinite(value))
      throw new Error(`${file}: model config field ${k} is ${JSON.stringify(value)}, expected a number`);
    if (preset === 'tcn' && k === 'subsampling') throw new Error(`${file}: model config field subsampling is ${String(value)}, expected 2 or 4 (tcn)`);
    throw new Error(`${file}: model config field ${k} is ${JSON.stringify(value)}, ${issue.message}`);
  }
  return { ...OPTIONAL_FIELDS[preset], ...r.output } as ModelConfig;
}
