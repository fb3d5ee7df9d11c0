// A sweep: a base training config, the trials to try against it (named variations, or points
// sampled from ranges), the successive-halving rungs that decide which go on, the metric and a
// seed. JSON-serialisable as it is: the lab's "Download sweep" writes it, `python -m ctc_lab sweep
// SPEC.json DATA -o DIR` reads it (python/ctc_lab/sweep.py validates it with the same rules and
// messages; fixtures/sweep_specs.json, written by sweep_spec.test.ts, holds both good and bad specs).
// A bad spec is refused before anything trains, naming the field ("variations[1].changes[0].setting").

import { Rng } from '../../lib/rng';
import { PRESET_NAMES } from '../model/presets';
import { TRAIN_DEFAULTS, type TrainConfig } from '../train/config';
import type { HalvingConfig } from './halving';

export const SWEEP_FORMAT = 'ctc-lab-sweep/1';

/** What a sweep may change, and what each setting accepts. */
type Rule =
  | { kind: 'float'; min: number; max: number; minOpen?: boolean; maxOpen?: boolean }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'choice'; choices: readonly (string | number)[] };

export const SWEEP_SETTINGS = {
  lr: { kind: 'float', min: 0, max: 10, minOpen: true }, // the peak learning rate
  dropout: { kind: 'float', min: 0, max: 1, maxOpen: true },
  weightDecay: { kind: 'float', min: 0, max: 1 }, // AdamW / SGD
  patience: { kind: 'int', min: 0, max: 10000 }, // early stopping, epochs (0 = off)
  minDelta: { kind: 'float', min: 0, max: 1 },
  warmupEpochs: { kind: 'float', min: 0, max: 10000 },
  clipNorm: { kind: 'float', min: 0, max: 1e6 },
  batchSize: { kind: 'int', min: 1, max: 4096 },
  channels: { kind: 'int', min: 1, max: 4096 },
  layers: { kind: 'int', min: 1, max: 64 },
  preset: { kind: 'choice', choices: PRESET_NAMES },
  subsampling: { kind: 'choice', choices: [2, 4] }, // tcn only
  optimizer: { kind: 'choice', choices: ['adam', 'adamw', 'sgd'] },
} as const satisfies Record<string, Rule>;

export type SweepSetting = keyof typeof SWEEP_SETTINGS;

/** One named change from the base: a setting set to a value, or (numbers) scaled by a factor ("lr ×⅓"). */
export type Change = { setting: SweepSetting; value: number | string } | { setting: SweepSetting; scale: number };

export interface Variation {
  name: string; // shown in the sweep's table: "lr ×3", "dropout 0.1 + ×4 subsampling"
  changes: Change[];
}

/** A setting sampled between min and max: log-uniform ("log") or uniform ("linear"); int settings are rounded. */
export interface Range {
  setting: SweepSetting;
  min: number;
  max: number;
  scale: 'log' | 'linear';
}

export interface SweepSpec {
  format: typeof SWEEP_FORMAT;
  base: Partial<TrainConfig>; // over TRAIN_DEFAULTS; epochs is the rungs' maxEpochs
  variations: Variation[]; // each a trial (the base is trial 0)
  ranges: Range[]; // sampled: `trials` points (each a trial after the variations)
  trials: number; // how many points to sample from the ranges (0 without ranges)
  rungs: HalvingConfig;
  metric: 'val_wer' | 'val_loss'; // lower is better
  seed: number; // sampling (and, in the twin, Optuna's sampler)
}

class SpecError extends Error {}
const refuse = (field: string, what: string): never => {
  throw new SpecError(`sweep spec: ${field}: ${what}`);
};

const isObj = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const show = (x: unknown) => JSON.stringify(x) ?? String(x);

function checkKeys(o: Record<string, unknown>, field: string, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) if (!allowed.includes(k)) refuse(`${field}.${k}`.replace(/^\./, ''), `unknown field (expected ${allowed.join(', ')})`);
}

function checkSetting(name: unknown, field: string): SweepSetting {
  if (typeof name !== 'string' || !Object.hasOwn(SWEEP_SETTINGS, name))
    return refuse(field, `${show(name)} is not a sweep setting (${Object.keys(SWEEP_SETTINGS).join(', ')})`);
  return name as SweepSetting;
}

/** A value a setting accepts; the message names the field. */
function checkValue(setting: SweepSetting, v: unknown, field: string): number | string {
  const r: Rule = SWEEP_SETTINGS[setting];
  if (r.kind === 'choice') {
    if (!r.choices.includes(v as string | number)) refuse(field, `${setting} ${show(v)} is not one of ${r.choices.join(', ')}`);
    return v as number | string;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) return refuse(field, `${setting} must be a number, got ${show(v)}`);
  if (r.kind === 'int' && !Number.isInteger(v)) refuse(field, `${setting} must be an integer, got ${v}`);
  const lowOk = r.kind === 'float' && r.minOpen ? v > r.min : v >= r.min;
  const highOk = r.kind === 'float' && r.maxOpen ? v < r.max : v <= r.max;
  if (!lowOk || !highOk)
    refuse(field, `${setting} ${v} is outside ${r.kind === 'float' && r.minOpen ? '(' : '['}${r.min}, ${r.max}${r.kind === 'float' && r.maxOpen ? ')' : ']'}`);
  return v;
}

function positiveInt(v: unknown, field: string, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) refuse(field, `must be an integer ≥ ${min}, got ${show(v)}`);
  return v as number;
}

/** Validates a parsed JSON sweep spec; throws naming the first bad field. Missing optional fields take their defaults. */
export function parseSweepSpec(x: unknown): SweepSpec {
  if (!isObj(x)) return refuse('(top level)', `expected an object, got ${show(x)}`);
  checkKeys(x, '', ['format', 'base', 'variations', 'ranges', 'trials', 'rungs', 'metric', 'seed']);
  if (x.format !== SWEEP_FORMAT) refuse('format', `expected "${SWEEP_FORMAT}", got ${show(x.format)}`);
  const base = x.base ?? {};
  if (!isObj(base)) return refuse('base', `expected an object of training settings, got ${show(base)}`);
  for (const [k, v] of Object.entries(base)) {
    if (!Object.hasOwn(TRAIN_DEFAULTS, k)) refuse(`base.${k}`, 'not a training setting');
    if (Object.hasOwn(SWEEP_SETTINGS, k)) checkValue(k as SweepSetting, v, `base.${k}`);
    else if (typeof v !== typeof TRAIN_DEFAULTS[k as keyof TrainConfig])
      refuse(`base.${k}`, `expected a ${typeof TRAIN_DEFAULTS[k as keyof TrainConfig]}, got ${show(v)}`);
  }
  const variations = x.variations ?? [];
  if (!Array.isArray(variations)) return refuse('variations', 'expected a list');
  const names = new Set<string>();
  const vs: Variation[] = variations.map((v: unknown, i) => {
    const f = `variations[${i}]`;
    if (!isObj(v)) return refuse(f, `expected {name, changes}, got ${show(v)}`);
    checkKeys(v, f, ['name', 'changes']);
    if (typeof v.name !== 'string' || !v.name.trim()) refuse(`${f}.name`, 'expected a non-empty name');
    if (names.has(v.name as string) || v.name === 'base') refuse(`${f}.name`, `${show(v.name)} is used twice (the base is "base")`);
    names.add(v.name as string);
    if (!Array.isArray(v.changes) || v.changes.length === 0) return refuse(`${f}.changes`, 'expected a non-empty list of changes');
    const changes = v.changes.map((c: unknown, j): Change => {
      const cf = `${f}.changes[${j}]`;
      if (!isObj(c)) return refuse(cf, `expected {setting, value} or {setting, scale}, got ${show(c)}`);
      checkKeys(c, cf, ['setting', 'value', 'scale']);
      const setting = checkSetting(c.setting, `${cf}.setting`);
      if ('value' in c === 'scale' in c) refuse(cf, 'give either value or scale');
      if ('scale' in c) {
        if (SWEEP_SETTINGS[setting].kind === 'choice') refuse(`${cf}.scale`, `${setting} takes a value, not a scale`);
        if (typeof c.scale !== 'number' || !(c.scale > 0) || !Number.isFinite(c.scale)) refuse(`${cf}.scale`, `must be a number > 0, got ${show(c.scale)}`);
        return { setting, scale: c.scale as number };
      }
      return { setting, value: checkValue(setting, c.value, `${cf}.value`) };
    });
    return { name: v.name as string, changes };
  });
  const ranges = x.ranges ?? [];
  if (!Array.isArray(ranges)) return refuse('ranges', 'expected a list');
  const rs: Range[] = ranges.map((r: unknown, i) => {
    const f = `ranges[${i}]`;
    if (!isObj(r)) return refuse(f, `expected {setting, min, max, scale}, got ${show(r)}`);
    checkKeys(r, f, ['setting', 'min', 'max', 'scale']);
    const setting = checkSetting(r.setting, `${f}.setting`);
    if (SWEEP_SETTINGS[setting].kind === 'choice') refuse(`${f}.setting`, `${setting} is a choice: give it as variations`);
    const min = checkValue(setting, r.min, `${f}.min`) as number;
    const max = checkValue(setting, r.max, `${f}.max`) as number;
    if (min > max) refuse(`${f}.min`, `min ${min} > max ${max}`);
    const scale = r.scale ?? 'linear';
    if (scale !== 'log' && scale !== 'linear') refuse(`${f}.scale`, `expected "log" or "linear", got ${show(scale)}`);
    if (scale === 'log' && min <= 0) refuse(`${f}.min`, `a log range needs min > 0, got ${min}`);
    return { setting, min, max, scale: scale as Range['scale'] };
  });
  const dup = rs.find((r, i) => rs.findIndex((q) => q.setting === r.setting) !== i);
  if (dup) refuse(`ranges[${rs.lastIndexOf(dup)}].setting`, `${dup.setting} has two ranges`);
  const trials = x.trials ?? (rs.length ? 8 : 0);
  positiveInt(trials, 'trials', rs.length ? 1 : 0);
  if (!rs.length && trials !== 0) refuse('trials', `${show(trials)} sampled trials need ranges to sample from`);
  const rungsIn = x.rungs ?? {};
  if (!isObj(rungsIn)) return refuse('rungs', `expected {minEpochs, eta, maxEpochs}, got ${show(rungsIn)}`);
  checkKeys(rungsIn, 'rungs', ['minEpochs', 'eta', 'maxEpochs']);
  const rungs: HalvingConfig = {
    minEpochs: positiveInt(rungsIn.minEpochs ?? 1, 'rungs.minEpochs', 1),
    eta: positiveInt(rungsIn.eta ?? 3, 'rungs.eta', 2),
    maxEpochs: positiveInt(rungsIn.maxEpochs ?? 27, 'rungs.maxEpochs', 1),
  };
  if (rungs.minEpochs > rungs.maxEpochs) refuse('rungs.minEpochs', `minEpochs ${rungs.minEpochs} > maxEpochs ${rungs.maxEpochs}`);
  const metric = x.metric ?? 'val_wer';
  if (metric !== 'val_wer' && metric !== 'val_loss') refuse('metric', `expected "val_wer" or "val_loss", got ${show(metric)}`);
  const seed = positiveInt(x.seed ?? 1, 'seed', 0);
  if (!vs.length && !rs.length) refuse('variations', 'a sweep needs variations or ranges');
  return {
    format: SWEEP_FORMAT,
    base: { ...base } as Partial<TrainConfig>,
    variations: vs,
    ranges: rs,
    trials: trials as number,
    rungs,
    metric: metric as SweepSpec['metric'],
    seed,
  };
}

/** A trial of a sweep: its name, its changes from the base (settings as they become), and its full config. */
export interface SweepTrial {
  name: string;
  changes: Partial<Record<SweepSetting, number | string>>;
  config: TrainConfig;
}

/** The base config of a sweep: TRAIN_DEFAULTS, the spec's base, epochs = the rungs' maxEpochs. */
export function sweepBase(spec: SweepSpec): TrainConfig {
  return { ...TRAIN_DEFAULTS, ...spec.base, epochs: spec.rungs.maxEpochs };
}

/** Applies a variation's changes to a config; a change the resulting config cannot take is refused naming it. */
export function applyChanges(base: TrainConfig, changes: Change[], field = 'changes'): { config: TrainConfig; changes: SweepTrial['changes'] } {
  const config = { ...base };
  const done: SweepTrial['changes'] = {};
  changes.forEach((c, j) => {
    const v = 'scale' in c ? (config[c.setting] as number) * c.scale : c.value;
    const value = SWEEP_SETTINGS[c.setting].kind === 'int' && 'scale' in c ? Math.round(v as number) : v;
    checkValue(c.setting, value, `${field}[${j}]`);
    (config as Record<string, unknown>)[c.setting] = value;
    done[c.setting] = value;
  });
  return { config, changes: done };
}

/** The trials in order: the base, each variation, then `trials` points drawn from the ranges (seeded). */
export function sweepTrials(spec: SweepSpec): SweepTrial[] {
  const base = sweepBase(spec);
  const out: SweepTrial[] = [{ name: 'base', changes: {}, config: base }];
  spec.variations.forEach((v, i) => out.push({ name: v.name, ...applyChanges(base, v.changes, `variations[${i}].changes`) }));
  const rng = new Rng(spec.seed);
  for (let t = 0; t < spec.trials; t++) {
    const changes: Change[] = spec.ranges.map((r) => {
      const u = rng.next();
      let v = r.scale === 'log' ? Math.exp(Math.log(r.min) + u * (Math.log(r.max) - Math.log(r.min))) : r.min + u * (r.max - r.min);
      if (SWEEP_SETTINGS[r.setting].kind === 'int') v = Math.min(r.max, Math.max(r.min, Math.round(v)));
      return { setting: r.setting, value: v };
    });
    const applied = applyChanges(base, changes, `ranges`);
    const name = Object.entries(applied.changes)
      .map(([k, v]) => `${k} ${typeof v === 'number' ? Number(v.toPrecision(3)) : v}`)
      .join(', ');
    out.push({ name: `sample ${t + 1}: ${name}`, ...applied });
  }
  return out;
}

/** The spec as JSON text (what "Download sweep" writes). */
export function sweepSpecJson(spec: SweepSpec): string {
  return `${JSON.stringify(parseSweepSpec(spec), null, 2)}\n`;
}
