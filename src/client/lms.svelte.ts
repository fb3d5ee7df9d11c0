// Page state of the selected dataset's language models: the list (re-read when any tab stores or
// deletes one), building from the training transcripts or a text file, importing an ARPA file,
// downloading and deleting. Decoding with one is the diagnostics' (diagnostics.svelte.ts).

import { STORAGE_CHANNEL, type LmInfo, type LmSource, type StorageChange } from '../worker/api';
import { message, type LabContext } from './context';
import { saveBytes } from './files';

export class LmsState {
  list = $state.raw<LmInfo[]>([]);
  order = $state(3); // n-gram order of a built model, 2–4
  name = $state('');
  working = $state(false);
  error = $state<string | null>(null);
  private listenedFor: string | null = null;

  constructor(private readonly ctx: LabContext) {
    if (typeof BroadcastChannel !== 'undefined')
      new BroadcastChannel(STORAGE_CHANNEL).addEventListener('message', (e: MessageEvent<StorageChange>) => {
        const c = e.data;
        if ((c.kind === 'lms' && c.datasetId === this.ctx.dataset?.id) || c.kind === 'datasets' || c.kind === 'dataset-deleted') void this.refresh();
      });
  }

  /** Re-reads the selected dataset's list (and forgets a failure of another dataset's). */
  async refresh(): Promise<void> {
    const id = this.ctx.dataset?.id ?? null;
    if (id !== this.listenedFor) this.error = null;
    this.listenedFor = id;
    this.list = id ? await this.ctx.api.listLms(id) : [];
  }

  private async add(source: LmSource): Promise<void> {
    const ds = this.ctx.dataset;
    if (!ds) return;
    this.working = true;
    this.error = null;
    try {
      await this.ctx.api.addLm(ds.id, this.name, source);
      this.name = '';
      await this.refresh();
    } catch (e) {
      this.error = message(e);
    } finally {
      this.working = false;
    }
  }

  build(): Promise<void> {
    return this.add({ from: 'transcripts', order: this.order });
  }

  buildFromText(file: File): Promise<void> {
    return this.add({ from: 'text', order: this.order, file });
  }

  importArpa(file: File): Promise<void> {
    return this.add({ from: 'arpa', file });
  }

  async remove(id: string): Promise<void> {
    await this.ctx.api.deleteLm(id);
    await this.refresh();
  }

  async download(id: string): Promise<void> {
    const { fileName, text } = await this.ctx.api.lmArpa(id);
    saveBytes(new TextEncoder().encode(text).buffer as ArrayBuffer, fileName);
  }
}
