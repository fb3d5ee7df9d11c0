import { test, expect } from './fixtures';
import { decodeCheckpoint } from '../src/engine/checkpoint/checkpoint';
import { shellWord } from '../src/client/pytorch';

test('demo → overfit test → a smaller tcn student distilled from that checkpoint: KL and agreement while training, the summary with both WERs, the teacher in the student checkpoint', async ({
  lab,
}) => {
  await lab.datasets.loadDemo();
  expect(await lab.overfit.run()).toContain('Overfit test passed');
  const teacherFile = (await lab.overfit.downloadText(lab.overfit.button('Download checkpoint'))).name;

  const tr = lab.training;
  await tr.open();
  await tr.chooseTeacher(/^overfit test/);
  // The four settings with VAC's defaults, each explained.
  const kd = tr.region.getByRole('group', { name: 'Distillation settings' });
  await expect(tr.field('Distillation weight')).toHaveValue('25');
  await expect(tr.field('CTC weight')).toHaveValue('1');
  await expect(tr.field('Temperature')).toHaveValue('8');
  await expect(kd.getByRole('checkbox', { name: 'Leave the blank out of the KL' })).toBeChecked();
  await expect(kd).toContainText('τ² factor keeps gradients the same size');

  // A ×4 student cannot match the ×2 overfit teacher: the form says so before the run refuses.
  const subsampling = tr.region.getByRole('combobox', { name: /^Time subsampling/ });
  await subsampling.selectOption('×4');
  await expect(tr.region.getByRole('note').filter({ hasText: "teacher's time subsampling is ×2, the student's ×4" })).toBeVisible();
  await subsampling.selectOption('×2');
  await expect(tr.region.getByRole('note').filter({ hasText: 'time subsampling' })).toHaveCount(0);

  await tr.start({
    Channels: 24,
    Blocks: 2,
    Epochs: 3,
    'Accumulation steps': 1,
    'Peak learning rate': 0.003,
    'Warmup epochs': 0,
    'Early-stopping patience': 0,
  });
  await expect(tr.field('Distillation')).toContainText(`Distilling from checkpoint ${teacherFile}`);
  await expect(tr.region.getByRole('img', { name: 'Distillation KL' })).toBeVisible({ timeout: 120_000 });
  await expect(tr.region.getByRole('img', { name: 'Student–teacher agreement' })).toBeVisible({ timeout: 120_000 });
  await tr.waitFinished(300_000);

  const summary = tr.distillSummary;
  await expect(summary).toBeVisible();
  await expect(summary.getByRole('caption')).toContainText(/on 16 validation samples: greedy decodes equal for \d+\.\d%/);
  const rows = await tr.summaryRows();
  console.log(`[e2e] ${await summary.getByRole('caption').innerText()}; ${rows.map((r) => r.join(' | ')).join('; ')}`);
  expect(rows.map((r) => r[0])).toEqual(['Teacher', 'Student']);
  const [teacher, student] = rows;
  expect(teacher[1]).toContain(teacherFile);
  for (const r of rows) {
    expect(r[3]).toMatch(/^\d+\.\d%$/); // val WER
    expect(r[4]).toMatch(/^\d+\.\d\d ms$/); // inference per sample, measured in the worker
  }
  expect(student[1]).toBe('tcn ×2');
  expect(Number(student[2].replace(/,/g, ''))).toBeLessThan(Number(teacher[2].replace(/,/g, '')));

  // The student's checkpoint records its teacher and the KD settings.
  const { name, bytes } = await tr.downloadText(tr.runs.first().getByRole('button', { name: 'Download last' }));
  const { meta } = decodeCheckpoint(bytes, name);
  expect(meta.distillation).toMatchObject({
    kdWeight: 25,
    ctcWeight: 1,
    temperature: 8,
    excludeBlank: true,
    teacher: { kind: 'checkpoint', name: teacherFile, subsampling: 2, model: { preset: 'tcn', channels: 64 } },
  });
  expect(meta.model).toMatchObject({ preset: 'tcn', channels: 24, layers: 2 });
  for (const h of meta.history) {
    expect(h.trainKd).toBeGreaterThan(0);
    expect(h.agreement).toBeGreaterThanOrEqual(0);
  }

  // Continue in PyTorch: the line passes the teacher checkpoint, which can be downloaded from there.
  const lines = await tr.pytorchCommands(tr.runs.first());
  expect(lines[1]).toMatch(/^torchrun --nproc_per_node 2 -m ctc_lab train /);
  expect(lines[1].endsWith(` --teacher ${shellWord(teacherFile)}`), lines[1]).toBe(true);
  const note = tr.region.getByLabel('Teacher for PyTorch');
  await expect(note).toContainText(`the checkpoint ${teacherFile}`);
  expect((await tr.downloadText(note.getByRole('button', { name: 'Download teacher' }))).name).toBe(teacherFile);
});
