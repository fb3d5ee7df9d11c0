// Page objects for the lab: one per section of the page, each finding its controls by role and
// accessible name inside its own region. Specs talk to these, not to raw locators.

import { expect, type Download, type Locator, type Page } from '@playwright/test';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A section of the page, reached from the header's navigation (URL hash). */
class Section {
  readonly region: Locator;
  constructor(
    readonly page: Page,
    readonly link: string,
    heading: string,
  ) {
    this.region = page.getByRole('region', { name: heading, exact: true });
  }
  async open(): Promise<this> {
    if (!(await this.region.isVisible()))
      await this.page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: this.link, exact: true }).click();
    await expect(this.region).toBeVisible();
    return this;
  }
  button(name: string | RegExp): Locator {
    return this.region.getByRole('button', { name, exact: typeof name === 'string' });
  }
  field(name: string): Locator {
    return this.region.getByLabel(name, { exact: true });
  }
  status(text: string | RegExp): Locator {
    return this.region.getByRole('status').filter({ hasText: text });
  }
  get alert(): Locator {
    return this.region.getByRole('alert');
  }
  /** Clicks a button that starts a download and returns the download. */
  async download(button: Locator): Promise<Download> {
    const dl = this.page.waitForEvent('download');
    await button.click();
    return dl;
  }
  async downloadText(button: Locator): Promise<{ name: string; text: string; bytes: Buffer }> {
    const d = await this.download(button);
    const bytes = readFileSync((await d.path())!);
    return { name: d.suggestedFilename(), text: bytes.toString('utf8'), bytes };
  }
}

/** A section that imports files: its import report, and the table of what it stored, a row per name. */
class StoreSection extends Section {
  readonly table: Locator;
  readonly report: Locator;
  constructor(page: Page, link: string, heading: string, names: { table: string; report: string }) {
    super(page, link, heading);
    this.table = this.region.getByRole('table', { name: names.table });
    this.report = this.region.getByRole('region', { name: names.report });
  }
  row(name: string): Locator {
    return this.table.getByRole('row').filter({ has: this.page.getByRole('cell', { name, exact: true }) });
  }
}

export class DatasetsSection extends StoreSection {
  readonly inspector: Locator;
  constructor(page: Page) {
    super(page, 'Datasets', 'Datasets', { table: 'Stored datasets', report: 'Import report' });
    this.inspector = this.region.getByRole('region', { name: 'Sample inspector' });
  }
  /** Stores the built-in demo dataset and waits for its row. */
  async loadDemo(): Promise<void> {
    await this.open();
    await this.button('Load demo dataset').click();
    await expect(this.row('Demo (seed 42)')).toBeVisible();
  }
  async importFolder(dir: string): Promise<void> {
    await this.open();
    await this.field('Import folder').setInputFiles(dir);
  }
  /** Drops files on the drop zone with a real DataTransfer built in the page. */
  async drop(files: { path: string; bytes: Buffer }[]): Promise<void> {
    await this.open();
    const payload = files.map((f) => ({ name: f.path.split('/').pop()!, b64: f.bytes.toString('base64') }));
    const dt = await this.page.evaluateHandle((items) => {
      const dt = new DataTransfer();
      for (const it of items) dt.items.add(new File([Uint8Array.from(atob(it.b64), (c) => c.charCodeAt(0))], it.name));
      return dt;
    }, payload);
    await this.region.getByRole('region', { name: 'Drop a dataset here' }).dispatchEvent('drop', { dataTransfer: dt });
  }
  /** The import report appears; store the dataset. */
  async store(button = 'Store dataset'): Promise<void> {
    await expect(this.report).toBeVisible();
    await this.report.getByRole('button', { name: button }).click();
  }
  async cancel(): Promise<void> {
    await this.report.getByRole('button', { name: 'Cancel' }).click();
  }
  /** A row's cells: name, train, val, test, feature dim, vocabulary, frames, stored. */
  async cells(name: string): Promise<string[]> {
    await expect(this.row(name)).toBeVisible();
    return (await this.row(name).getByRole('cell').allInnerTexts()).map((s) => s.trim()).slice(1, -1);
  }
  async names(): Promise<string[]> {
    if ((await this.table.count()) === 0) return [];
    const rows = this.table.getByRole('row').filter({ has: this.page.getByRole('radio') });
    return Promise.all((await rows.all()).map(async (r) => (await r.getByRole('cell').nth(1).innerText()).trim()));
  }
  async inspect(name: string): Promise<void> {
    await this.button(`Inspect ${name}`).click();
    await expect(this.inspector).toBeVisible();
  }
  async rename(name: string, to: string): Promise<void> {
    this.page.once('dialog', (d) => void d.accept(to));
    await this.button(`Rename ${name}`).click();
  }
  async remove(name: string, confirm: boolean): Promise<void> {
    this.page.once('dialog', (d) => void (confirm ? d.accept() : d.dismiss()));
    await this.button(`Delete ${name}`).click();
  }
}

export class OverfitSection extends Section {
  constructor(page: Page) {
    super(page, 'Overfit test', 'Overfit test');
  }
  readonly progress = this.region.getByLabel('Overfit progress');
  readonly verdict = this.status(/Overfit test (passed|failed)/);
  readonly transcripts = this.region.getByRole('table', { name: 'Overfit transcripts' });
  readonly alerts = this.region.getByRole('list', { name: 'Training doctor alerts' });
  /** Starts the test with the given settings; returns when it has started. */
  async start(settings: { maxEpochs?: number; lr?: number; samples?: number; model?: string } = {}): Promise<void> {
    await this.open();
    if (settings.samples !== undefined) await this.field('Samples').fill(String(settings.samples));
    if (settings.maxEpochs !== undefined) await this.field('Max epochs').fill(String(settings.maxEpochs));
    if (settings.lr !== undefined) await this.field('Learning rate').fill(String(settings.lr));
    if (settings.model !== undefined) await this.region.getByRole('combobox', { name: 'Model' }).selectOption(settings.model);
    await this.button('Run overfit test').click();
  }
  /** Runs the test to its verdict and returns the verdict's text. */
  async run(settings: Parameters<OverfitSection['start']>[0] = {}): Promise<string> {
    await this.start(settings);
    await expect(this.verdict).toBeVisible({ timeout: 240_000 });
    return (await this.verdict.innerText()).replace(/\s+/g, ' ');
  }
  /** Reference and hypothesis of each row of the transcripts table. */
  async transcriptPairs(): Promise<[string, string][]> {
    const rows = this.transcripts.getByRole('row').filter({ has: this.page.getByRole('cell') });
    return Promise.all((await rows.all()).map(async (r) => (await r.getByRole('cell').allInnerTexts()) as [string, string]));
  }
}

export class TrainingSection extends Section {
  constructor(page: Page) {
    super(page, 'Training', 'Training');
  }
  readonly statusLine = this.region.getByLabel('Training status');
  readonly progress = this.region.getByLabel('Training progress');
  /** The Forecast note under the charts: the learning-curve forecast, or why it is withheld. */
  readonly forecast = this.region.getByRole('note', { name: 'Forecast' });
  /** A chart with its legend (the figure around the SVG named `title`). */
  chart(title: string): Locator {
    return this.region.getByRole('figure').filter({ has: this.page.getByRole('img', { name: title, exact: true }) });
  }
  /** The Speed block's stage table (a step profiled after the warm-up steps) and its method line. */
  readonly speedStages = this.region.getByRole('table', { name: 'Time per step by stage' });
  readonly speedMethod = this.region.getByLabel('Speed measurement method');
  readonly runs = this.region
    .getByRole('table', { name: 'Training runs' })
    .getByRole('row')
    .filter({ has: this.page.getByRole('cell') });
  /** A group of the training form, by its legend (Model, Optimisation, …). */
  group(legend: string): Locator {
    return this.region.getByRole('group', { name: legend, exact: true });
  }
  /**
   * Tabs from the form's first input (Model) until the focus leaves the form's groups; returns the
   * groups met, in order, and the controls met that have no hint (no aria-describedby text).
   */
  async tabThroughForm(): Promise<{ groups: string[]; undescribed: string[] }> {
    await this.open();
    await this.region.getByRole('combobox', { name: /^Model/ }).focus();
    const groups: string[] = [];
    const undescribed: string[] = [];
    for (let i = 0; i < 100; i++) {
      const at = await this.page.evaluate(() => {
        const el = document.activeElement;
        const legend = el?.closest('fieldset:has(> legend)')?.querySelector(':scope > legend');
        const hints = (el?.getAttribute('aria-describedby') ?? '').split(' ').map((id) => document.getElementById(id)?.textContent?.trim());
        return { group: legend?.textContent?.trim() ?? null, name: el?.closest('label')?.textContent?.trim() ?? '', described: hints.some((h) => h) };
      });
      if (at.group === null) break;
      if (groups.at(-1) !== at.group) groups.push(at.group);
      if (!at.described) undescribed.push(at.name);
      await this.page.keyboard.press('Tab');
    }
    return { groups, undescribed };
  }
  /** Fills form fields by their labels (e.g. { Epochs: 4, 'Warmup epochs': 0 }). */
  async fill(fields: Record<string, string | number>): Promise<void> {
    await this.open();
    for (const [name, value] of Object.entries(fields)) await this.field(name).fill(String(value));
  }
  async chooseModel(preset: string): Promise<void> {
    await this.open();
    await this.region.getByRole('combobox', { name: /^Model/ }).selectOption(preset);
  }
  /** The Teacher choices whose label matches (distillation). */
  teacherOptions(label: RegExp): Locator {
    return this.region.getByRole('combobox', { name: 'Teacher' }).getByRole('option', { name: label });
  }
  /** Chooses the teacher whose option label matches (distillation), waiting for the list. */
  async chooseTeacher(label: RegExp): Promise<void> {
    await this.open();
    const select = this.region.getByRole('combobox', { name: 'Teacher' });
    const option = this.teacherOptions(label);
    await expect(option).toHaveCount(1);
    await select.selectOption({ label: (await option.innerText()).trim() });
  }
  get distillSummary(): Locator {
    return this.region.getByRole('table', { name: 'Distillation summary' });
  }
  /** The distillation summary's rows: [who, model, parameters, val WER, inference per sample]. */
  async summaryRows(): Promise<string[][]> {
    const rows = this.distillSummary.getByRole('row').filter({ has: this.page.getByRole('cell') });
    return Promise.all(
      (await rows.all()).map(async (r) => [
        (await r.getByRole('rowheader').innerText()).trim(),
        ...(await r.getByRole('cell').allInnerTexts()).map((x) => x.trim()),
      ]),
    );
  }
  async start(fields: Record<string, string | number> = {}): Promise<void> {
    await this.fill(fields);
    await this.button('Start training').click();
  }
  /** Waits until the run ends 'finished'. */
  async waitFinished(timeout = 240_000): Promise<void> {
    await expect(this.runEnded('finished')).toBeVisible({ timeout });
  }
  /** Starts a run and waits until it has finished. */
  async train(fields: Record<string, string | number> = {}): Promise<void> {
    await this.start(fields);
    await this.waitFinished();
  }
  /** Resumes the run of a row of the runs table and waits until it has finished. */
  async resume(row: Locator): Promise<void> {
    await row.getByRole('button', { name: 'Resume run' }).click();
    await this.waitFinished();
  }
  /** The run's end as the page states it (finished, stopped, …). */
  runEnded(status: string): Locator {
    return this.status(new RegExp(`Run run-\\S+ ${status}`));
  }
  async stop(): Promise<void> {
    await this.button('Stop training').click();
    await expect(this.runEnded('stopped')).toBeVisible({ timeout: 120_000 });
  }
  /** A run row's cells: overlay, run, status, epochs, best val WER, last train loss. */
  cell(row: Locator, column: 'run' | 'status' | 'epochs' | 'best' | 'loss'): Locator {
    return row.getByRole('cell').nth({ run: 1, status: 2, epochs: 3, best: 4, loss: 5 }[column]);
  }
  async importCheckpoint(file: string): Promise<void> {
    await this.open();
    await this.field('Import checkpoint').setInputFiles(file);
  }
  /** Opens a run's "Continue in PyTorch" and returns the command lines it shows. */
  async pytorchCommands(row: Locator): Promise<string[]> {
    await row.getByRole('button', { name: 'Continue in PyTorch' }).click();
    const run = (await this.cell(row, 'run').innerText()).trim();
    const pre = this.region.getByRole('region', { name: `Continue ${run} in PyTorch` }).getByLabel('PyTorch commands');
    await expect(pre).toBeVisible();
    return (await pre.innerText()).split('\n').filter((l) => l.trim() !== '');
  }
}

export class DiagnosticsSection extends Section {
  constructor(page: Page) {
    super(page, 'Diagnostics', 'Diagnostics');
  }
  readonly checks = this.region.getByRole('list', { name: 'Diagnostics checks' }).getByRole('listitem');
  readonly done = this.status('Diagnostics finished');
  /** Runs diagnostics on the model chosen by its option label (or the fresh model) and waits for the report. */
  async run(model?: { index: number } | string): Promise<void> {
    await this.open();
    if (model !== undefined) await this.region.getByRole('combobox', { name: 'Model' }).selectOption(model);
    await this.button('Run diagnostics').click();
    await expect(this.done).toBeVisible({ timeout: 120_000 });
  }
  /** The decoding with a language model (when one was chosen). */
  readonly lm = this.region.getByRole('region', { name: /^Decoding with the language model/ });
  /** Chooses the language model to decode with (its name), or none. */
  async chooseLm(name: string | null): Promise<void> {
    await this.open();
    await this.region.getByRole('combobox', { name: 'Decode with LM' }).selectOption(name === null ? { index: 0 } : { label: name });
  }
  /** The Model choices (fresh, checkpoints, 'Model outputs: …') whose label matches. */
  modelOptions(label: string | RegExp): Locator {
    return this.region.getByRole('combobox', { name: 'Model' }).getByRole('option', { name: label, exact: typeof label === 'string' });
  }
}

/** Language models (in the Datasets section): build from the transcripts, the stored list. */
export class LmsSection extends Section {
  readonly table: Locator;
  constructor(page: Page) {
    super(page, 'Datasets', 'Language models');
    this.table = this.region.getByRole('table', { name: 'Language models' });
  }
  row(name: string): Locator {
    return this.table.getByRole('row').filter({ has: this.page.getByRole('cell', { name, exact: true }) });
  }
  /** Builds an LM of the given order from the selected dataset's training transcripts and waits for its row. */
  async build(order = 3): Promise<Locator> {
    await this.open();
    await this.region.getByRole('combobox', { name: 'Order' }).selectOption(String(order));
    await this.button('Build from training transcripts').click();
    const row = this.row(`${order}-gram of the training transcripts`);
    await expect(row).toBeVisible({ timeout: 30_000 });
    return row;
  }
}

/** Model outputs (in the Datasets section): import, the stored sets, Export model outputs. */
export class OutputsSection extends StoreSection {
  constructor(page: Page) {
    super(page, 'Datasets', 'Model outputs', { table: 'Stored model outputs', report: 'Model outputs report' });
  }
  /** Imports model outputs, attached to the stored dataset named `attachTo` (kept for later imports), or as the form stands. */
  async importFiles(files: string | string[], attachTo?: string): Promise<void> {
    await this.open();
    if (attachTo !== undefined) await this.region.getByRole('combobox', { name: /^Attach to/ }).selectOption({ label: attachTo });
    await this.field('Import model outputs').setInputFiles(files);
  }
  /** Deletes the set in the `nth` row named `name` (confirming). */
  async remove(name: string, nth = 0): Promise<void> {
    this.page.once('dialog', (d) => void d.accept());
    await this.row(name)
      .nth(nth)
      .getByRole('button', { name: `Delete ${name}`, exact: true })
      .click();
  }
  /** The report appears; store the set and wait for its row. */
  async store(name: string): Promise<void> {
    await expect(this.report).toBeVisible();
    await this.report.getByRole('button', { name: 'Store model outputs' }).click();
    await expect(this.row(name)).toBeVisible();
  }
  /** Export model outputs of a checkpoint (option label or index) on a split; returns the saved .zip. */
  async export(checkpoint: string | { index: number }, split: string): Promise<{ name: string; path: string }> {
    await this.open();
    await this.region.getByRole('combobox', { name: /^Checkpoint/ }).selectOption(checkpoint);
    await this.region.getByRole('combobox', { name: /^Split/ }).selectOption(split);
    const d = await this.download(this.button('Export model outputs'));
    // Saved under its own name: the importer tells a .zip by its extension, as a user's file has one.
    const path = join(mkdtempSync(join(tmpdir(), 'ctc-lab-e2e-')), d.suggestedFilename());
    await d.saveAs(path);
    return { name: d.suggestedFilename(), path };
  }
}

/** The Alignments section: an output set's (or a checkpoint's) sample aligned, spans, downloads, comparison. */
export class AlignmentsSection extends Section {
  constructor(page: Page) {
    super(page, 'Alignments', 'Alignments');
  }
  readonly spans = this.region.getByRole('table', { name: 'Token spans' });
  readonly compare = this.page.getByRole('region', { name: 'Compare model outputs', exact: true });
  /** Aligns a sample of a source chosen by its option label (e.g. 'Model outputs: name'). */
  async align(source: string, sample?: { index: number } | string): Promise<void> {
    await this.open();
    await this.region.getByRole('combobox', { name: /^Align/ }).selectOption(source);
    if (sample !== undefined) await this.region.getByRole('combobox', { name: /^Sample/ }).selectOption(sample);
    await expect(this.region.getByRole('img', { name: /^Posteriorgram of / })).toBeVisible();
  }
  /** The Align choices (model-output sets, stored checkpoints) whose label matches. */
  sourceOptions(label: string | RegExp): Locator {
    return this.region.getByRole('combobox', { name: /^Align/ }).getByRole('option', { name: label, exact: typeof label === 'string' });
  }
  /**
   * Aligns sample `index` of the selected dataset with the one stored checkpoint whose option
   * matches (the checkpoint's outputs computed in the worker); waits for that sample's posteriorgram.
   */
  async alignCheckpoint(checkpoint: RegExp, index: number, sampleId: string): Promise<void> {
    await this.open();
    const option = this.sourceOptions(checkpoint);
    await expect(option).toHaveCount(1);
    await this.region.getByRole('combobox', { name: /^Align/ }).selectOption({ label: (await option.innerText()).trim() });
    // Choosing it aligns sample 0 first: wait for that job to end before asking for another.
    await expect(this.region.getByRole('img', { name: /^Posteriorgram of / })).toBeVisible();
    await expect(this.status('Aligning…')).toHaveCount(0);
    const input = this.region.getByRole('spinbutton', { name: 'Sample index' });
    await input.fill(String(index));
    await input.blur(); // the page aligns on change
    await expect(this.region.getByRole('img', { name: `Posteriorgram of ${sampleId}`, exact: true })).toBeVisible();
    await expect(this.status('Aligning…')).toHaveCount(0);
  }
  /** The spans table's rows: token, output frames, input frames, seconds, mean posterior. */
  async spanRows(): Promise<string[][]> {
    const rows = this.spans.getByRole('row').filter({ has: this.page.getByRole('cell') });
    return Promise.all((await rows.all()).map(async (r) => (await r.getByRole('cell').allInnerTexts()).map((s) => s.trim()).slice(1)));
  }
}

/** The fix sweep on the Training section: the builder, the shown sweep's status, its trials table. */
export class SweepSection extends Section {
  constructor(page: Page) {
    super(page, 'Training', 'Training');
  }
  readonly statusLine = this.region.getByRole('status', { name: 'Sweep status' });
  readonly trials = this.region
    .getByRole('table', { name: 'Sweep trials' })
    .getByRole('row')
    .filter({ has: this.page.getByRole('cell') });
  /** Opens the builder, checks the named changes, sets the rungs and starts the sweep. */
  async start(changes: string[], rungs: { first: number; eta: number; length: number }): Promise<void> {
    await this.open();
    await this.button('Sweep…').click();
    const builder = this.region.getByRole('group', { name: 'Sweep builder' });
    for (const c of changes) await builder.getByRole('group', { name: 'Changes to try' }).getByLabel(c, { exact: true }).check();
    await builder.getByLabel('First rung (epochs)').fill(String(rungs.first));
    await builder.getByLabel('η', { exact: true }).fill(String(rungs.eta));
    await builder.getByLabel('Trial length (epochs)').fill(String(rungs.length));
    await builder.getByRole('button', { name: 'Start sweep' }).click();
  }
  /** Import sweep results: the twin's trials.jsonl (and its spec) picked together. */
  async importResults(files: string[]): Promise<void> {
    await this.open();
    await this.region.getByLabel('Import sweep results').setInputFiles(files);
  }
  /** The trials table: [trial, changes, metric per rung…, best, state]. */
  async rows(): Promise<string[][]> {
    return Promise.all((await this.trials.all()).map(async (r) => (await r.getByRole('cell').allInnerTexts()).map((x) => x.trim()).slice(0, -1)));
  }
}

export class LabPage {
  readonly backend: Locator;
  readonly selectedDataset: Locator;
  readonly datasets: DatasetsSection;
  readonly overfit: OverfitSection;
  readonly training: TrainingSection;
  readonly diagnostics: DiagnosticsSection;
  readonly outputs: OutputsSection;
  readonly alignments: AlignmentsSection;
  readonly lms: LmsSection;
  readonly sweep: SweepSection;
  constructor(readonly page: Page) {
    this.backend = page.getByRole('region', { name: 'Compute backend' });
    this.selectedDataset = page.getByLabel('Selected dataset');
    this.datasets = new DatasetsSection(page);
    this.overfit = new OverfitSection(page);
    this.training = new TrainingSection(page);
    this.diagnostics = new DiagnosticsSection(page);
    this.outputs = new OutputsSection(page);
    this.alignments = new AlignmentsSection(page);
    this.lms = new LmsSection(page);
    this.sweep = new SweepSection(page);
  }
  /** Opens the lab (optionally at a section's hash) and waits for the compute backend. */
  async open(hash = ''): Promise<void> {
    await this.page.goto(`/${hash}`);
    await expect(this.backend).not.toContainText('starting');
  }
  async reload(): Promise<void> {
    await this.page.reload();
    await expect(this.backend).not.toContainText('starting');
  }
}
