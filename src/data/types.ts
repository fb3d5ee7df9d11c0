// Shapes shared by the importer, the store, the worker and the page.

export type Split = 'train' | 'val' | 'test';

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
  storage?: 'float32' | 'float16'; // how features are stored (older datasets: float32)
}

// Model outputs (DESIGN.md "Model outputs format"): any CTC model's per-sample outputs with the
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
