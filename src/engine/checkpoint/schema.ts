// The one schema for everything a checkpoint's `__metadata__.ctc_lab` holds (docs/ARCHITECTURE.md
// "Checkpoint format"), and for the run records stored next to checkpoints, which share its
// training config and history rows. Untrusted input (an uploaded file, a record written by an
// older version) goes through parseCheckpointMeta / parseRunRecord; every refusal names the file,
// the field and what was expected. Ranges are what this lab can build and train, not what a GPU
// can hold: a file that passes still has its tensors checked against the model its config builds
// (checkpoint.ts). The model config's schema is also the one validator of registry.ts's
// parseModelConfig.

import * as v from 'valibot';
import { PRESET_DEFAULTS, subsamplingOf } from '../model/presets';
import { TRAIN_DEFAULTS, type TrainConfig } from '../train/config';
import { AUGMENT_OFF, MAX_MASKS, MAX_STRETCH } from '../augment/settings';
import { MAX_AVERAGE_BEST } from '../train/averaging_settings';
import type { RunRecord } from '../../data/types';
import { preview } from '../../lib/preview';

export const CHECKPOINT_FORMAT = 'ctc-lab/1';

// ---- building blocks: each carries the sentence a refusal prints after the field's name

const int = (min: number, max: number) => {
  const m = `expected an integer from ${min} to ${max}`;
  return v.pipe(v.number(m), v.integer(m), v.minValue(min, m), v.maxValue(max, m));
};
const num = (min: number, max: number, what = `a number from ${min} to ${max}`) => {
  const m = `expected ${what}`;
  return v.pipe(v.number(m), v.finite(m), v.minValue(min, m), v.maxValue(max, m));
};
const below = (min: number, max: number) => {
  const m = `expected a number from ${min} to below ${max}`;
  return v.pipe(v.number(m), v.finite(m), v.minValue(min, m), v.ltValue(max, m));
};
const finite = v.pipe(v.number('expected a finite number'), v.finite('expected a finite number'));
const str = (max: number, what = 'a string') => v.pipe(v.string(`expected ${what}`), v.maxLength(max, `expected ${what} of at most ${max} characters`));
const bool = v.boolean('expected true or false');
const pick = <const T extends readonly string[]>(xs: T) => v.picklist(xs, `expected one of ${xs.join(', ')}`);
const obj = <E extends v.ObjectEntries>(entries: E, what: string) => v.object(entries, `expected ${what}`);
const list = <S extends v.GenericSchema>(item: S, max: number, what: string) =>
  v.pipe(v.array(item, `expected a list of ${what}`), v.maxLength(max, `expected at most ${max} ${what}`));

const LIMITS = { featureDim: 65536, classes: 100_001, channels: 4096, hidden: 4096, heads: 64, layers: 64 };

// ---- model config (one variant per preset; fields as registry.ts's modelConfig builds them)

const modelBase = {
  featureDim: int(1, LIMITS.featureDim),
  numClasses: int(2, LIMITS.classes),
  channels: int(1, LIMITS.channels),
  dropout: below(0, 1),
};
const oddKernel = v.pipe(
  int(1, 31),
  v.check((k: number) => k % 2 === 1, 'expected an odd kernel size from 1 to 31'),
);

export const modelConfigSchema = v.variant(
  'preset',
  [
    obj(
      {
        preset: v.literal('tcn'),
        ...modelBase,
        layers: int(0, LIMITS.layers),
        kernel: oddKernel,
        subsampling: v.optional(v.picklist([2, 4] as const, 'expected 2 or 4')),
      },
      'a tcn model config',
    ),
    obj({ preset: v.literal('tconv-bilstm'), ...modelBase, layers: int(1, 16), hidden: int(1, LIMITS.hidden) }, 'a tconv-bilstm model config'),
    v.pipe(
      obj({ preset: v.literal('transformer'), ...modelBase, layers: int(0, LIMITS.layers), heads: int(1, LIMITS.heads) }, 'a transformer model config'),
      v.forward(
        v.check((c) => c.channels % 2 === 0 && c.channels % c.heads === 0, 'expected an even d_model divisible by the number of heads'),
        ['channels'],
      ),
    ),
  ],
  'expected a model config with preset tcn, tconv-bilstm or transformer',
);

// ---- training config: full training (TrainConfig) or the overfit test's. A field an older
// version did not write takes today's default; every field present is type- and range-checked.

const knobs = {
  preset: pick(['tcn', 'tconv-bilstm', 'transformer'] as const),
  channels: int(1, LIMITS.channels),
  layers: int(0, LIMITS.layers),
  hidden: int(1, LIMITS.hidden),
  heads: int(1, LIMITS.heads),
  dropout: below(0, 1),
};
// Augmentation (augment/settings.ts): a field an older version did not write is that op off; augmentProblems says the same in the trainer.
const above0 = (max: number, what: string) =>
  v.pipe(v.number(`expected ${what}`), v.finite(`expected ${what}`), v.gtValue(0, `expected ${what}`), v.maxValue(max, `expected ${what}`));
const fraction = (what: string) =>
  v.pipe(v.number(`expected ${what}`), v.finite(`expected ${what}`), v.gtValue(0, `expected ${what}`), v.ltValue(1, `expected ${what}`));
const ao = AUGMENT_OFF;
const augmentSchema = v.pipe(
  obj(
    {
      stretchMin: v.optional(above0(MAX_STRETCH, `a factor above 0 and at most ${MAX_STRETCH}`), ao.stretchMin),
      stretchMax: v.optional(above0(MAX_STRETCH, `a factor above 0 and at most ${MAX_STRETCH}`), ao.stretchMax),
      timeMasks: v.optional(int(0, MAX_MASKS), ao.timeMasks),
      timeMaskWidth: v.optional(fraction('a fraction of the frames above 0 and below 1'), ao.timeMaskWidth),
      featureMasks: v.optional(int(0, MAX_MASKS), ao.featureMasks),
      featureMaskWidth: v.optional(fraction('a fraction of the feature dim above 0 and below 1'), ao.featureMaskWidth),
      featureWarp: v.optional(below(0, 1), ao.featureWarp),
      noise: v.optional(num(0, 10, 'a σ from 0 to 10'), ao.noise),
      frameDrop: v.optional(below(0, 1), ao.frameDrop),
    },
    'an augmentation settings object',
  ),
  v.forward(
    v.check((a) => a.stretchMin <= a.stretchMax, 'expected at most stretchMax'),
    ['stretchMin'],
  ),
);
const d = TRAIN_DEFAULTS;
const trainEntries = {
  preset: v.optional(knobs.preset, d.preset),
  subsampling: v.optional(v.picklist([2, 4] as const, 'expected 2 or 4')),
  channels: v.optional(knobs.channels, d.channels),
  layers: v.optional(knobs.layers, d.layers),
  hidden: v.optional(knobs.hidden, d.hidden),
  heads: v.optional(knobs.heads, d.heads),
  dropout: v.optional(knobs.dropout, d.dropout),
  batchSize: v.optional(int(1, 4096), d.batchSize),
  accumulationSteps: v.optional(int(1, 1024), d.accumulationSteps),
  epochs: v.optional(int(1, 1_000_000), d.epochs),
  lr: v.optional(num(0, 10), d.lr),
  warmupEpochs: v.optional(num(0, 1_000_000), d.warmupEpochs),
  decay: v.optional(pick(['cosine', 'step', 'none'] as const), d.decay),
  optimizer: v.optional(pick(['adam', 'adamw', 'sgd'] as const), d.optimizer),
  weightDecay: v.optional(num(0, 10), d.weightDecay),
  momentum: v.optional(below(0, 1), d.momentum),
  clipNorm: v.optional(num(0, 1e9), d.clipNorm),
  patience: v.optional(int(0, 1_000_000), d.patience),
  minDelta: v.optional(num(0, 1e9), d.minDelta),
  monitor: v.optional(pick(['val_wer', 'val_loss'] as const), d.monitor),
  restoreBest: v.optional(bool, d.restoreBest),
  evalEvery: v.optional(int(1, 1_000_000), d.evalEvery),
  seed: v.optional(int(0, 2 ** 31 - 1), d.seed),
  maxTrainSamples: v.optional(int(0, 1e9), d.maxTrainSamples),
  checkpointMinutes: v.optional(num(0, 24 * 60), d.checkpointMinutes),
  augment: v.optional(augmentSchema, () => ({ ...AUGMENT_OFF })), // augment/: old checkpoints train without
  emaDecay: v.optional(num(0, 1 - 1e-12, '0 (off) or a decay in (0, 1)'), d.emaDecay), // train/ema.ts
  averageBest: v.optional(int(0, MAX_AVERAGE_BEST), d.averageBest), // train/average.ts; 0 = off
  targetWer: v.optional(num(0, 100, '0 (none) or a val WER in percent, above 0 and at most 100'), d.targetWer), // the forecast's target; 0 = none
};
export const trainConfigSchema = obj(trainEntries, 'a training config');
// Compile-time: the schema's output is exactly a TrainConfig (a field added to TrainConfig and not here fails to build).
const _trainConfigIsComplete = (x: v.InferOutput<typeof trainConfigSchema>): TrainConfig => x;
const _trainConfigHasNoExtra = (x: TrainConfig): v.InferOutput<typeof trainConfigSchema> => x;
void [_trainConfigIsComplete, _trainConfigHasNoExtra];

const overfitConfigSchema = obj(
  {
    mode: v.literal('overfit'),
    numSamples: int(1, 100_000),
    maxEpochs: int(1, 10_000_000),
    lr: num(0, 10),
    seed: int(0, 2 ** 31 - 1),
    preset: v.optional(knobs.preset, 'tcn'),
    subsampling: v.optional(v.picklist([2, 4] as const, 'expected 2 or 4')),
    channels: knobs.channels,
    layers: knobs.layers,
    hidden: v.optional(knobs.hidden, PRESET_DEFAULTS.tcn.hidden),
    heads: v.optional(knobs.heads, PRESET_DEFAULTS.tcn.heads),
    optimizer: v.optional(v.literal('adam'), 'adam'),
    beta1: v.optional(below(0, 1), 0.9),
    beta2: v.optional(below(0, 1), 0.999),
    eps: v.optional(num(0, 1), 1e-8),
    weightDecay: v.optional(num(0, 10), 0),
  },
  'an overfit test config',
);

const trainingConfigSchema = v.variant(
  'mode',
  [obj({ mode: v.literal('train'), ...trainEntries }, 'a training config'), overfitConfigSchema],
  "expected a training config with mode 'train' or 'overfit'",
);

// ---- training state: where the run is. `position` is set only by a checkpoint written mid-epoch.

// bestEpoch is optional: checkpoints written before f311a8c held {counter, best} here and the full
// state in `earlyStoppingFull`, which the state's transform below prefers.
const earlyStoppingSchema = obj(
  { best: v.nullable(finite), bestEpoch: v.optional(int(0, 1e9), 0), counter: int(0, 1e9) },
  'an early-stopping state {best, bestEpoch, counter}',
);

/** Where a checkpoint written mid-epoch stopped: enough to continue the epoch exactly. */
export const positionSchema = obj(
  {
    epoch: int(1, 1e9), // the epoch in progress (state.epoch + 1)
    batch: int(0, 1e9), // micro-batches of this epoch already trained (a multiple of accumulationSteps)
    shuffleSeed: int(-(2 ** 53) + 1, 2 ** 53 - 1), // the epoch's shuffle seed as the trainer derived it; resume refuses if it would derive another
    lossSum: finite,
    lossCount: int(0, 1e9),
    normSum: finite,
    skipped: int(0, 1e9), // the epoch's partial sums
    kdSum: v.optional(finite), // distillation runs: the epoch's partial τ²·KL sum
    seconds: num(0, 1e9), // wall time of the epoch so far
  },
  'a mid-epoch position',
);

const stateSchema = v.pipe(
  obj(
    {
      epoch: int(0, 1e9), // completed epochs
      step: int(0, 1e12), // optimizer updates done
      seed: int(0, 2 ** 31 - 1),
      earlyStopping: v.optional(earlyStoppingSchema),
      earlyStoppingFull: v.optional(earlyStoppingSchema), // before f311a8c only
      position: v.optional(positionSchema),
    },
    'a training state {epoch, step, seed}',
  ),
  v.transform(({ earlyStoppingFull, ...st }) => (earlyStoppingFull ? { ...st, earlyStopping: earlyStoppingFull } : st)),
);

// ---- history: one row per epoch; values are numbers, or null where not measured (JSON has no NaN)

export const historyRowSchema = v.objectWithRest(
  { epoch: int(0, 1e9) },
  v.nullable(v.pipe(v.number('expected a number or null'), v.finite('expected a finite number or null'))),
  'expected a history row {epoch, metric: number | null, …}',
);
const historySchema = list(historyRowSchema, 10_000_000, 'history rows');

const token = v.pipe(
  str(200, 'a token'),
  v.check((t: string) => t.length > 0 && !/\s/.test(t), 'expected a non-empty token without whitespace'),
);

// ---- distillation: the teacher a student learned from, and the loss's settings; the record they
// check is DistillationRecord (data/types.ts)

const teacherSchema = obj(
  {
    kind: pick(['checkpoint', 'outputs'] as const),
    id: str(200),
    name: str(1000),
    model: v.optional(modelConfigSchema),
    subsampling: v.optional(int(1, 64)),
    params: v.optional(int(0, 1e12)),
    valWer: v.optional(v.nullable(finite)),
  },
  'a teacher {kind, id, name}',
);
const distillationEntries = {
  kdWeight: num(0, 1e6),
  ctcWeight: num(0, 1e6),
  temperature: num(1e-6, 1e6, 'a number above 0'),
  excludeBlank: bool,
  teacher: teacherSchema,
};
const distillationSchema = obj(distillationEntries, 'a distillation record {kdWeight, ctcWeight, temperature, excludeBlank, teacher}');

/** A student run's record of its distillation: the same, plus the summary written when the run ended. */
const wer = num(0, 1e6, 'a word error rate ≥ 0');
const ms = v.nullable(num(0, 1e9, 'milliseconds ≥ 0'));
const runDistillationSchema = obj(
  {
    ...distillationEntries,
    summary: v.optional(
      obj(
        {
          samples: int(0, 1e9),
          agreement: num(0, 1),
          student: obj(
            { preset: str(100), subsampling: int(1, 64), params: int(0, 1e12), valWer: wer, msPerSample: ms },
            'the student {preset, subsampling, params, valWer, msPerSample}',
          ),
          teacher: obj(
            { info: teacherSchema, params: v.nullable(int(0, 1e12)), valWer: wer, msPerSample: ms },
            'the teacher {info, params, valWer, msPerSample}',
          ),
        },
        'a distillation summary {samples, agreement, student, teacher}',
      ),
    ),
  },
  'a distillation record {kdWeight, ctcWeight, temperature, excludeBlank, teacher, summary?}',
);

const averagedSchema = obj(
  {
    epochs: v.pipe(list(int(1, 1e9), MAX_AVERAGE_BEST, 'epochs'), v.minLength(1, 'expected at least one epoch')),
    valWer: v.nullable(finite),
    valLoss: v.nullable(finite),
  },
  'an averaged-checkpoint record {epochs, valWer, valLoss}',
);

/** averageBest: a weight set the run keeps (record `${runId}-kept-${slot}`), by epoch and monitored metric. */
const keptSlotSchema = obj({ slot: int(0, MAX_AVERAGE_BEST - 1), epoch: int(1, 1e9), metric: finite }, 'a kept weight set {slot, epoch, metric}');

export const checkpointMetaSchema = obj(
  {
    format: v.literal(CHECKPOINT_FORMAT, `expected '${CHECKPOINT_FORMAT}'`),
    createdAt: str(100, 'an ISO 8601 date'),
    model: modelConfigSchema,
    subsampling: int(1, 64),
    vocab: v.pipe(list(token, LIMITS.classes - 1, 'tokens'), v.minLength(1, 'expected at least one token')),
    blank: v.literal(0, 'expected 0 (the blank is class 0)'),
    normalisation: obj(
      { mean: list(finite, LIMITS.featureDim, 'numbers'), std: list(v.pipe(finite, v.minValue(0, 'expected a number ≥ 0')), LIMITS.featureDim, 'numbers') },
      'an object {mean, std}',
    ),
    training: obj({ config: trainingConfigSchema, state: stateSchema }, 'an object {config, state}'),
    history: historySchema,
    dataset: obj({ id: str(200), name: str(1000) }, 'an object {id, name}'),
    distillation: v.optional(distillationSchema),
    averaged: v.optional(averagedSchema), // the run's averaged checkpoint (averageBest): the epochs it averages and its val scores
  },
  'an object',
);

export type CheckpointMeta = v.InferOutput<typeof checkpointMetaSchema>;
export type ModelConfigMeta = v.InferOutput<typeof modelConfigSchema>;
export type EpochPosition = v.InferOutput<typeof positionSchema>;

// ---- refusals

function fieldPath(issue: v.BaseIssue<unknown>): string {
  let out = '';
  for (const p of issue.path ?? []) {
    const k = p.key as string | number;
    out += typeof k === 'number' ? `[${k}]` : out ? `.${k}` : k;
  }
  return out;
}

/** The first issue as "<field>: expected …, got …". */
function describe(issue: v.BaseIssue<unknown>): string {
  const path = fieldPath(issue);
  if (issue.input === undefined && issue.kind === 'schema' && issue.type === 'object') return `${path || 'the value'} is missing`;
  if (issue.input === undefined && issue.kind === 'schema' && issue.type === 'variant') return `${path} is missing (${issue.message})`;
  return `${path || 'the value'}: ${issue.message}, got ${preview(issue.input)}`;
}

function parseWith<S extends v.GenericSchema>(schema: S, raw: unknown, prefix: string): v.InferOutput<S> {
  const r = v.safeParse(schema, raw, { abortEarly: true });
  if (!r.success) throw new Error(`${prefix}${describe(r.issues[0])}`);
  return r.output;
}

/**
 * Validates a checkpoint's `__metadata__.ctc_lab` (already JSON-parsed): the schema, then the facts
 * that tie fields together (class count and vocabulary, feature dim and normalisation, preset and
 * subsampling, history against the state).
 */
export function parseCheckpointMeta(raw: unknown, file: string): CheckpointMeta {
  const where = `${file}: __metadata__.ctc_lab`;
  const m = parseWith(checkpointMetaSchema, raw, `${where} → `);
  const fail = (field: string, msg: string): never => {
    throw new Error(`${where} → ${field}: ${msg}`);
  };
  if (m.model.numClasses !== m.vocab.length + 1)
    fail('model.numClasses', `expected ${m.vocab.length + 1} (the vocabulary's ${m.vocab.length} tokens + blank), got ${m.model.numClasses}`);
  const dup = m.vocab.findIndex((t, i) => m.vocab.indexOf(t) !== i);
  if (dup >= 0) fail(`vocab[${dup}]`, `expected unique tokens, got '${m.vocab[dup]}' a second time`);
  for (const k of ['mean', 'std'] as const) {
    if (m.normalisation[k].length !== m.model.featureDim)
      fail(`normalisation.${k}`, `expected ${m.model.featureDim} values (model.featureDim), got ${m.normalisation[k].length}`);
  }
  if (m.subsampling !== subsamplingOf(m.model)) fail('subsampling', `expected ${subsamplingOf(m.model)} for preset ${m.model.preset}, got ${m.subsampling}`);
  if (m.distillation && m.distillation.kdWeight === 0 && m.distillation.ctcWeight === 0)
    fail('distillation', 'expected kdWeight or ctcWeight above 0, got both 0');
  const st = m.training.state;
  let prev = 0;
  m.history.forEach((h, i) => {
    if (h.epoch <= prev && i > 0) fail(`history[${i}].epoch`, `expected epochs in increasing order, got ${h.epoch} after ${prev}`);
    if (h.epoch > st.epoch) fail(`history[${i}].epoch`, `expected at most training.state.epoch (${st.epoch}), got ${h.epoch}`);
    prev = h.epoch;
  });
  if (st.position && st.position.epoch !== st.epoch + 1)
    fail('training.state.position.epoch', `expected ${st.epoch + 1} (the epoch after training.state.epoch), got ${st.position.epoch}`);
  if (m.training.config.mode === 'train' && m.training.config.preset !== m.model.preset)
    fail('training.config.preset', `expected '${m.model.preset}' (model.preset), got '${m.training.config.preset}'`);
  return m;
}

export const RUN_STATUSES = ['running', 'paused', 'stopped', 'finished', 'early-stopped', 'failed'] as const;

// IndexedDB keeps NaN and ±Infinity (a run whose every batch was skipped has a NaN train loss): read as null, "not measured".
const storedRowSchema = v.objectWithRest(
  { epoch: int(0, 1e9) },
  v.nullable(
    v.pipe(
      v.custom<number>((x) => typeof x === 'number', 'expected a number or null'),
      v.transform((x: number) => (Number.isFinite(x) ? x : null)),
    ),
  ),
  'expected a history row {epoch, metric: number | null, …}',
);

const runRecordSchema = obj(
  {
    id: str(200),
    datasetId: str(200),
    datasetName: str(1000),
    createdAt: finite,
    updatedAt: finite,
    config: trainConfigSchema,
    status: pick(RUN_STATUSES),
    reason: str(100_000),
    history: list(storedRowSchema, 10_000_000, 'history rows'),
    bestCheckpointId: v.nullable(str(200, 'a checkpoint id or null')),
    lastCheckpointId: v.nullable(str(200, 'a checkpoint id or null')),
    distillation: v.optional(runDistillationSchema),
    averagedCheckpointId: v.optional(v.nullable(str(200, 'a checkpoint id or null'))),
    averaged: v.optional(averagedSchema),
    kept: v.optional(list(keptSlotSchema, MAX_AVERAGE_BEST, 'kept weight sets')),
  },
  'a run record',
);

/** A stored run record, checked on read: records written by any version, or damaged, never reach the page unchecked. */
export function parseRunRecord(raw: unknown): RunRecord {
  const id = typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : '?';
  const r = parseWith(runRecordSchema, raw, `run record ${id}: `);
  return { ...r, config: { ...r.config } };
}
