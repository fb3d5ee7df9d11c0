// Page state of model outputs: the stored output sets, the two-step import (analyse → report →
// store or cancel), Export model outputs (a checkpoint on a dataset split → .zip), the alignment
// view (an output set's sample, or a checkpoint on a dataset sample) with its CTM/JSON downloads,
// and the comparison of two output sets.

import type { AlignmentView, Comparison, InputFile, OutputSampleItem, OutputSetMeta, OutputsImportReport, SplitChoice } from '../worker/api';
import { message, type LabContext } from './context';
import { saveBytes } from './files';
import { flagged } from './job';
import { StoredSetsState, type OnProgress } from './stored_sets.svelte';

export type AlignSource = { kind: 'outputs'; setId: string } | { kind: 'checkpoint'; checkpointId: string };

type PendingOutputs = { pendingId: string; report: OutputsImportReport };

export class OutputsState extends StoredSetsState<PendingOutputs> {
  list = $state.raw<OutputSetMeta[]>([]);

  attachTo = $state<string | null>(null); // a stored dataset with the same ids, or standalone

  exportCheckpointId = $state<string | null>(null);
  exportSplit = $state<SplitChoice>('val');
  exporting = $state(false);

  alignSource = $state<AlignSource | null>(null);
  samples = $state.raw<OutputSampleItem[]>([]); // of the output set being aligned
  sampleIndex = $state(0);
  view = $state.raw<AlignmentView | null>(null);
  aligning = $state(false);
  alignError = $state<string | null>(null);
  fileScope = $state<'sample' | 'set'>('sample');
  fileNote = $state<string | null>(null);

  compareA = $state<string | null>(null);
  compareB = $state<string | null>(null);
  comparison = $state.raw<Comparison | null>(null);
  comparing = $state(false);
  compareError = $state<string | null>(null);
  /** The alignments of one compared sample in both sets, side by side. */
  compared = $state.raw<{ id: string; a: AlignmentView; b: AlignmentView } | null>(null);

  /** A job of this feature runs in this tab (the lab's busy flag includes it). */
  running = $derived(this.importing || this.exporting);

  constructor(private readonly ctx: LabContext) {
    super();
  }

  override async refresh(): Promise<void> {
    this.list = await this.ctx.api.listOutputSets();
    const ids = this.list.map((o) => o.id);
    if (this.alignSource?.kind === 'outputs' && !ids.includes(this.alignSource.setId)) this.clearView();
    if (this.compareA && !ids.includes(this.compareA)) this.compareA = null;
    if (this.compareB && !ids.includes(this.compareB)) this.compareB = null;
  }

  /** Step 1: read, validate and stage; the report is shown and no output set exists yet. */
  protected analyse(files: InputFile[], name: string, onProgress: OnProgress): Promise<PendingOutputs> {
    return this.ctx.api.analyseOutputs(files, name, this.attachTo, onProgress);
  }

  protected abort(): Promise<void> {
    return this.ctx.api.abortOutputs();
  }

  /** Step 2: store the staged set. */
  protected async store(p: PendingOutputs): Promise<void> {
    const meta = await this.ctx.api.commitOutputs(p.pendingId);
    this.notice = `Stored model outputs "${meta.name}": ${meta.numSamples} samples.`;
    await this.refresh();
  }

  protected discard(pendingId: string): Promise<void> {
    return this.ctx.api.cancelOutputs(pendingId);
  }

  protected renameStored(id: string, name: string): Promise<unknown> {
    return this.ctx.api.renameOutputSet(id, name);
  }

  async remove(id: string): Promise<void> {
    await this.ctx.api.deleteOutputSet(id);
    await this.refresh();
  }

  /** Export model outputs: the chosen checkpoint on the selected dataset's split, as a .zip download. */
  async exportOutputs(): Promise<void> {
    const ds = this.ctx.dataset,
      ck = this.exportCheckpointId;
    if (!ds || !ck || this.ctx.busy) return;
    this.notice = null;
    await flagged(this, 'exporting', 'error', async () => {
      const { fileName, bytes, samples } = await this.ctx.api.exportOutputs(ck, ds.id, this.exportSplit);
      saveBytes(bytes, fileName);
      this.notice = `Exported ${samples} samples' outputs as ${fileName}.`;
    });
  }

  clearView(): void {
    this.alignSource = null;
    this.view = null;
    this.samples = [];
    this.alignError = null;
  }

  /** Chooses what to align: an output set (its samples become pickable) or a checkpoint on the selected dataset. */
  async chooseSource(src: AlignSource | null): Promise<void> {
    this.alignSource = src;
    this.view = null;
    this.alignError = null;
    this.fileNote = null;
    this.sampleIndex = 0;
    this.samples = src?.kind === 'outputs' ? await this.ctx.api.outputSamples(src.setId) : [];
    if (src) await this.align(0);
  }

  async align(index: number): Promise<void> {
    const src = this.alignSource;
    if (!src) return;
    this.sampleIndex = index;
    this.aligning = true;
    this.alignError = null;
    try {
      if (src.kind === 'outputs') this.view = await this.ctx.api.outputAlignment(src.setId, index);
      else {
        const ds = this.ctx.dataset;
        if (!ds) throw new Error('select the dataset the checkpoint was trained on');
        this.view = await this.ctx.api.checkpointAlignment(src.checkpointId, ds.id, Math.min(Math.max(index, 0), ds.numSamples - 1));
      }
    } catch (e) {
      this.alignError = message(e);
      this.view = null;
    } finally {
      this.aligning = false;
    }
  }

  /** Download alignments (CTM or JSON) of the shown sample or of the whole output set. */
  async downloadAlignments(format: 'ctm' | 'json'): Promise<void> {
    const src = this.alignSource;
    if (src?.kind !== 'outputs') return;
    try {
      const id = this.fileScope === 'sample' ? (this.view?.id ?? null) : null;
      const f = await this.ctx.api.alignmentFile(src.setId, format, id);
      saveBytes(new TextEncoder().encode(f.text).buffer as ArrayBuffer, f.fileName);
      this.fileNote = `${f.aligned} samples aligned${
        f.skipped.length
          ? `; ${f.skipped.length} could not be (${f.skipped
              .slice(0, 3)
              .map((x) => `${x.id}: ${x.reason}`)
              .join('; ')}${f.skipped.length > 3 ? '; …' : ''})`
          : ''
      }.`;
    } catch (e) {
      this.alignError = message(e);
    }
  }

  async compare(): Promise<void> {
    const a = this.compareA,
      b = this.compareB;
    if (!a || !b) return;
    this.comparison = null;
    this.compared = null;
    await flagged(this, 'comparing', 'compareError', async () => {
      this.comparison = await this.ctx.api.compareOutputs(a, b);
    });
  }

  /** The alignments of one compared sample in both output sets. */
  async showCompared(id: string): Promise<void> {
    if (!this.compareA || !this.compareB) return;
    try {
      const [la, lb] = await Promise.all([this.ctx.api.outputSamples(this.compareA), this.ctx.api.outputSamples(this.compareB)]);
      const ia = la.find((s) => s.id === id)!.index,
        ib = lb.find((s) => s.id === id)!.index;
      const [a, b] = await Promise.all([this.ctx.api.outputAlignment(this.compareA, ia), this.ctx.api.outputAlignment(this.compareB, ib)]);
      this.compared = { id, a, b };
    } catch (e) {
      this.compareError = message(e);
    }
  }
}
