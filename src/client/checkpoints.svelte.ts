// Page state of the stored checkpoints of the selected dataset (overfit, best, last, imported):
// listed for diagnostics and downloads; every feature that stores one refreshes this list.

import type { CheckpointInfo } from '../worker/api';
import type { LabContext } from './context';
import { saveBytes } from './files';

export class CheckpointsState {
  list = $state.raw<CheckpointInfo[]>([]);
  latestOverfit = $derived(this.list.filter((c) => c.kind === 'overfit').at(-1) ?? null);

  constructor(private readonly ctx: LabContext) {}

  async refresh(): Promise<void> {
    const id = this.ctx.dataset?.id;
    this.list = id ? await this.ctx.api.listCheckpoints(id) : [];
  }

  async download(id: string): Promise<void> {
    const { fileName, bytes } = await this.ctx.api.getCheckpointBytes(id);
    saveBytes(bytes, fileName);
  }
}
