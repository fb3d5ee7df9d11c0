// Page state of the fix sweep on the Training section: the builder (a checklist of named changes
// over a base — the form or a stored run — and the rungs), the dataset's stored sweeps, the one
// shown (updated after every trial-epoch decision while it runs), start / pause / resume / stop,
// Download sweep (the spec JSON), Import sweep results (the twin's trials.jsonl), Try these fixes
// (from a diagnostics report or a doctor alert) and Train this one fully.

import * as Comlink from 'comlink';
import {
  parseSweepSpec,
  SWEEP_FORMAT,
  sweepFromFixes,
  sweepSpecJson,
  TRAIN_DEFAULTS,
  type NamedFix,
  type SweepInfo,
  type SweepSpec,
  type TrainConfig,
  type Variation,
} from '../worker/api';
import { message } from './context';
import { saveBytes } from './files';
import type { TrainingState } from './training.svelte';

/** The builder's checklist: named changes from the base (SWEEP_SETTINGS; augmentation and averaging are not sweep settings yet). */
export const CHOICES: Variation[] = [
  { name: 'lr ×⅓', changes: [{ setting: 'lr', scale: 1 / 3 }] },
  { name: 'lr ×3', changes: [{ setting: 'lr', scale: 3 }] },
  { name: 'dropout 0.1', changes: [{ setting: 'dropout', value: 0.1 }] },
  { name: 'dropout 0.3', changes: [{ setting: 'dropout', value: 0.3 }] },
  {
    name: 'AdamW, weight decay 0.0001',
    changes: [
      { setting: 'optimizer', value: 'adamw' },
      { setting: 'weightDecay', value: 1e-4 },
    ],
  },
  { name: 'patience ×2', changes: [{ setting: 'patience', scale: 2 }] },
  { name: 'preset tconv-bilstm', changes: [{ setting: 'preset', value: 'tconv-bilstm' }] },
  { name: 'preset transformer', changes: [{ setting: 'preset', value: 'transformer' }] },
  { name: '×4 subsampling', changes: [{ setting: 'subsampling', value: 4 }] },
];

/** "Try these fixes" from another section (the diagnostics report): picked up by the Training section's sweep view. */
export const fixesInbox = $state<{ fixes: NamedFix[] | null; runId: string | null }>({ fixes: null, runId: null });

export class SweepState {
  sweeps = $state.raw<SweepInfo[]>([]);
  shownId = $state<string | null>(null);
  running = $state(false);
  paused = $state(false);
  error = $state<string | null>(null);
  notice = $state<string | null>(null);
  // The builder
  open = $state(false);
  picked = $state<string[]>([]); // CHOICES' names, and the fixes' variations while they are offered
  extra = $state.raw<Variation[]>([]); // variations from Try these fixes (beyond CHOICES)
  notSweepable = $state.raw<NamedFix[]>([]);
  baseRunId = $state<string>(''); // '' = the training form
  rungs = $state({ minEpochs: 1, eta: 3, maxEpochs: 9 });
  metric = $state<SweepSpec['metric']>('val_wer');
  name = $state('fix sweep');

  shown = $derived(this.sweeps.find((s) => s.id === this.shownId) ?? null);

  constructor(private readonly training: TrainingState) {}

  get api() {
    return this.training.api;
  }

  /** Choices offered in the builder: the fixed checklist and those a report's fixes added. */
  get choices(): Variation[] {
    return [...this.extra.filter((v) => !CHOICES.some((c) => c.name === v.name)), ...CHOICES];
  }

  get canStart(): boolean {
    return this.training.canRun && !this.running;
  }

  async refresh(): Promise<void> {
    const ds = this.training.dataset;
    this.sweeps = ds ? await this.api.listSweeps(ds.id) : [];
    if (this.shownId && !this.sweeps.some((s) => s.id === this.shownId)) this.shownId = null;
    this.shownId ??= this.sweeps[0]?.id ?? null;
  }

  /** The base config: the chosen stored run's, or the form's. */
  baseConfig(): TrainConfig {
    const run = this.training.runs.find((r) => r.id === this.baseRunId);
    return { ...TRAIN_DEFAULTS, ...(run ? run.config : $state.snapshot(this.training.config)) };
  }

  /** The spec the builder describes (validated: a bad field throws, naming it). */
  spec(): SweepSpec {
    const { epochs: _epochs, ...base } = this.baseConfig();
    return parseSweepSpec({
      format: SWEEP_FORMAT,
      base,
      variations: this.choices.filter((v) => this.picked.includes(v.name)),
      rungs: $state.snapshot(this.rungs),
      metric: this.metric,
      seed: base.seed,
    });
  }

  /** Try these fixes: the fixes' variations checked in the builder, the current run (else the form) as base. */
  tryFixes(fixes: NamedFix[], runId: string | null = null): void {
    // The diagnosed checkpoint's run, else the run on show (the doctor's), else the form.
    const run = this.training.runs.find((r) => r.id === runId) ?? this.training.run ?? null;
    this.baseRunId = run && this.training.runs.some((r) => r.id === run.id) ? run.id : '';
    const { variations, notSweepable } = sweepFromFixes(fixes, this.baseConfig());
    this.extra = variations;
    this.picked = variations.map((v) => v.name);
    this.notSweepable = notSweepable;
    this.name = 'fixes';
    this.open = true;
    this.error = null;
  }

  /** Stores the builder's sweep and runs it. */
  async start(): Promise<void> {
    const ds = this.training.dataset;
    if (!ds) return;
    this.error = null;
    let created: SweepInfo;
    try {
      created = await this.api.createSweep(ds.id, this.name || 'fix sweep', this.spec(), this.baseRunId || null);
    } catch (e) {
      this.error = message(e);
      return;
    }
    this.open = false;
    this.shownId = created.id;
    await this.run(created.id);
  }

  /** Runs (or resumes) a stored sweep. */
  async run(id: string): Promise<void> {
    this.running = true;
    this.paused = false;
    this.error = null;
    this.shownId = id;
    try {
      const done = await this.api.runSweep(
        id,
        Comlink.proxy((s: SweepInfo) => this.update(s)),
      );
      this.update(done);
    } catch (e) {
      this.error = message(e);
    } finally {
      this.running = false;
      await this.refresh();
      await this.training.refreshRuns();
    }
  }

  private update(s: SweepInfo): void {
    this.sweeps = this.sweeps.some((x) => x.id === s.id) ? this.sweeps.map((x) => (x.id === s.id ? s : x)) : [s, ...this.sweeps];
  }

  pause(): void {
    this.paused = true;
    void this.api.pause();
  }

  unpause(): void {
    this.paused = false;
    void this.api.unpause();
  }

  stop(): void {
    void this.api.stop();
  }

  async remove(id: string): Promise<void> {
    try {
      await this.api.deleteSweep(id);
    } catch (e) {
      this.error = message(e);
    }
    await this.refresh();
  }

  /** Download sweep: the builder's spec (or the shown sweep's), validated, as JSON. */
  download(from: 'builder' | 'shown'): void {
    try {
      const s = this.shown;
      const spec = from === 'shown' && s?.spec ? parseSweepSpec(s.spec) : this.spec();
      const text = sweepSpecJson(spec);
      saveBytes(new TextEncoder().encode(text).buffer, `ctc-lab-sweep-${(from === 'shown' && s ? s.name : this.name).replace(/[^A-Za-z0-9_-]+/g, '_')}.json`);
    } catch (e) {
      this.error = message(e);
    }
  }

  /** Import sweep results: the twin's trials.jsonl (and its spec, if picked with it). */
  async importResults(files: File[]): Promise<void> {
    const ds = this.training.dataset;
    if (!ds || !files.length) return;
    this.error = null;
    try {
      const texts = await Promise.all(files.map(async (f) => ({ name: f.name, text: await f.text() })));
      const s = await this.api.importSweepResults(ds.id, `imported ${files.map((f) => f.name).join(' + ')}`, texts);
      this.update(s);
      this.shownId = s.id;
    } catch (e) {
      this.error = message(e);
    }
  }

  /** Train this one fully: a new run from the trial's config at the form's full length (the form takes the trial's settings). */
  async trainFully(trial: number): Promise<void> {
    const t = this.shown?.trials[trial];
    if (!t) return;
    const epochs = this.training.config.epochs;
    // A lab trial's config holds its changes; an imported one has only its changes (over the spec's base when imported with it).
    const base = this.shown?.spec?.base ?? {};
    this.training.config = { ...TRAIN_DEFAULTS, ...$state.snapshot(this.training.config), ...base, ...t.config, ...t.changes, epochs };
    await this.training.start();
  }
}
