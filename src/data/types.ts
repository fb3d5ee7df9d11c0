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
