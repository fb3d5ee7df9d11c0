// Model presets as plain data (no TF.js): the page imports this for its forms, the worker builds
// models from it through registry.ts.

export type Preset = 'tcn' | 'tconv-bilstm' | 'transformer';
export const PRESET_NAMES: Preset[] = ['tcn', 'tconv-bilstm', 'transformer'];

/** Architecture knobs the forms expose (shared names; each preset reads the ones it has). */
export interface ArchKnobs {
  preset: Preset;
  channels: number; // tcn width / conv channels / d_model
  layers: number; // tcn residual blocks / BiLSTM layers / encoder layers
  hidden: number; // BiLSTM hidden size per direction
  heads: number; // transformer attention heads
  dropout: number;
  subsampling?: 2 | 4; // tcn only: time subsampling ×2 (default) or ×4 (e.g. to match a ×4 teacher)
}

export const PRESET_DEFAULTS: Record<Preset, { label: string; channels: number; layers: number; hidden: number; heads: number }> = {
  tcn: { label: 'tcn (dilated convolutions, ×2; fast)', channels: 64, layers: 3, hidden: 128, heads: 4 },
  'tconv-bilstm': { label: 'tconv-bilstm (conv ×4 + BiLSTM; the CorrNet/VAC teacher)', channels: 128, layers: 2, hidden: 128, heads: 4 },
  transformer: { label: 'transformer (conv ×4 + pre-LN encoder)', channels: 128, layers: 4, hidden: 128, heads: 4 },
};

/** Time subsampling of each preset (the models' own `subsampling`; a test checks they agree). */
export const PRESET_SUBSAMPLING: Record<Preset, number> = { tcn: 2, 'tconv-bilstm': 4, transformer: 4 };

/** Time subsampling the knobs give (tcn's own choice, the preset's fixed factor otherwise). */
export function subsamplingOf(k: { preset: Preset; subsampling?: number }): number {
  return k.preset === 'tcn' ? (k.subsampling ?? 2) : PRESET_SUBSAMPLING[k.preset];
}

/** A preset's default size (the knobs other than preset and dropout). */
export function presetSize(preset: Preset): Omit<ArchKnobs, 'preset' | 'dropout'> {
  const { label: _label, ...size } = PRESET_DEFAULTS[preset];
  return size;
}

/** The form's knobs from a stored model config (a checkpoint's), preset defaults for what it lacks. */
export function knobsOf(c: {
  preset: Preset;
  dropout: number;
  channels?: number;
  layers?: number;
  hidden?: number;
  heads?: number;
  subsampling?: number;
}): ArchKnobs {
  const d = presetSize(c.preset);
  const k: ArchKnobs = {
    preset: c.preset,
    channels: c.channels ?? d.channels,
    layers: c.layers ?? d.layers,
    hidden: c.hidden ?? d.hidden,
    heads: c.heads ?? d.heads,
    dropout: c.dropout,
  };
  if (c.preset === 'tcn' && c.subsampling === 4) k.subsampling = 4;
  return k;
}
