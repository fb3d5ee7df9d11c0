import { test, expect } from './fixtures';
import type { DiagnosticsReport } from '../src/engine/diagnose/report';

const num = (r: DiagnosticsReport, id: string, key: string) => r.checks.find((c) => c.id === id)!.numbers[key] as number;

test("the lab's own model through model outputs: export → import → the same diagnostics → alignments → CTM", async ({ lab }) => {
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
});
