// Page state of diagnostics: the request (which model — fresh, a stored checkpoint, or an imported
// model-output set —, which early-stopping settings to judge, defaults from the worker, and an
// optional language model to decode with), the report, and its downloads (the report, and the
// hypotheses of each decoder as .tsv). The dataset's language models (lms.svelte.ts) live here:
// decoding is what they are for.

import {
  DIAGNOSE_DEFAULTS,
  LM_BEAM_DEFAULTS,
  hypothesesFileName,
  hypothesesTsv,
  reportToMarkdown,
  type DiagnosticsReport,
  type DiagnosticsRequest,
} from '../worker/api';
import * as Comlink from 'comlink';
import type { LabContext } from './context';
import { flagged, JobFeature } from './job';
import { saveBytes } from './files';
import { LmsState } from './lms.svelte';

export class DiagnosticsState extends JobFeature {
  settings = $state<DiagnosticsRequest>({
    checkpointId: null,
    patience: DIAGNOSE_DEFAULTS.patience,
    minDelta: DIAGNOSE_DEFAULTS.minDelta,
    maxEpochs: DIAGNOSE_DEFAULTS.maxEpochs,
  });
  report = $state.raw<DiagnosticsReport | null>(null);
  running = $state(false);
  error = $state<string | null>(null);
  /** An output set to diagnose from its outputs only (instead of a model on the dataset), or null. */
  outputSetId = $state<string | null>(null);
  /** A stored language model to decode with (greedy, beam and beam + LM side by side), or null. */
  lmId = $state<string | null>(null);
  /** The LM decoding's progress: decodings of the set done and in all (beam, then each α, β). */
  lmProgress = $state<{ done: number; total: number } | null>(null);
  readonly lms: LmsState;
  /** The alignment view's LM (beam + LM beside greedy for the sample shown), or null; and its hypothesis. */
  alignLmId = $state<string | null>(null);
  alignLm = $state<{ id: string; greedy: string; lm: string; alpha: number; beta: number; tuned: boolean } | null>(null);
  alignLmError = $state<string | null>(null);

  constructor(ctx: LabContext) {
    super(ctx);
    this.lms = new LmsState(ctx);
  }

  /** A dataset (or an output set) is chosen, the backend is up and no other job runs in this tab. */
  canRun = $derived.by(() => (this.ctx.dataset !== null || this.outputSetId !== null) && this.ctx.ready && !this.ctx.busy);

  /** Forgets what belonged to the previously selected dataset. */
  reset(): void {
    this.report = null;
    this.error = null;
    this.settings.checkpointId = null;
    this.outputSetId = null;
    this.lmId = null;
  }

  /** The Model choice as one value: '' (fresh), 'checkpoint:<id>' or 'outputs:<id>'. */
  get choice(): string {
    return this.outputSetId ? `outputs:${this.outputSetId}` : this.settings.checkpointId ? `checkpoint:${this.settings.checkpointId}` : '';
  }

  set choice(v: string) {
    this.outputSetId = v.startsWith('outputs:') ? v.slice(8) : null;
    this.settings.checkpointId = v.startsWith('checkpoint:') ? v.slice(11) : null;
  }

  async run(): Promise<void> {
    const ds = this.ctx.dataset;
    if ((!ds && !this.outputSetId) || this.ctx.busy) return;
    this.report = null;
    await flagged(this, 'running', 'error', async () => {
      const report = this.outputSetId
        ? await this.ctx.api.runOutputDiagnostics(this.outputSetId, 'all')
        : await this.ctx.api.runDiagnostics(ds!.id, $state.snapshot(this.settings));
      const lmId = this.lmId && this.lms.list.some((m) => m.id === this.lmId) ? this.lmId : null;
      if (!lmId) {
        this.report = report;
        return;
      }
      this.lmProgress = { done: 0, total: 1 };
      try {
        const lm = await this.ctx.api.decodeWithLm(
          { lmId, datasetId: ds?.id ?? '', checkpointId: this.settings.checkpointId, outputSetId: this.outputSetId },
          Comlink.proxy((done: number, total: number) => (this.lmProgress = { done, total })),
        );
        this.report = { ...report, lm };
      } catch (e) {
        this.report = report; // the checks stand; the LM part's failure is the error shown
        throw e;
      } finally {
        this.lmProgress = null;
      }
    });
  }

  /**
   * The alignment view's sample decoded with the chosen LM, at the α, β the last diagnostics run tuned
   * for it (else the search's defaults, said so).
   */
  async alignWithLm(src: { kind: 'outputs'; setId: string } | { kind: 'checkpoint'; checkpointId: string }, index: number): Promise<void> {
    const lmId = this.alignLmId,
      ds = this.ctx.dataset;
    this.alignLm = null;
    this.alignLmError = null;
    if (!lmId || this.ctx.busy) return;
    const r = this.report?.lm;
    const tuned = r?.lm.id === lmId;
    const weights = tuned ? { alpha: r!.alpha, beta: r!.beta } : { alpha: LM_BEAM_DEFAULTS.alpha, beta: LM_BEAM_DEFAULTS.beta };
    try {
      const h = await this.ctx.api.lmHypothesis(
        {
          lmId,
          datasetId: ds?.id ?? '',
          checkpointId: src.kind === 'checkpoint' ? src.checkpointId : null,
          outputSetId: src.kind === 'outputs' ? src.setId : null,
          index,
        },
        weights,
      );
      if (this.alignLmId === lmId) this.alignLm = { ...h, ...weights, tuned };
    } catch (e) {
      this.alignLmError = e instanceof Error ? e.message : String(e);
    }
  }

  /** Ends the LM decoding after the decoding of the set in progress (the checks' report stays). */
  stopLm(): void {
    void this.ctx.api.stop();
  }

  /** One decoder's hypotheses on the LM decoding's samples, as `id\treference\thypothesis` rows. */
  downloadHypotheses(decoder: 'greedy' | 'beam' | 'lm'): void {
    const lm = this.report?.lm;
    if (!lm) return;
    const stem = `${this.report!.model.source}-${lm.split}`;
    saveBytes(new TextEncoder().encode(hypothesesTsv(lm, decoder)).buffer as ArrayBuffer, hypothesesFileName(lm, decoder, stem));
  }

  download(kind: 'md' | 'json'): void {
    const r = this.report;
    if (!r) return;
    const text = kind === 'md' ? reportToMarkdown(r) : JSON.stringify(r, null, 2);
    const stamp = r.createdAt.replace(/[:.]/g, '-');
    saveBytes(new TextEncoder().encode(text).buffer as ArrayBuffer, `ctc-lab-diagnostics-${stamp}.${kind}`);
  }
}
