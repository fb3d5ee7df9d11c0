// Dataset import: dropped folder, picked files, .zip or .npz → validated samples, streamed. The
// dataset kind of the import pipeline (staged_import.ts): manifest rows with 'features' paths, an
// optional vocab.txt, each sample's features checked (one feature dimension, NaN/Inf left out and
// listed, float16's range when stored as float16) and normalisation statistics gathered over the
// training split one sample at a time.

import { DataError } from './errors';
import { parseManifestJsonl, parseManifestTsv, parseVocab } from './manifest';
import { assignSplits, FeatureStats, finishMeta, type PreparedDataset, type PreparedSample, type PreparedInfo } from './prepare';
import { collectStaged, streamStaged, type ImportKind, type InputFile, type Sink, type StreamOptions } from './staged_import';
import { zeroVarianceDims } from './norm';
import { labelFacts, type DatasetFacts } from './dataset_facts';
import type { DatasetMeta, ManifestRow } from './types';

// The page's protocol (worker/api.ts) and the tests name the pipeline's input types through this module.
export type { ImportProgress, InputFile } from './staged_import';

/** What the user sees before committing an import: the dataset's record as it will be stored, and what was found. Blocking problems throw instead. */
export type ImportReport = Pick<DatasetMeta, 'name' | 'counts' | 'frames' | 'featureDim'> & {
  vocabSize: number;
  bytes: number; // float32 feature bytes to store (float16: half)
  maxAbs: number; // largest |feature value| stored: float16 storage needs ≤ 65504
  nonFinite: { id: string; file: string; values: number; first: string }[]; // left out of the dataset
  zeroVarianceDims: number[];
  oov: DatasetFacts['oov'];
  subsampling: number;
  infeasible: DatasetFacts['infeasible'];
  unusedFeatureFiles: string[]; // .npy files no manifest row refers to
};

export interface ImportOptions extends StreamOptions {
  seed?: number; // for the 90/10 split of rows without one
  subsampling?: number; // the model's, for the feasibility list
  /** Refuse a sample with a larger |value| (float16 storage chosen before the import: 65504). */
  maxAbs?: number;
}

type DatasetImport = { meta: PreparedDataset['meta']; report: ImportReport };

/** The dataset kind of the pipeline. */
function datasetKind(opts: ImportOptions): ImportKind<ManifestRow, PreparedSample, DatasetImport> {
  const { seed = 1234, subsampling = 2, maxAbs: limit = Infinity } = opts;
  return {
    parseManifest: (text, file) => (file.toLowerCase().endsWith('.tsv') ? parseManifestTsv(text, file) : parseManifestJsonl(text, file)),
    column: 'features',
    arrayPath: (row) => row.features,
    async begin({ name, sibling }, rows) {
      const vocabEntry = sibling('vocab.txt');
      const vocab = vocabEntry ? parseVocab(new TextDecoder().decode(await vocabEntry.read()), vocabEntry.path) : null;
      const splits = assignSplits(
        rows.map((r) => r.split),
        seed,
      );
      const infos: PreparedInfo[] = [];
      const nonFinite: ImportReport['nonFinite'] = [];
      let stats: FeatureStats | null = null;
      let dimFrom = '';
      let bytes = 0,
        maxAbs = 0;
      return {
        accept(arr, row, file, i) {
          if (!stats) {
            stats = new FeatureStats(arr.dim);
            dimFrom = file;
          } else if (arr.dim !== stats.featureDim) {
            throw new DataError(
              file,
              `has ${arr.dim} features per frame (shape ${arr.shape.join('x')}), but ${dimFrom} has ${stats.featureDim}`,
              `sample '${row.id}'`,
            );
          }
          // One pass: NaN/Inf count and the largest magnitude (float16 range check).
          let bad = 0,
            firstBad = -1,
            big = 0;
          const x = arr.data;
          for (let k = 0; k < x.length; k++) {
            const a = Math.abs(x[k]);
            if (a > big) big = a;
            else if (!(a <= big)) {
              // NaN (a <= big is false), or Inf that was caught by a > big above: sorted out below.
              if (bad++ === 0) firstBad = k;
            }
          }
          if (big === Infinity) {
            bad = 0;
            firstBad = -1;
            for (let k = 0; k < x.length; k++) if (!Number.isFinite(x[k]) && bad++ === 0) firstBad = k;
          }
          if (bad) {
            const first = `${Number.isNaN(x[firstBad]) ? 'NaN' : 'Inf'} value at frame ${Math.floor(firstBad / arr.dim)}, feature ${firstBad % arr.dim}`;
            nonFinite.push({ id: row.id, file, values: bad, first });
            return null;
          }
          if (big > limit) {
            throw new DataError(
              file,
              `has a value of magnitude ${big.toPrecision(6)}, beyond float16's range (±${limit}) chosen for storage; import it with float32 storage`,
              `sample '${row.id}'`,
            );
          }
          if (splits[i] === 'train') stats.add(arr.data, arr.frames);
          infos.push({ id: row.id, text: row.text, split: splits[i], frames: arr.frames });
          bytes += arr.data.byteLength;
          maxAbs = Math.max(maxAbs, big);
          return { id: row.id, text: row.text, split: splits[i], frames: arr.frames, features: arr.data.buffer as ArrayBuffer };
        },

        finish(unusedFeatureFiles) {
          if (infos.length === 0) {
            throw new DataError(name, `every sample has NaN/Inf features (first: ${nonFinite[0]?.file}, ${nonFinite[0]?.first})`);
          }
          const meta = finishMeta(name, 'import', infos, stats!, vocab, vocabEntry?.path, bytes);
          const { infeasible, oov } = labelFacts(meta.vocab, infos, subsampling);
          return {
            meta,
            report: {
              name,
              counts: meta.counts,
              frames: meta.frames,
              featureDim: meta.featureDim,
              vocabSize: meta.vocab.length,
              bytes,
              maxAbs,
              nonFinite,
              zeroVarianceDims: zeroVarianceDims(meta.norm.std),
              oov,
              subsampling,
              infeasible,
              unusedFeatureFiles,
            },
          };
        },
      };
    },
  };
}

/**
 * Reads and validates a dataset, streaming accepted samples into `sink`; throws a DataError
 * (file, line or sample) on the first blocking problem, an AbortError when `signal` fires.
 * Samples with NaN/Inf features are not blocking: they are left out and listed, and the user
 * decides whether to store the rest.
 */
export function streamImport(files: InputFile[], name: string, sink: Sink<PreparedSample>, opts: ImportOptions = {}): Promise<DatasetImport> {
  return streamStaged(files, name, datasetKind(opts), sink, opts);
}

/** The whole import in memory (tests, small inputs): every accepted sample in an array. */
export async function prepareImport(
  files: InputFile[],
  name: string,
  seed = 1234,
  subsampling = 2,
): Promise<{ dataset: PreparedDataset; report: ImportReport }> {
  const { result, samples } = await collectStaged(files, name, datasetKind({ seed, subsampling }));
  return { dataset: { meta: result.meta, samples }, report: result.report };
}
