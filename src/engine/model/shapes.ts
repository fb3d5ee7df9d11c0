// Every parameter's name and shape for a model config, without building the model (no TF.js, no
// memory): a checkpoint's tensors are checked against these before anything is allocated, so a
// file claiming a width of 1e9 is refused by name instead of failing in a typed-array constructor.
// Mirrors the constructors in tcn.ts, tconv_bilstm.ts and transformer.ts; shapes.test.ts checks
// that it equals the built model's parameters for every preset.

import type { ModelConfig } from './registry';

export type ParamShapes = Map<string, number[]>;

export function paramShapes(config: ModelConfig): ParamShapes {
  const s: ParamShapes = new Map();
  const { featureDim: F, numClasses: V } = config;
  switch (config.preset) {
    case 'tcn': {
      const { channels: C, kernel: K, layers } = config;
      s.set('model.subsample.weight', [K, F, C]).set('model.subsample.bias', [C]);
      if (config.subsampling === 4) s.set('model.subsample2.weight', [K, C, C]).set('model.subsample2.bias', [C]);
      for (let i = 0; i < layers; i++) s.set(`model.blocks.${i}.weight`, [K, C, C]).set(`model.blocks.${i}.bias`, [C]);
      s.set('model.head.weight', [C, V]).set('model.head.bias', [V]);
      break;
    }
    case 'tconv-bilstm': {
      const { channels: C, layers, hidden: H } = config;
      [F, C].forEach((cin, i) => s.set(`model.conv.${i}.weight`, [5, cin, C]).set(`model.conv.${i}.bias`, [C]));
      for (let l = 0; l < layers; l++) {
        s.set(`model.lstm.${l}.w_ih`, [2, l === 0 ? C : 2 * H, 4 * H])
          .set(`model.lstm.${l}.w_hh`, [2, H, 4 * H])
          .set(`model.lstm.${l}.bias`, [2, 4 * H]);
      }
      s.set('model.head.weight', [2 * H, V]).set('model.head.bias', [V]);
      break;
    }
    case 'transformer': {
      const { channels: d, layers } = config;
      const linear = (name: string, nin: number, nout: number) => s.set(`${name}.weight`, [nin, nout]).set(`${name}.bias`, [nout]);
      const norm = (name: string) => s.set(`${name}.gamma`, [d]).set(`${name}.beta`, [d]);
      [F, d].forEach((cin, i) => s.set(`model.subsample.${i}.weight`, [3, cin, d]).set(`model.subsample.${i}.bias`, [d]));
      for (let i = 0; i < layers; i++) {
        const p = `model.layers.${i}`;
        norm(`${p}.ln1`);
        linear(`${p}.attn.qkv`, d, 3 * d);
        linear(`${p}.attn.out`, d, d);
        norm(`${p}.ln2`);
        linear(`${p}.ff.1`, d, 4 * d);
        linear(`${p}.ff.2`, 4 * d, d);
      }
      norm('model.ln_final');
      s.set('model.head.weight', [d, V]).set('model.head.bias', [V]);
      break;
    }
  }
  return s;
}

/** The optimizer's slot tensors ("optim.<slot>.<param>") for these parameters. */
export function slotShapes(params: ParamShapes, optimizer: 'adam' | 'adamw' | 'sgd'): ParamShapes {
  const s: ParamShapes = new Map();
  const slots = optimizer === 'sgd' ? ['momentum'] : ['m', 'v'];
  for (const [name, shape] of params) for (const slot of slots) s.set(`optim.${slot}.${name}`, shape);
  return s;
}
