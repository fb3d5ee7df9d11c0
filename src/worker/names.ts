import type { RunRecord } from '../data/store';

/** File names for a run's checkpoints: dataset, run and epoch, safe on every filesystem. */
export function ctcLabFileName(run: Pick<RunRecord, 'id' | 'datasetName'>, kind: 'best' | 'last', epoch: number): string {
  const ds = run.datasetName.replace(/[^A-Za-z0-9_-]+/g, '_');
  return `ctc-lab-${ds}-${run.id}-${kind}-epoch${epoch}.safetensors`;
}
