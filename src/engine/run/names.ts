// File names the lab gives what it writes (checkpoints, exported outputs, alignments): the dataset
// and what the file holds, safe on every filesystem.

import type { RunRecord } from '../../data/types';

/** Anything but letters, digits, '_' and '-' becomes '_'. */
export const safeName = (s: string) => s.replace(/[^A-Za-z0-9_-]+/g, '_');

/** A run's checkpoint: dataset, run and epoch (and the step, for one written mid-epoch). */
export function runCheckpointFileName(
  run: Pick<RunRecord, 'id' | 'datasetName'>,
  kind: 'best' | 'last' | 'averaged' | 'kept',
  epoch: number,
  midEpochStep?: number,
): string {
  return `ctc-lab-${safeName(run.datasetName)}-${run.id}-${kind}-epoch${epoch}${midEpochStep === undefined ? '' : `-step${midEpochStep}`}.safetensors`;
}

/** The overfit test's checkpoint. */
export const overfitCheckpointFileName = (datasetName: string, epochs: number) => `ctc-lab-overfit-${safeName(datasetName)}-epoch${epochs}.safetensors`;

/** A checkpoint's outputs on a dataset split, exported as one .zip. */
export const outputsFileName = (datasetName: string, split: string, checkpointFileName: string) =>
  `ctc-lab-outputs-${safeName(datasetName)}-${split}-${safeName(checkpointFileName.replace(/\.safetensors$/, ''))}.zip`;

/** Token spans of one sample (its id) or of the whole set ('all'), as CTM or JSON. */
export const alignmentsFileName = (setName: string, sampleId: string | null, format: 'ctm' | 'json') =>
  `ctc-lab-alignments-${safeName(setName)}-${sampleId ? safeName(sampleId) : 'all'}.${format}`;
