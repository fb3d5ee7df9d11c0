// The sink an import streams into: accepted samples are buffered up to `batchBytes` and written as
// one IndexedDB transaction per batch under the future dataset id (invisible until committed;
// see store.ts). Double-buffered: one batch is being written while the next one fills, so memory
// holds at most two batches, and reading files overlaps with writing.

import { encodeFloat16 } from './float16';
import type { SampleSink } from './import';
import type { PreparedSample } from './prepare';
import * as store from './store';

export interface StagingSink extends SampleSink {
  /** Writes what is buffered and waits for every write; call once after the import's last sample. */
  flush(): Promise<void>;
  readonly staged: number; // samples written
  readonly bytes: number; // feature bytes written (as encoded)
}

/**
 * `encoding` 'float16' stores each sample as float16 bits as it arrives (the importer refuses values
 * outside float16's range for such an import, see ImportOptions.maxAbs).
 */
export function stagingSink(datasetId: string, opts: { batchBytes?: number; encoding?: store.Encoding; writeBatch?: typeof store.stageSamples } = {}): StagingSink {
  const { batchBytes = 8e6, encoding = 'float32', writeBatch = store.stageSamples } = opts;
  let buffer: PreparedSample[] = [];
  let buffered = 0, queued = 0, staged = 0, bytes = 0;
  let inFlight: Promise<void> | null = null;
  const write = async (batch: PreparedSample[], first: number, size: number) => {
    try {
      await writeBatch(datasetId, first, batch);
    } catch (e) {
      if ((e as { name?: string }).name === 'QuotaExceededError') {
        throw new Error(`the browser's storage quota ran out after ${(bytes / 2 ** 20).toFixed(0)} MB of this import; nothing was stored (free space, or store the features as float16)`);
      }
      throw e;
    }
    staged += batch.length;
    bytes += size;
  };
  const startWrite = async () => {
    if (inFlight) await inFlight; // at most one write in flight (and its error surfaces here)
    inFlight = null;
    if (!buffer.length) return;
    const p = write(buffer, queued, buffered);
    p.catch(() => {}); // awaited by the next startWrite or flush
    inFlight = p;
    queued += buffer.length;
    buffer = [];
    buffered = 0;
  };
  return {
    async put(sample) {
      const s = encoding === 'float16' ? { ...sample, features: encodeFloat16(new Float32Array(sample.features)).buffer as ArrayBuffer, encoding: 'float16' as const } : sample;
      buffer.push(s);
      buffered += s.features.byteLength;
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
