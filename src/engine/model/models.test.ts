import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../lib/rng';
import type { ModelInput, SequenceModel, StoredTensor } from './model';
import { createModel, modelConfig, parseModelConfig, type ModelConfig } from './registry';
import { PRESET_DEFAULTS, PRESET_NAMES, PRESET_SUBSAMPLING, subsamplingOf, type Preset } from './presets';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const F = 6;
const V = 5;
const TINY: Record<Preset, { channels: number; layers: number; hidden: number; heads: number }> = {
  tcn: { channels: 8, layers: 2, hidden: 8, heads: 2 },
  'tconv-bilstm': { channels: 8, layers: 2, hidden: 8, heads: 2 },
  transformer: { channels: 16, layers: 2, hidden: 8, heads: 2 },
};

function config(preset: Preset, dropout = 0): ModelConfig {
  return modelConfig({ preset, ...TINY[preset], dropout }, F, V);
}

/** Closed-form parameter counts from the architectures. */
function expectedParams(preset: Preset): number {
  const { channels: C, layers: L, hidden: H } = TINY[preset];
  switch (preset) {
    case 'tcn':
      return 3 * F * C + C + L * (3 * C * C + C) + C * V + V;
    case 'tconv-bilstm': {
      let n = 5 * F * C + C + 5 * C * C + C + 2 * H * V + V;
      for (let l = 0; l < L; l++) n += 2 * ((l === 0 ? C : 2 * H) * 4 * H + H * 4 * H + 4 * H);
      return n;
    }
    case 'transformer': {
      const d = C;
      const layer = 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + 2 * d + (d * 4 * d + 4 * d) + (4 * d * d + d);
      return 3 * F * d + d + 3 * d * d + d + L * layer + 2 * d + d * V + V;
    }
  }
}

/** Random features per sample (lengths[b] frames), seeded. */
function features(lengths: number[], seed: number): Float32Array[] {
  const rng = new Rng(seed);
  return lengths.map((n) => Float32Array.from({ length: n * F }, () => rng.normal()));
}

/** A padded batch of `xs` at T frames (default: the longest), zero beyond each sample's end. */
function batch(model: SequenceModel, xs: Float32Array[], T = Math.max(...xs.map((x) => x.length / F))): ModelInput {
  const frames = xs.map((x) => x.length / F);
  const data = new Float32Array(xs.length * T * F);
  xs.forEach((x, b) => data.set(x, b * T * F));
  const maxOutFrames = model.outFrames(T);
  const mask = new Float32Array(xs.length * maxOutFrames);
  frames.forEach((n, b) => mask.fill(1, b * maxOutFrames, b * maxOutFrames + model.outFrames(n)));
  return { x: tf.tensor3d(data, [xs.length, T, F]), frames, mask: tf.tensor3d(mask, [xs.length, maxOutFrames, 1]) };
}

function disposeInput(i: ModelInput): void {
  tf.dispose([i.x, i.mask]);
}

/** Logits of a batch as nested arrays [B][T'][V]. */
function logits(model: SequenceModel, input: ModelInput, training = false, seed = 0): number[][][] {
  const y = model.apply(input, training, seed);
  const a = y.arraySync();
  y.dispose();
  return a;
}

/**
 * Replaces every parameter with N(0, 0.3²) values: zero biases at init hide masking bugs (a zero
 * padded frame stays zero through a bias-free ReLU conv, and an LSTM with zero input, zero g/i/o
 * biases and zero state stays at zero), so the masking tests run on random biases too.
 */
function randomize(model: SequenceModel, seed: number): void {
  const rng = new Rng(seed);
  for (const v of model.params.values()) {
    tf.tidy(() =>
      v.assign(
        tf.tensor(
          Float32Array.from({ length: v.size }, () => 0.3 * rng.normal()),
          v.shape,
        ),
      ),
    );
  }
}

function stored(model: SequenceModel): Record<string, StoredTensor> {
  return Object.fromEntries([...model.params].map(([name, v]) => [name, { shape: v.shape, data: v.dataSync().slice() }]));
}

function maxAbsDiff(a: number[][], b: number[][]): number {
  let m = 0;
  a.forEach((row, t) => row.forEach((x, j) => (m = Math.max(m, Math.abs(x - b[t][j])))));
  return m;
}

/** A sample's logits on its real frames, alone and in a batch padded to 23, 26 and 31 frames, agree (1e-4). */
function expectPaddingIndependent(model: SequenceModel, lengths: number[]): void {
  randomize(model, 3);
  const xs = features(lengths, 4);
  for (const T of [23, 26, 31]) {
    const input = batch(model, xs, T);
    const batched = logits(model, input);
    disposeInput(input);
    xs.forEach((x, b) => {
      const one = batch(model, [x]);
      const alone = logits(model, one)[0];
      disposeInput(one);
      expect(alone.length).toBe(model.outFrames(lengths[b]));
      expect(maxAbsDiff(alone, batched[b].slice(0, alone.length))).toBeLessThan(1e-4);
    });
  }
}

/** A linear readout of the logits on real frames of a 3-sample batch (smooth, so central differences are accurate), and its gradients. */
function readout(model: SequenceModel) {
  randomize(model, 6);
  const input = batch(model, features([11, 6, 9], 7));
  const rng = new Rng(8);
  const maxOutFrames = input.mask.shape[1];
  const weights = tf.tensor3d(
    Float32Array.from({ length: 3 * maxOutFrames * V }, () => rng.normal()),
    [3, maxOutFrames, V],
  );
  const loss = () => tf.sum(tf.mul(tf.mul(model.apply(input, false), weights), input.mask)) as tf.Scalar;
  const { value, grads } = tf.variableGrads(loss, [...model.params.values()]);
  value.dispose();
  return { input, weights, loss, grads };
}

/** d loss / d v[i] by central differences (step 1e-2); v is restored. */
function centralDifference(v: tf.Variable, i: number, loss: () => tf.Scalar, eps = 1e-2): number {
  const w0 = v.dataSync().slice();
  const at = (delta: number) => {
    const w = w0.slice();
    w[i] += delta;
    tf.tidy(() => v.assign(tf.tensor(w, v.shape)));
    return tf.tidy(() => loss().dataSync()[0]);
  };
  const fd = (at(eps) - at(-eps)) / (2 * eps);
  tf.tidy(() => v.assign(tf.tensor(w0, v.shape)));
  return fd;
}

describe.each(PRESET_NAMES)('preset %s (cpu backend)', (preset) => {
  it('outFrames is the logits time dim and matches the subsampling', () => {
    const model = createModel(config(preset), 1);
    for (const T of [1, 2, 3, 4, 5, 7, 8, 13, 23]) {
      const input = batch(model, features([T], T));
      const y = model.apply(input, false);
      expect(y.shape).toEqual([1, model.outFrames(T), V]);
      expect(model.outFrames(T)).toBe(Math.ceil(T / model.subsampling));
      y.dispose();
      disposeInput(input);
    }
    expect(model.subsampling).toBe(preset === 'tcn' ? 2 : 4);
    expect(model.subsampling).toBe(PRESET_SUBSAMPLING[preset]);
    model.dispose();
  });

  it("a sample's logits on its real frames do not depend on its batch or padding", () => {
    const model = createModel(config(preset), 2);
    expectPaddingIndependent(model, [13, 7, 23, 1, 8, 2, 17]);
    model.dispose();
  });

  it('every parameter gets a finite nonzero gradient, and a few match central differences', () => {
    const model = createModel(config(preset), 5);
    const { input, weights, loss, grads } = readout(model);
    const byName = new Map([...model.params].map(([name, v]) => [name, grads[v.name]]));
    for (const [name, g] of byName) {
      const a = g.dataSync();
      expect(a.every(Number.isFinite), `${name} finite`).toBe(true);
      expect(
        a.some((x) => x !== 0),
        `${name} nonzero`,
      ).toBe(true);
    }
    const checks =
      preset === 'tcn'
        ? ['model.subsample.weight', 'model.blocks.1.weight', 'model.head.weight']
        : preset === 'tconv-bilstm'
          ? ['model.conv.0.weight', 'model.lstm.0.w_hh', 'model.lstm.1.w_ih', 'model.lstm.1.bias']
          : ['model.subsample.0.weight', 'model.layers.0.attn.qkv.weight', 'model.layers.1.ff.1.weight', 'model.layers.0.ln1.gamma'];
    for (const name of checks) {
      const v = model.params.get(name)!;
      const g = byName.get(name)!.dataSync();
      // The two largest-gradient entries of this parameter.
      const idx = [...g.keys()].sort((i, j) => Math.abs(g[j]) - Math.abs(g[i])).slice(0, 2);
      for (const i of idx) {
        const fd = centralDifference(v, i, loss);
        expect(Math.abs(fd - g[i]), `${name}[${i}]: fd ${fd} vs grad ${g[i]}`).toBeLessThan(2e-2 * Math.abs(g[i]) + 1e-3);
      }
    }
    tf.dispose(Object.values(grads));
    tf.dispose(weights);
    disposeInput(input);
    model.dispose();
  });

  it('loadTensors: another seed loads the tensors and gives identical logits; a missing or misshapen tensor throws and changes nothing', () => {
    const a = createModel(config(preset), 10);
    const b = createModel(config(preset), 11);
    const input = batch(a, features([9, 5], 12));
    const want = logits(a, input);
    const tensors = stored(a);
    expect(maxAbsDiff(logits(b, input)[0], want[0])).toBeGreaterThan(0);

    const before = stored(b);
    const missing = { ...tensors };
    delete missing['model.head.bias'];
    expect(() => b.loadTensors(missing, 'x.safetensors')).toThrow('x.safetensors: tensor model.head.bias is missing');
    const misshapen = { ...tensors, 'model.head.weight': { shape: [1, 2], data: [0, 0] } };
    expect(() => b.loadTensors(misshapen)).toThrow(/tensor model\.head\.weight has shape \[1,2\]/);
    expect(stored(b)).toEqual(before);

    b.loadTensors(tensors);
    expect(logits(b, input)).toEqual(want);
    disposeInput(input);
    a.dispose();
    b.dispose();
  });

  it('paramCount equals the closed-form count', () => {
    const model = createModel(config(preset), 1);
    expect(model.paramCount()).toBe(expectedParams(preset));
    model.dispose();
  });

  it('apply leaks no tensors', () => {
    const model = createModel(config(preset, 0.2), 1);
    const input = batch(model, features([9, 4, 7], 13));
    model.apply(input, true, 1).dispose(); // first call: no lazily created state counted below
    const n = tf.memory().numTensors;
    for (const training of [false, true]) model.apply(input, training, 2).dispose();
    expect(tf.memory().numTensors).toBe(n);
    tf.tidy(() => {
      model.apply(input, true, 3);
    });
    expect(tf.memory().numTensors).toBe(n);
    const { value, grads } = tf.variableGrads(() => tf.sum(model.apply(input, true, 4)) as tf.Scalar, [...model.params.values()]);
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(n);
    disposeInput(input);
    model.dispose();
  });

  it('dropout changes training outputs only when dropout > 0', () => {
    for (const dropout of [0, 0.3]) {
      const model = createModel(config(preset, dropout), 14);
      const input = batch(model, features([10, 6], 15));
      const train = logits(model, input, true, 7);
      const evalOut = logits(model, input, false);
      if (dropout === 0) expect(train).toEqual(evalOut);
      else expect(maxAbsDiff(train[0], evalOut[0])).toBeGreaterThan(1e-4);
      disposeInput(input);
      model.dispose();
    }
  });
});

describe('tconv-bilstm', () => {
  it('the backward LSTM carries the last real frame to the first output frame (beyond the conv receptive field)', () => {
    const model = createModel(config('tconv-bilstm'), 20);
    randomize(model, 21);
    const [x] = features([40], 22);
    const edited = x.slice();
    for (let j = 0; j < F; j++) edited[39 * F + j] += 3;
    // Padded inside a longer batch too: the backward pass must start at this sample's own end.
    const input = batch(model, [x, edited, features([48], 23)[0]]);
    const [a, b] = logits(model, input);
    disposeInput(input);
    expect(model.outFrames(40)).toBe(10);
    expect(maxAbsDiff([a[0]], [b[0]])).toBeGreaterThan(1e-5);
    // The forward direction: the first frame reaches the last output frame.
    const first = x.slice();
    for (let j = 0; j < F; j++) first[j] += 3;
    const input2 = batch(model, [x, first]);
    const [c, d] = logits(model, input2);
    disposeInput(input2);
    expect(maxAbsDiff([c[9]], [d[9]])).toBeGreaterThan(1e-5);
    model.dispose();
  });

  it("gradients flow through a batch whose longest sample has one output frame (T' = 1)", () => {
    const model = createModel(config('tconv-bilstm'), 24);
    randomize(model, 25);
    const input = batch(model, features([4, 3], 26));
    expect(input.mask.shape[1]).toBe(1);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(model.apply(input, true), input.mask)) as tf.Scalar, [...model.params.values()]);
    // One step: h before it is zero, so w_hh alone has a zero gradient.
    for (const [name, v] of model.params) {
      const g = grads[v.name].dataSync();
      expect(g.every(Number.isFinite), name).toBe(true);
      expect(
        g.some((x) => x !== 0),
        name,
      ).toBe(!name.endsWith('w_hh'));
    }
    tf.dispose([value, ...Object.values(grads)]);
    disposeInput(input);
    model.dispose();
  });

  it('the conv front end alone does not reach that far (so the check above is the LSTM)', () => {
    // Receptive field of output frame 0: conv k5 (±2) → pool 2 → conv k5 (±2 at ½ rate) → pool 2
    // covers input frames 0..13 at most; frame 39 is far outside.
    // No LSTM layer (2H = C so the head takes the conv output directly).
    const model = createModel({ preset: 'tconv-bilstm', featureDim: F, numClasses: V, channels: 8, layers: 0, hidden: 4, dropout: 0 }, 20);
    randomize(model, 21);
    const [x] = features([40], 22);
    const edited = x.slice();
    for (let j = 0; j < F; j++) edited[39 * F + j] += 3;
    const input = batch(model, [x, edited]);
    const [a, b] = logits(model, input);
    disposeInput(input);
    expect(maxAbsDiff([a[0]], [b[0]])).toBe(0);
    model.dispose();
  });
});

describe('registry', () => {
  it('builds every preset from its defaults and checks checkpoint configs', () => {
    for (const preset of PRESET_NAMES) {
      const cfg = modelConfig({ preset, ...PRESET_DEFAULTS[preset], dropout: 0.1 }, F, V);
      expect(parseModelConfig(JSON.parse(JSON.stringify(cfg)), 'c.json')).toEqual(cfg);
      const model = createModel(cfg, 1);
      expect(model.config.preset).toBe(preset);
      expect(model.forwardFlops(100)).toBeGreaterThan(0);
      model.dispose();
    }
    expect(() => parseModelConfig({ preset: 'rnn' }, 'c.json')).toThrow(/preset 'rnn' is unknown/);
    const { hidden: _, ...noHidden } = modelConfig({ preset: 'tconv-bilstm', ...PRESET_DEFAULTS['tconv-bilstm'], dropout: 0 }, F, V) as Extract<
      ModelConfig,
      { preset: 'tconv-bilstm' }
    >;
    expect(() => parseModelConfig(noHidden, 'c.json')).toThrow('c.json: model config has no field hidden');
    expect(() => createModel({ preset: 'transformer', featureDim: F, numClasses: V, channels: 10, layers: 1, heads: 4, dropout: 0 }, 1)).toThrow(/divisible/);
  });

  it('forwardFlops equals 2 × the multiply-adds of the matmul and conv kernels the forward pass runs', async () => {
    // Measured, not restated: the kernels TF.js runs for one full-length sample, from their shapes.
    for (const preset of PRESET_NAMES) {
      const model = createModel(config(preset), 1);
      for (const T of [40, 23]) expect(model.forwardFlops(T), `${preset} T=${T}`).toBe(await measuredFlops(model, T));
      model.dispose();
    }
  });
});

/** 2 × multiply-adds of every BatchMatMul and Conv2D kernel in one forward pass of one sample of T frames. */
async function measuredFlops(model: SequenceModel, T: number): Promise<number> {
  const input = batch(model, features([T], 3));
  const info = await tf.profile(() => model.apply(input, false));
  disposeInput(input);
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  let macs = 0;
  for (const k of info.kernels) {
    const out = k.outputShapes[0] as number[];
    if (k.name === 'BatchMatMul' || k.name === '_FusedMatMul') {
      const a = k.inputShapes[0] as number[];
      const m = out[out.length - 2];
      macs += (size(out) * (a[a.length - 1] * a[a.length - 2])) / m; // × the contracted dim
    } else if (k.name === 'Conv2D') {
      const filter = k.inputShapes[1] as number[]; // [kh, kw, inC, outC]
      macs += size(out) * (size(filter) / filter[3]);
    } else expect(k.name, 'a kernel with multiply-adds the count does not know').not.toMatch(/MatMul|Conv|Einsum/);
  }
  return 2 * macs;
}

describe('tcn with time subsampling ×4', () => {
  const cfg4 = (dropout = 0) => modelConfig({ preset: 'tcn', ...TINY.tcn, dropout, subsampling: 4 }, F, V);

  it("T' = ceil(T/4) for every length, and the knobs, registry and model agree on the factor", () => {
    const model = createModel(cfg4(), 1);
    expect(model.subsampling).toBe(4);
    expect(subsamplingOf({ preset: 'tcn', subsampling: 4 })).toBe(4);
    expect(subsamplingOf({ preset: 'tcn' })).toBe(2);
    for (const T of [1, 2, 3, 4, 5, 7, 8, 9, 13, 23]) {
      const input = batch(model, features([T], T));
      const y = model.apply(input, false);
      expect(y.shape).toEqual([1, Math.ceil(T / 4), V]);
      expect(model.outFrames(T)).toBe(Math.ceil(T / 4));
      y.dispose();
      disposeInput(input);
    }
    model.dispose();
  });

  it("adds only model.subsample2.{weight,bias}: every other name and shape is the ×2 model's", async () => {
    const m2 = createModel(config('tcn'), 1),
      m4 = createModel(cfg4(), 1);
    const shapes = (m: SequenceModel) => new Map([...m.params].map(([k, v]) => [k, v.shape]));
    const s2 = shapes(m2),
      s4 = shapes(m4);
    expect([...s4.keys()].filter((k) => !s2.has(k))).toEqual(['model.subsample2.weight', 'model.subsample2.bias']);
    for (const [k, s] of s2) expect(s4.get(k)).toEqual(s);
    expect(m4.paramCount()).toBe(expectedParams('tcn') + 3 * 8 * 8 + 8);
    const T = 40;
    expect(m4.forwardFlops(T)).toBe(await measuredFlops(m4, T));
    // A ×4 model cannot take a ×2 checkpoint (its second conv is missing), and says which tensor.
    expect(() => m4.loadTensors(stored(m2), 'old.safetensors')).toThrow('old.safetensors: tensor model.subsample2.weight is missing');
    m2.dispose();
    m4.dispose();
  });

  it('a config written before the choice existed (no subsampling field) parses and builds the ×2 model; other values are refused', () => {
    const { subsampling: _, ...old } = modelConfig({ preset: 'tcn', ...TINY.tcn, dropout: 0 }, F, V) as Extract<ModelConfig, { preset: 'tcn' }>;
    const parsed = parseModelConfig(JSON.parse(JSON.stringify(old)), 'old.safetensors');
    const model = createModel(parsed, 1);
    expect(model.subsampling).toBe(2);
    model.dispose();
    expect(parseModelConfig(JSON.parse(JSON.stringify(cfg4())), 'c.json')).toEqual(cfg4());
    expect(() => parseModelConfig({ ...old, subsampling: 3 }, 'c.json')).toThrow('c.json: model config field subsampling is 3, expected 2 or 4 (tcn)');
  });

  it("a sample's logits on its real frames do not depend on its batch or padding", () => {
    const model = createModel(cfg4(), 2);
    expectPaddingIndependent(model, [13, 7, 23, 1, 8, 2, 17, 6]);
    model.dispose();
  });

  it('the second conv gets a gradient that matches central differences', () => {
    const model = createModel(cfg4(), 5);
    const { input, weights, loss, grads } = readout(model);
    for (const name of ['model.subsample.weight', 'model.subsample2.weight', 'model.subsample2.bias']) {
      const v = model.params.get(name)!;
      const g = grads[v.name].dataSync();
      expect(
        g.some((x) => x !== 0),
        `${name} nonzero`,
      ).toBe(true);
      const i = [...g.keys()].sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]))[0];
      const fd = centralDifference(v, i, loss);
      expect(Math.abs(fd - g[i]), `${name}[${i}]: fd ${fd} vs grad ${g[i]}`).toBeLessThan(2e-2 * Math.abs(g[i]) + 1e-3);
    }
    tf.dispose([weights, ...Object.values(grads)]);
    disposeInput(input);
    model.dispose();
  });
});
