import { test, expect, LabPage } from './fixtures';
import type { DiagnosticsReport } from '../src/engine/diagnose/report';
import { decodeCheckpoint } from '../src/engine/checkpoint/checkpoint';

const num = (r: DiagnosticsReport, id: string, key: string) => r.checks.find((c) => c.id === id)!.numbers[key] as number;
/** Matches labels that start with `s`, taken literally. */
const literally = (s: string) => new RegExp(`^${s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`);
const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

test("the lab's own model through model outputs: export → import → the same diagnostics → alignments → CTM; another tab follows; the checkpoint aligned on a sample; the outputs as a distillation teacher", async ({
  lab,
  context,
}) => {
  await lab.datasets.loadDemo();
  expect(await lab.overfit.run()).toContain('Overfit test passed');

  // The model diagnostics of the overfit checkpoint (its validation samples).
  const diag = lab.diagnostics;
  await diag.run({ index: 1 });
  const live = JSON.parse((await diag.downloadText(diag.button('Download report (JSON)'))).text) as DiagnosticsReport;
  expect(num(live, 'decoding', 'samples')).toBe(16);

  // Export model outputs: the same checkpoint on the val split, one .zip.
  const zip = await lab.outputs.export({ index: 1 }, 'val');
  expect(zip.name).toMatch(/^ctc-lab-outputs-Demo_seed_42_-val-ctc-lab-overfit-.*\.zip$/);
  const name = zip.name.replace(/\.zip$/, '');

  // Import it back: the report, then the stored set.
  await lab.outputs.importFiles(zip.path);
  await expect(lab.outputs.report).toContainText('16 samples (0 train, 16 val, 0 test, 0 without a split)');
  await expect(lab.outputs.report).toContainText('declared log_probs; found: 16 samples of log-probabilities kept as they are');
  await lab.outputs.store(name);

  // Diagnostics from the outputs alone equal the model diagnostics on the same samples.
  await diag.run(`Model outputs: ${name}`);
  await expect(diag.checks).toHaveCount(10);
  await expect(diag.checks.nth(3).getByRole('heading')).toContainText("4. Feasibility at T'");
  const md = (await diag.downloadText(diag.button('Download report (Markdown)'))).text;
  for (const title of [
    '1. Model outputs',
    '2. Prediction entropy',
    '3. Blank rate',
    '5. Decoding',
    '7. Tokens',
    '9. Per-sample loss',
    '10. WER by reference length',
  ]) {
    expect(md).toMatch(new RegExp(`^## ${title.replace(/[.]/g, '\\.')} — (OK|WARN|FAIL)$`, 'm'));
  }
  const fromOutputs = JSON.parse((await diag.downloadText(diag.button('Download report (JSON)'))).text) as DiagnosticsReport;
  expect(fromOutputs.outputs).toMatchObject({ name, samples: 16, subsampling: 2 });
  expect(Math.abs(num(fromOutputs, 'decoding', 'greedyWer') - num(live, 'decoding', 'greedyWer'))).toBeLessThan(1e-6);
  expect(Math.abs(num(fromOutputs, 'blank-rate', 'blankRate') - num(live, 'blank-rate', 'blankRate'))).toBeLessThan(1e-6);
  expect(Math.abs(num(fromOutputs, 'entropy', 'entropyRatio') - num(live, 'entropy', 'entropyRatio'))).toBeLessThan(1e-6);
  console.log(
    `[outputs] model diagnostics vs outputs: greedy WER ${num(live, 'decoding', 'greedyWer')} / ${num(fromOutputs, 'decoding', 'greedyWer')}, blank rate ${num(live, 'blank-rate', 'blankRate')} / ${num(fromOutputs, 'blank-rate', 'blankRate')}, entropy ${num(live, 'entropy', 'entropyRatio')} / ${num(fromOutputs, 'entropy', 'entropyRatio')}`,
  );

  // The alignment view shows the spans of a sample: one row per reference token.
  const al = lab.alignments;
  await al.align(`Model outputs: ${name}`, { index: 2 });
  const sample = await al.region
    .getByRole('combobox', { name: /^Sample/ })
    .locator('option:checked')
    .innerText();
  const reference = sample.slice(sample.indexOf(': ') + 2).split(' ');
  const spans = await al.spanRows();
  expect(spans.map((r) => r[0])).toEqual(reference);
  for (const [, out, input] of spans) {
    const [s, e] = out.split('–').map(Number),
      [is, ie] = input.split('–').map(Number);
    expect(e).toBeGreaterThan(s);
    expect([is, ie]).toEqual([2 * s, Math.min(2 * e, ie)]); // ×2 subsampling (the last span capped at the input frames)
  }

  // Download alignments (CTM) of the whole set: one line per token, times in output frames (no frame shift known).
  await al.region.getByRole('combobox', { name: /^Spans of/ }).selectOption('set');
  const ctm = await al.downloadText(al.button('Download alignments (CTM)'));
  expect(ctm.name).toMatch(/\.ctm$/);
  const lines = ctm.text.trim().split('\n');
  expect(lines[0]).toBe(';; times are output frames: the frame shift is unknown (set frame_shift_ms in outputs.json)');
  for (const l of lines.slice(1)) expect(l).toMatch(/^\S+ 1 \d+ \d+ \S+ [01]\.\d{4}$/);
  expect(lines.length - 1).toBe(num(fromOutputs, 'blank-rate', 'referenceTokens')); // every token of the 16 references

  // The same outputs imported a second time: compared on their 16 shared samples, they agree.
  await lab.outputs.importFiles(zip.path);
  await lab.outputs.report.getByRole('button', { name: 'Store model outputs' }).click();
  await expect(lab.outputs.table.getByRole('row').filter({ has: lab.page.getByRole('cell', { name, exact: true }) })).toHaveCount(2);
  await al.open();
  await al.compare.getByRole('combobox', { name: /^A/ }).selectOption({ index: 1 });
  await al.compare.getByRole('combobox', { name: /^B/ }).selectOption({ index: 2 });
  await al.compare.getByRole('button', { name: 'Compare', exact: true }).click();
  await expect(al.compare.getByRole('status')).toContainText('on 16 shared samples; A better on 0, B better on 0, equal on 16; 0 with different hypotheses');
  const rows = al.compare
    .getByRole('table', { name: 'Per-sample comparison' })
    .getByRole('row')
    .filter({ has: lab.page.getByRole('cell') });
  await expect(rows).toHaveCount(16);
  await rows
    .first()
    .getByRole('button', { name: /^Alignments of / })
    .click();
  await expect(al.compare.getByRole('img', { name: /^Posteriorgram of .* in A$/ })).toBeVisible();
  await expect(al.compare.getByRole('img', { name: /^Posteriorgram of .* in B$/ })).toBeVisible();

  // A second tab, open before the next import: output sets stored (attached to the dataset) and
  // deleted in one tab reach the other's lists, Teacher choices and diagnostics sources without a reload.
  const other = new LabPage(await context.newPage());
  await other.open('#training');
  await expect(other.training.teacherOptions(/^overfit test · /)).toHaveCount(1);
  await expect(other.training.teacherOptions(/^model outputs · /)).toHaveCount(0); // the val sets are standalone

  // The same checkpoint's outputs on every split, attached to the demo dataset: a teacher for it.
  const all = await lab.outputs.export({ index: 1 }, 'all');
  const allName = all.name.replace(/\.zip$/, '');
  await lab.outputs.importFiles(all.path, 'Demo (seed 42)');
  await expect(lab.outputs.report).toContainText('160 samples (144 train, 16 val, 0 test, 0 without a split)');
  await expect(lab.outputs.report).toContainText('Attached to dataset Demo (seed 42)');
  await lab.outputs.store(allName);
  await expect(other.training.teacherOptions(literally(`model outputs · ${allName}`))).toHaveCount(1);
  await other.diagnostics.open();
  await expect(other.diagnostics.modelOptions(`Model outputs: ${allName}`)).toHaveCount(1);
  await expect(other.diagnostics.modelOptions(`Model outputs: ${name}`)).toHaveCount(2);
  await other.outputs.open();
  await expect(other.outputs.row(allName)).toContainText('Demo (seed 42)');
  // Deleted in the other tab: gone from this tab's table and diagnostics sources.
  await other.outputs.remove(name, 1);
  await expect(other.outputs.row(name)).toHaveCount(1);
  await expect(lab.outputs.row(name)).toHaveCount(1);
  await diag.open();
  await expect(diag.modelOptions(`Model outputs: ${name}`)).toHaveCount(1);
  await other.page.close();

  // The checkpoint aligned on a dataset sample (its outputs computed in the worker) gives the
  // spans its exported outputs give for that sample: one per reference token.
  await al.align(`Model outputs: ${allName}`, '5');
  const chosen = await al.region
    .getByRole('combobox', { name: /^Sample/ })
    .locator('option:checked')
    .innerText();
  const id5 = chosen.slice(0, chosen.indexOf(': ')),
    ref5 = chosen.slice(chosen.indexOf(': ') + 2).split(' ');
  const fromSet = await al.spanRows();
  expect(fromSet.map((r) => r[0])).toEqual(ref5);
  await al.region.getByRole('combobox', { name: /^Spans of/ }).selectOption('sample');
  const ctm5 = (await al.downloadText(al.button('Download alignments (CTM)'))).text.trim().split('\n').slice(1);
  expect(ctm5).toHaveLength(ref5.length); // one line per reference token
  ctm5.forEach((l, k) => {
    const [utt, channel, start, dur, token, conf] = l.split(' ');
    const [s, e] = fromSet[k][1].split('–').map(Number);
    expect([utt, channel, Number(start), Number(dur), token]).toEqual([id5, '1', s, e - s, ref5[k]]);
    expect(Math.abs(Number(conf) - Number(fromSet[k][4]))).toBeLessThanOrEqual(0.0005 + 1e-9);
  });
  await al.alignCheckpoint(/^ctc-lab-overfit-.* on Demo \(seed 42\)$/, 5, id5);
  await expect(al.region).toContainText(`${id5}: “${ref5.join(' ')}”`);
  expect(await al.spanRows()).toEqual(fromSet);
  // Downloads are offered for output sets only; the page says how to get them for a checkpoint.
  await expect(al.button('Download alignments (CTM)')).toHaveCount(0);
  await expect(al.region).toContainText('Downloads are for model outputs: export this checkpoint');

  // The attached outputs as the Teacher of a small tcn student, one epoch on 32 training samples.
  const tr = lab.training;
  await tr.chooseTeacher(literally(`model outputs · ${allName}`));
  await expect(tr.region.getByRole('note').filter({ hasText: 'time subsampling' })).toHaveCount(0); // ×2, as the student
  await tr.start({
    Channels: 16,
    Blocks: 1,
    Epochs: 1,
    'Train subset': 32,
    'Accumulation steps': 1,
    'Warmup epochs': 0,
    'Early-stopping patience': 0,
  });
  await expect(tr.field('Distillation')).toContainText(`Distilling from model outputs ${allName} (×2)`);
  await tr.waitFinished();
  await expect(tr.distillSummary.getByRole('caption')).toContainText(/on 16 validation samples: greedy decodes equal for \d+\.\d%/);
  const summary = await tr.summaryRows();
  console.log(`[outputs] teacher from outputs: ${await tr.distillSummary.getByRole('caption').innerText()}; ${summary.map((r) => r.join(' | ')).join('; ')}`);
  // The teacher is the output set: its val WER is the overfit checkpoint's greedy WER on the same 16 samples.
  expect(summary[0]).toEqual(['Teacher', allName, 'unknown', pct(num(live, 'decoding', 'greedyWer')), 'not measured (outputs were precomputed)']);
  expect(summary[1].slice(0, 2)).toEqual(['Student', 'tcn ×2']);
  const ck = await tr.downloadText(tr.runs.first().getByRole('button', { name: 'Download last' }));
  const { meta } = decodeCheckpoint(ck.bytes, ck.name);
  expect(meta.distillation?.teacher).toMatchObject({ kind: 'outputs', name: allName, subsampling: 2 });
  expect(meta.model).toMatchObject({ preset: 'tcn', channels: 16, layers: 1 });
  expect(meta.history).toHaveLength(1);
  expect(meta.history[0].trainKd).toBeGreaterThan(0);
  expect(meta.history[0].agreement).toBeGreaterThanOrEqual(0);
});
