// Page state of diagnostics: the request (which model — fresh, a stored checkpoint, or an imported
// model-output set — and which early-stopping settings to judge; defaults from the worker), the
// report, and its downloads.

import { DIAGNOSE_DEFAULTS, reportToMarkdown, type DiagnosticsReport, type DiagnosticsRequest } from '../worker/api';
import { flagged, JobFeature } from './job';
import { saveBytes } from './files';

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

  /** A dataset (or an output set) is chosen, the backend is up and no other job runs in this tab. */
  canRun = $derived.by(() => (this.ctx.dataset !== null || this.outputSetId !== null) && this.ctx.ready && !this.ctx.busy);

  /** Forgets what belonged to the previously selected dataset. */
  reset(): void {
    this.report = null;
    this.error = null;
    this.settings.checkpointId = null;
    this.outputSetId = null;
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
      if (this.outputSetId) this.report = await this.ctx.api.runOutputDiagnostics(this.outputSetId, 'all');
      else this.report = await this.ctx.api.runDiagnostics(ds!.id, $state.snapshot(this.settings));
    });
  }

  download(kind: 'md' | 'json'): void {
    const r = this.report;
    if (!r) return;
    const text = kind === 'md' ? reportToMarkdown(r) : JSON.stringify(r, null, 2);
    const stamp = r.createdAt.replace(/[:.]/g, '-');
    saveBytes(new TextEncoder().encode(text).buffer as ArrayBuffer, `ctc-lab-diagnostics-${stamp}.${kind}`);
  }
}
