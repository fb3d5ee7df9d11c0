import { test, expect } from './fixtures';
import type { DiagnosticsReport } from '../src/engine/diagnose/report';

const SECTIONS = [
  '1. Model outputs',
  '2. Prediction entropy',
  '3. Blank rate',
  '4. Gradient flow',
  '5. Dataset quality',
  '6. Decoding',
  '7. Loss against the uniform baseline',
  '8. Overfit test',
  '9. Early-stopping settings',
  '10. Generalisation',
];

test('diagnostics on the demo: ten checks on the page, the report downloads as Markdown and JSON', async ({ lab }) => {
  await lab.datasets.loadDemo();
  const diag = lab.diagnostics;
  await diag.run();
  await expect(diag.checks).toHaveCount(10);
  for (const [i, title] of SECTIONS.entries()) await expect(diag.checks.nth(i).getByRole('heading')).toContainText(title);
  // The overfit test has not run yet: said so, with the way to run it.
  await expect(diag.checks.nth(7)).toContainText('not run for this dataset');
  await expect(diag.region.getByRole('img', { name: 'Gradient norms per parameter' })).toBeVisible();
  // Per-sample view: reference vs hypothesis, sorted by error rate (highest first).
  await diag.region.getByText('Per-sample errors (16 samples)').click();
  const errRows = diag.region
    .getByRole('table', { name: 'Per-sample errors' })
    .getByRole('row')
    .filter({ has: lab.page.getByRole('cell') });
  await expect(errRows).toHaveCount(16);
  const rates = await Promise.all((await errRows.all()).map(async (r) => parseInt(await r.getByRole('cell').nth(1).innerText(), 10)));
  expect(rates).toEqual([...rates].sort((a, b) => b - a));

  const md = await diag.downloadText(diag.button('Download report (Markdown)'));
  expect(md.name).toMatch(/\.md$/);
  expect(md.text).toContain('# CTC Lab diagnostics report');
  for (const title of SECTIONS) expect(md.text).toMatch(new RegExp(`^## ${title.replace(/[.]/g, '\\.')} — (OK|WARN|FAIL|INFO)$`, 'm'));

  const report = JSON.parse((await diag.downloadText(diag.button('Download report (JSON)'))).text) as DiagnosticsReport;
  expect(report.format).toBe('ctc-lab-diagnostics/1');
  expect(report.checks.map((c) => c.n)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  expect(report.backend).toBe('webgpu');
  expect(report.dataset).toMatchObject({ trainSamples: 144, valSamples: 16, vocabSize: 8, featureDim: 12 });
  const byId = Object.fromEntries(report.checks.map((c) => [c.id, c]));
  expect(byId.outputs.status).toBe('ok');
  expect(byId.dataset.status).toBe('ok');
  // Untrained model: loss near the exact uniform-prediction baseline.
  expect(byId['initial-loss'].numbers.ratio as number).toBeGreaterThan(0.7);
  expect(byId['initial-loss'].numbers.ratio as number).toBeLessThan(1.5);
});

test('diagnostics on the overfit checkpoint: loads it, and the overfit check reports the pass', async ({ lab }) => {
  await lab.datasets.loadDemo();
  expect(await lab.overfit.run()).toContain('Overfit test passed');

  const diag = lab.diagnostics;
  await diag.run({ index: 1 });
  await expect(diag.checks.nth(7)).toContainText('passed after');
  await expect(diag.checks.nth(7)).toContainText('OK');
  // Generalisation: it memorised its 5 samples and carries nothing over (engine/diagnose/generalisation.ts).
  await expect(diag.checks.nth(9).getByRole('heading')).toContainText('10. Generalisation Fail');
  await expect(diag.checks.nth(9)).toContainText("The overfit test's checkpoint");
  await expect(diag.done).toContainText('.safetensors');
});
