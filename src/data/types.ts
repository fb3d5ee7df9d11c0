// Shapes shared by the importer, the store, the worker and the page: every stored record is
// declared here once (the worker's protocol derives its types from these, the checkpoint and
// run-record schemas check them on read).

export type Split = 'train' | 'val' | 'test';

/** How a dataset's features are stored: float32, or float16 bits (half the bytes). */
export type Encoding = 'float32' | 'float16';

export interface ManifestRow {
  id: string;
  text: string; // tokens separated by spaces
  split?: Split;
  features?: string; // relative path of a .npy file
  line: number; // 1-based line in the manifest, for error messages
}

export interface SampleRecord {
  datasetId: string;
  index: number; // position within the dataset, 0..n-1
  id: string;
  text: string;
  split: Split;
  frames: number;
  features: ArrayBuffer; // float32 [frames * featureDim], raw (not normalised); float16 bits when encoding is 'float16'
  encoding?: 'float16'; // as stored; the store's readers always hand out float32
}

export interface DatasetMeta {
  id: string;
  name: string;
  source: 'demo' | 'import';
  createdAt: number; // ms since epoch
  numSamples: number;
  counts: Record<Split, number>;
  featureDim: number;
  frames: { min: number; mean: number; max: number };
  vocab: string[]; // tokens; output class i + 1 (class 0 is the blank)
  norm: { mean: number[]; std: number[] }; // per feature dim, over the training split
  bytes: number; // feature bytes stored
  storage?: Encoding; // how features are stored (older datasets: float32)
}

// Model outputs (docs/ARCHITECTURE.md "Model outputs format"): any CTC model's per-sample outputs with the
// references, imported to be diagnosed and aligned. Stored as log-probabilities whatever arrived.

export type OutputKind = 'log_probs' | 'logits' | 'probs';

export interface OutputSetMeta {
  id: string;
  name: string;
  source: 'import' | 'export'; // imported files, or written by the lab from a checkpoint
  createdAt: number; // ms since epoch
  numSamples: number;
  counts: Record<Split | 'none', number>; // samples per split ('none': no split given)
  classes: string[]; // C class names in class order; classes[blank] is '<blank>'
  blank: number;
  kind: { declared: OutputKind | null; detected: Record<OutputKind, number>; lseMin: number; lseMax: number }; // as given; detected: samples per kind; logsumexp range of the raw finite rows
  subsampling: number | null; // input frames per output frame
  subsamplingSource: 'outputs.json' | 'inferred' | null; // inferred: from the manifest's frames and T'
  frameShiftMs: number | null;
  model: string; // outputs.json 'model' (free text)
  outFrames: { min: number; mean: number; max: number }; // T'
  bytes: number; // log-probability bytes stored (float32)
  datasetId: string | null; // the stored dataset whose samples these are (same ids), if attached
  datasetName: string | null;
  nonFinite: { id: string; values: number; first: string }[]; // samples holding NaN/+Inf outputs (kept: the diagnosis names them)
}

export interface OutputSampleRecord {
  setId: string;
  index: number; // position within the set, 0..n-1
  id: string;
  text: string; // the reference
  split: Split | null;
  frames: number | null; // input frames before the model's subsampling, when known
  outFrames: number; // T'
  logProbs: ArrayBuffer; // float32 [T', C], log-probabilities (normalised from logits/probs on import)
}

// Runs and checkpoints (docs/ARCHITECTURE.md "Checkpoint format").

/**
 * One row of a run's per-epoch history as stored (run records, checkpoint metadata): the epoch and
 * named metrics, null where not measured (JSON has no NaN). A training run's rows are EpochRecords;
 * an overfit test's hold {epoch, loss, wer, seconds}.
 */
export type HistoryRow = { epoch: number; [metric: string]: number | null };

/**
 * One epoch of a training run, as the trainer measures it and a run's history keeps it. A `type`
 * (not an interface), so that it is a HistoryRow without a cast.
 */
export type EpochRecord = {
  epoch: number;
  trainLoss: number; // mean over the epoch's finite batches
  valLoss: number | null;
  valWer: number | null;
  valCer: number | null;
  S: number | null;
  D: number | null;
  I: number | null;
  N: number | null;
  blankRate: number | null;
  lr: number; // at the end of the epoch
  gradNorm: number; // mean global norm (before clipping)
  skippedBatches: number; // non-finite loss, never applied
  paddingEfficiency: number;
  seconds: number; // wall time of the epoch
  // distillation runs only:
  trainKd?: number; // mean τ²·KL term over the epoch's finite batches (unweighted)
  agreement?: number | null; // share of val samples whose greedy decodes equal the teacher's
  teacherValWer?: number | null; // the teacher's val WER on the same samples
};

/** A stored checkpoint: the .safetensors file and what lists show without opening it. */
export interface CheckpointRecord {
  id: string;
  datasetId: string;
  // averaged: the mean of a run's N best weight sets (TrainConfig.averageBest); kept: one of those sets
  // while the run goes on (not listed; deleted when the average is stored, or with the run)
  kind: 'overfit' | 'best' | 'last' | 'averaged' | 'kept';
  runId?: string;
  createdAt: number;
  fileName: string;
  bytes: ArrayBuffer; // the .safetensors file
  overfit?: { passed: boolean; epochs: number; seconds: number; finalLoss: number; finalWer: number }; // kind 'overfit'
}

export type RunStatus = 'running' | 'paused' | 'stopped' | 'finished' | 'early-stopped' | 'failed';

/** A training run (checked by the run-record schema on read). */
export interface RunRecord {
  id: string;
  datasetId: string;
  datasetName: string;
  createdAt: number;
  updatedAt: number;
  config: Record<string, unknown>; // TrainConfig
  status: RunStatus;
  reason: string;
  history: HistoryRow[]; // per-epoch metrics
  bestCheckpointId: string | null;
  lastCheckpointId: string | null;
  distillation?: DistillationRecord; // a student run
  averagedCheckpointId?: string | null; // averageBest: the averaged checkpoint, written when the run ends
  averaged?: AveragedRecord; // … and what it averages, how it scored
  kept?: { slot: number; epoch: number; metric: number }[]; // averageBest: the weight sets kept so far (records `${id}-kept-${slot}`), for a resume
}

/** A run's averaged checkpoint (engine/train/average.ts): the epochs whose weights it averages, its val scores. */
export interface AveragedRecord {
  epochs: number[]; // best first
  valWer: number | null;
  valLoss: number | null;
}

// Distillation: what a student's checkpoint and its run record keep about the teacher.

/** The distillation loss's settings (defaults and explanations: engine/distill/settings.ts). */
export interface DistillSettings {
  kdWeight: number; // weight of τ²·KL(teacher ‖ student); 25
  ctcWeight: number; // weight of the student's own CTC loss; 1
  temperature: number; // τ; 8
  excludeBlank: boolean; // leave the blank out of the KL (renormalise over the other classes); true
}

/**
 * Where a run's teacher came from. `Model`: the type of its model config (the engine's
 * ModelConfig; data/ knows only that it names a preset).
 */
export interface TeacherRecord<Model extends { preset: string } = { preset: string }> {
  kind: 'checkpoint' | 'outputs'; // a stored lab checkpoint (run in the worker) or an imported model-output set
  id: string; // checkpoint or output-set id in this browser's storage
  name: string; // its file or set name, for people
  model?: Model; // checkpoint: its model config (preset, sizes)
  subsampling?: number;
  params?: number; // checkpoint: parameter count
  valWer?: number | null; // the teacher's own val WER when the run started
}

/** Teacher vs student on the validation split, written when a student run ends. */
export interface DistillationSummary<Model extends { preset: string } = { preset: string }> {
  samples: number; // validation samples compared
  agreement: number; // 0..1, share of samples whose greedy decodes are equal
  student: { preset: string; subsampling: number; params: number; valWer: number; msPerSample: number | null };
  // A stored output set has no model here: its parameters and inference time are unknown (null).
  teacher: { info: TeacherRecord<Model>; params: number | null; valWer: number; msPerSample: number | null };
}

/**
 * A student run's distillation, as its checkpoints' metadata (`distillation`, no summary) and its
 * run record keep it: the KD settings, the teacher, and the summary once the run has ended.
 */
export interface DistillationRecord<Model extends { preset: string } = { preset: string }> extends DistillSettings {
  teacher: TeacherRecord<Model>;
  summary?: DistillationSummary<Model>;
}

// Language models and sweeps (DB version 4). Each feature owns its record's fields below.

/** An n-gram LM stored beside its dataset (engine/lm/): built from transcripts or text, or an imported ARPA file. */
export interface LmRecord {
  id: string;
  datasetId: string;
  name: string;
  createdAt: number;
  order: number; // n-gram order: 2–4 when built here, any read from an ARPA file
  source: 'transcripts' | 'text' | 'arpa'; // the training split's transcripts, an uploaded text file, an imported ARPA file
  sourceName: string; // the uploaded file's name ('' for transcripts)
  counts: number[]; // n-grams per order (index n − 1)
  words: number; // vocabulary size, <s> </s> <unk> included
  modelBytes: number; // the model's arrays (engine/lm/ngram.ts modelBytes)
  arpaBytes: number; // the stored ARPA text's UTF-8 bytes
  /** On the dataset's val transcripts (null: no val samples). */
  perplexity: { perplexity: number; oov: number; tokens: number; sentences: number } | null;
  arpa: string; // the model as ARPA text (engine/lm/arpa.ts writes it; reading it back gives the same scores)
}

/** A fix sweep run in the browser (engine/tune/halving.ts, sweep_spec.ts): its spec, its trials and their runs. */
export interface SweepRecord {
  id: string;
  datasetId: string;
  name: string;
  createdAt: number;
  updatedAt: number;
  source: 'lab' | 'import'; // run here (engine/tune/sweep_run.ts), or the twin's trials.jsonl imported
  spec: Record<string, unknown> | null; // the ctc-lab-sweep/1 spec (engine/tune/sweep_spec.ts); an import without its spec: null
  baseRunId: string | null; // the stored run whose config is the base (else the training form's)
  status: SweepStatus;
  reason: string; // why it stopped or how it ended (the verdict)
  trials: SweepTrialRecord[]; // in the spec's order: the base first
  ledger: { trial: number; rung: number; value: number }[]; // the metrics recorded at the rungs (halving.ts RungValue)
}

export type SweepStatus = 'ready' | 'running' | 'stopped' | 'finished';

/** One trial of a sweep: its changes from the base, its run, and the metric after each epoch. */
export interface SweepTrialRecord {
  name: string;
  changes: Record<string, number | string>;
  config: Record<string, unknown>; // TrainConfig
  runId: string | null; // its training run (its own record and checkpoints); null until started, and for an import
  state: 'pending' | 'running' | 'pruned' | 'complete' | 'failed'; // pruned: not in the top 1/η at a rung
  reason: string;
  curve: { epoch: number; value: number | null; valWer: number | null }[]; // the sweep's metric and val WER after each epoch
}
