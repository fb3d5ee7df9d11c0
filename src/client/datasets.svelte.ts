// Page state of the datasets feature: the stored list and the selection, the two-step import
// (analyse → report → store or cancel) with progress, the browser's storage estimate, and the
// sample inspector.

import type { DatasetMeta, Encoding, ImportReport, InputFile, SampleView } from '../worker/api';
import type { LabContext } from './context';
import { StoredSetsState, type OnProgress } from './stored_sets.svelte';

type PendingDataset = { pendingId: string; report: ImportReport & { stagedAs: Encoding } };

export class DatasetsState extends StoredSetsState<PendingDataset> {
  list = $state.raw<DatasetMeta[]>([]);
  selectedId = $state<string | null>(null);
  selected = $derived(this.list.find((d) => d.id === this.selectedId) ?? null);

  storeAs = $state<Encoding>('float32');
  storage = $state<{ usage: number; quota: number; persisted: boolean } | null>(null);
  inspected = $state.raw<SampleView | null>(null);

  constructor(
    private readonly ctx: LabContext,
    /** The time subsampling of the model chosen for training (the import report's feasibility list). */
    private readonly subsampling: () => number,
    /** Called after the selection changed (features reset what belonged to the previous dataset). */
    private readonly onSelect: () => Promise<void>,
  ) {
    super();
  }

  override async refresh(selectId?: string): Promise<void> {
    this.list = await this.ctx.api.listDatasets();
    const before = this.selectedId;
    if (selectId) this.selectedId = selectId;
    if (!this.list.some((d) => d.id === this.selectedId)) this.selectedId = this.list.at(-1)?.id ?? null;
    if (this.selectedId !== before) await this.onSelect();
  }

  async select(id: string): Promise<void> {
    if (id === this.selectedId) return;
    this.selectedId = id;
    this.inspected = null;
    await this.onSelect();
  }

  async loadDemo(): Promise<void> {
    await this.step(() => this.stored(this.ctx.api.createDemoDataset(42)));
  }

  /** Step 1: read, validate and stage (invisible); the report is shown and no dataset exists yet. */
  protected async analyse(files: InputFile[], name: string, onProgress: OnProgress): Promise<PendingDataset> {
    await this.refreshStorage();
    const p = await this.ctx.api.analyseImport(files, name, this.subsampling(), this.storeAs, onProgress);
    await this.refreshStorage();
    return p;
  }

  protected abort(): Promise<void> {
    return this.ctx.api.abortImport();
  }

  /** Step 2: make the staged import a dataset. */
  protected store(p: PendingDataset): Promise<void> {
    return this.stored(this.ctx.api.commitImport(p.pendingId, this.storeAs));
  }

  /** Step 2, then asks the browser to keep the site's storage. */
  override async commitImport(): Promise<void> {
    if (!this.pending) return;
    await super.commitImport();
    try {
      await navigator.storage?.persist?.();
    } catch {
      // persistence is a request; the import is stored either way
    }
    await this.refreshStorage();
  }

  protected discard(pendingId: string): Promise<void> {
    return this.ctx.api.cancelImport(pendingId).then(() => this.refreshStorage());
  }

  async refreshStorage(): Promise<void> {
    try {
      const est = await navigator.storage?.estimate?.();
      const persisted = (await navigator.storage?.persisted?.()) ?? false;
      if (est) this.storage = { usage: est.usage ?? 0, quota: est.quota ?? 0, persisted };
    } catch {
      this.storage = null;
    }
  }

  /** A dataset was stored: says so and selects it. */
  private async stored(job: Promise<DatasetMeta>): Promise<void> {
    const meta = await job;
    this.notice = `Stored "${meta.name}": ${meta.numSamples} samples.`;
    await this.refresh(meta.id);
  }

  protected renameStored(id: string, name: string): Promise<unknown> {
    return this.ctx.api.renameDataset(id, name);
  }

  async inspect(datasetId: string, index: number): Promise<void> {
    const meta = this.list.find((d) => d.id === datasetId);
    if (!meta) return;
    const i = Math.min(Math.max(index, 0), meta.numSamples - 1);
    this.inspected = await this.ctx.api.getSample(datasetId, i);
  }

  async remove(id: string): Promise<void> {
    await this.ctx.api.deleteDataset(id);
    if (this.inspected && this.selectedId === id) this.inspected = null;
    await this.refresh();
  }
}
