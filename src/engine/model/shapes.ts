// Every parameter's name, shape and initialisation for a model config, without building the model
// (no TF.js, no memory). The models build their parameters from this list (ParamModel.build), and
// a checkpoint's tensors are checked against its shapes before anything is allocated, so a file
// claiming a width of 1e9 is refused by name instead of failing in a typed-array constructor.
// shapes.test.ts checks that it equals the built model's parameters for every preset.

import type { ModelConfig } from './registry';

export type ParamShapes = Map<string, number[]>;

/** How a parameter starts. Uniform ones are drawn from the model's seed in the list's order. */
export type ParamInit =
  | { kind: 'uniform'; limit: number } // U(−limit, limit): He for ReLU layers, Glorot for linears, ×0.1 Glorot for heads
  | { kind: 'fill'; value: number } // 0: biases, LayerNorm betas; 1: LayerNorm gammas
  | { kind: 'lstm-bias' }; // [2, 4H]: 0, the forget gate's H columns of each direction 1

export interface ParamSpec {
  name: string;
  shape: number[];
  init: ParamInit;
}

/** The tconv-bilstm convolutions' kernel size. */
export const TCONV_KERNEL = 5;

const uniform = (limit: number): ParamInit => ({ kind: 'uniform', limit });
const ZEROS: ParamInit = { kind: 'fill', value: 0 };
const ONES: ParamInit = { kind: 'fill', value: 1 };

/** The parameters a config builds, in the order the model creates them. */
export function paramSpecs(config: ModelConfig): ParamSpec[] {
  const s: ParamSpec[] = [];
  const add = (name: string, shape: number[], init: ParamInit) => s.push({ name, shape, init });
  const { featureDim: F, numClasses: V } = config;
  switch (config.preset) {
    case 'tcn': {
      const { channels: C, kernel: K, layers } = config;
      // He-uniform for ReLU layers, Glorot-uniform for the head; biases zero.
      add('model.subsample.weight', [K, F, C], uniform(Math.sqrt(6 / (K * F))));
      add('model.subsample.bias', [C], ZEROS);
      if (config.subsampling === 4) {
        add('model.subsample2.weight', [K, C, C], uniform(Math.sqrt(6 / (K * C))));
        add('model.subsample2.bias', [C], ZEROS);
      }
      for (let i = 0; i < layers; i++) {
        add(`model.blocks.${i}.weight`, [K, C, C], uniform(Math.sqrt(6 / (K * C))));
        add(`model.blocks.${i}.bias`, [C], ZEROS);
      }
      // Head ×0.1 of Glorot: initial outputs close to uniform, so the first loss sits at the
      // uniform-prediction baseline (full Glorot gave 1.64× that baseline: confidently wrong).
      add('model.head.weight', [C, V], uniform(0.1 * Math.sqrt(6 / (C + V))));
      add('model.head.bias', [V], ZEROS);
      break;
    }
    case 'tconv-bilstm': {
      const { channels: C, layers, hidden: H } = config;
      const K = TCONV_KERNEL;
      // He-uniform convs (ReLU); LSTM weights U(±1/√H) as PyTorch, forget-gate bias 1.
      [F, C].forEach((cin, i) => {
        add(`model.conv.${i}.weight`, [K, cin, C], uniform(Math.sqrt(6 / (K * cin))));
        add(`model.conv.${i}.bias`, [C], ZEROS);
      });
      for (let l = 0; l < layers; l++) {
        add(`model.lstm.${l}.w_ih`, [2, l === 0 ? C : 2 * H, 4 * H], uniform(1 / Math.sqrt(H)));
        add(`model.lstm.${l}.w_hh`, [2, H, 4 * H], uniform(1 / Math.sqrt(H)));
        add(`model.lstm.${l}.bias`, [2, 4 * H], { kind: 'lstm-bias' });
      }
      // Head ×0.1 of Glorot (as tcn): the first loss sits at the uniform-prediction baseline.
      add('model.head.weight', [2 * H, V], uniform(0.1 * Math.sqrt(6 / (2 * H + V))));
      add('model.head.bias', [V], ZEROS);
      break;
    }
    case 'transformer': {
      const { channels: d, layers } = config;
      // He-uniform convs (ReLU), Glorot-uniform linears; biases and LN betas zero, LN gammas one.
      const linear = (name: string, nin: number, nout: number) => {
        add(`${name}.weight`, [nin, nout], uniform(Math.sqrt(6 / (nin + nout))));
        add(`${name}.bias`, [nout], ZEROS);
      };
      const norm = (name: string) => {
        add(`${name}.gamma`, [d], ONES);
        add(`${name}.beta`, [d], ZEROS);
      };
      [F, d].forEach((cin, i) => {
        add(`model.subsample.${i}.weight`, [3, cin, d], uniform(Math.sqrt(6 / (3 * cin))));
        add(`model.subsample.${i}.bias`, [d], ZEROS);
      });
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
      // Head ×0.1 of Glorot (as tcn): the first loss sits at the uniform-prediction baseline.
      add('model.head.weight', [d, V], uniform(0.1 * Math.sqrt(6 / (d + V))));
      add('model.head.bias', [V], ZEROS);
      break;
    }
  }
  return s;
}

export function paramShapes(config: ModelConfig): ParamShapes {
  return new Map(paramSpecs(config).map((p) => [p.name, p.shape]));
}

/** The optimizer's slot tensors ("optim.<slot>.<param>") for these parameters. */
export function slotShapes(params: ParamShapes, optimizer: 'adam' | 'adamw' | 'sgd'): ParamShapes {
  const s: ParamShapes = new Map();
  const slots = optimizer === 'sgd' ? ['momentum'] : ['m', 'v'];
  for (const [name, shape] of params) for (const slot of slots) s.set(`optim.${slot}.${name}`, shape);
  return s;
}
