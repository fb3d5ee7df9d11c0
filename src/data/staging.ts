// The sink an import streams into (staged_import.ts), for datasets and model-output sets: accepted
// samples are buffered up to `batchBytes` and written as one IndexedDB transaction per batch under
// the future set's id (invisible until committed; see set_store.ts). Double-buffered: one batch is
// being written while the next one fills, so memory holds at most two batches, and reading files
// overlaps with writing.

import { encodeFloat16 } from './float16';
import type { PreparedSample } from './prepare';
import type { PreparedOutputSample } from './outputs_import';
import type { Sink } from './staged_import';
import * as store from './store';
import * as outputStore from './store_outputs';

export interface StagingSink<Sample = PreparedSample> extends Sink<Sample> {
  /** Writes what is buffered and waits for every write; call once after the import's last sample. */
  flush(): Promise<void>;
  readonly staged: number; // samples written
  readonly bytes: number; // feature bytes written (as encoded)
}

/**
 * `encoding` 'float16' stores each sample as float16 bits as it arrives (the importer refuses values
 * outside float16's range for such an import, see ImportOptions.maxAbs).
 */
export function stagingSink(
  datasetId: string,
  opts: { batchBytes?: number; encoding?: store.Encoding; writeBatch?: typeof store.stageSamples } = {},
): StagingSink {
  const { batchBytes = 8e6, encoding = 'float32', writeBatch = store.stageSamples } = opts;
  return batchedSink<PreparedSample>(
    (first, batch) => writeBatch(datasetId, first, batch),
    (s) => s.features.byteLength,
    batchBytes,
    'free space, or store the features as float16',
    (sample) =>
      encoding === 'float16'
        ? { ...sample, features: encodeFloat16(new Float32Array(sample.features)).buffer as ArrayBuffer, encoding: 'float16' as const }
        : sample,
  );
}

/** The same for a model-output set's samples (float32 log-probabilities, stored as they come). */
export function outputStagingSink(
  setId: string,
  opts: { batchBytes?: number; writeBatch?: typeof outputStore.stageOutputSamples } = {},
): StagingSink<PreparedOutputSample> {
  const { batchBytes = 8e6, writeBatch = outputStore.stageOutputSamples } = opts;
  return batchedSink<PreparedOutputSample>(
    (first, batch) => writeBatch(setId, first, batch),
    (s) => s.logProbs.byteLength,
    batchBytes,
    'free space, or import fewer samples',
  );
}

/** Buffers items up to `batchBytes` and writes them in order, at most one write in flight. */
function batchedSink<T>(
  write: (first: number, batch: T[]) => Promise<void>,
  size: (t: T) => number,
  batchBytes: number,
  quotaHint: string,
  encode: (t: T) => T = (t) => t,
) {
  let buffer: T[] = [];
  let buffered = 0,
    queued = 0,
    staged = 0,
    bytes = 0;
  let inFlight: Promise<void> | null = null;
  const writeOne = async (batch: T[], first: number, n: number) => {
    try {
      await write(first, batch);
    } catch (e) {
      if ((e as { name?: string }).name === 'QuotaExceededError') {
        throw new Error(`the browser's storage quota ran out after ${(bytes / 2 ** 20).toFixed(0)} MB of this import; nothing was stored (${quotaHint})`, {
          cause: e,
        });
      }
      throw e;
    }
    staged += batch.length;
    bytes += n;
  };
  const startWrite = async () => {
    if (inFlight) await inFlight; // at most one write in flight (and its error surfaces here)
    inFlight = null;
    if (!buffer.length) return;
    const p = writeOne(buffer, queued, buffered);
    p.catch(() => {}); // awaited by the next startWrite or flush
    inFlight = p;
    queued += buffer.length;
    buffer = [];
    buffered = 0;
  };
  return {
    async put(item: T) {
      const s = encode(item);
      buffer.push(s);
      buffered += size(s);
      if (buffered >= batchBytes) await startWrite();
    },
    async flush() {
      await startWrite();
      if (inFlight) await inFlight;
      inFlight = null;
    },
    get staged() {
      return staged;
    },
    get bytes() {
      return bytes;
    },
  };
}
