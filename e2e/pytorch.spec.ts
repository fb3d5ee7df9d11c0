// A run that goes to PyTorch and comes back: python/ctc_lab trains under torchrun (2 processes,
// gloo on the CPU), spawned from this spec; the lab imports the checkpoint, shows how to continue
// it in PyTorch, the spec runs exactly that torchrun line, the lab imports the result, resumes the
// run (the next epoch trains in the browser) and runs diagnostics on its checkpoint.
// Needs Debian's python3-torch at /usr/bin/python3 (or CTC_LAB_PYTHON): skipped without it,
// a failure under CI=true.

import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test, expect, writeDatasetFolder } from './fixtures';

const PY = process.env.CTC_LAB_PYTHON ?? '/usr/bin/python3';
const HAVE_TORCH = spawnSync(PY, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
const PYTHON_DIR = resolve('python');

/** Runs a torchrun command line as the page shows it ("torchrun …"), through ctc_lab.torchrun
 * (Debian's torch 1.13 under Python 3.11 has a broken torchrun; README) on a free port. */
function torchrun(line: string, cwd: string): string {
  const args = line.trim().split(/\s+/);
  expect(args[0]).toBe('torchrun');
  const r = spawnSync(PY, ['-m', 'ctc_lab.torchrun', '--standalone', ...args.slice(1)], {
    cwd,
    env: { ...process.env, PYTHONPATH: PYTHON_DIR, OMP_NUM_THREADS: '1' },
    encoding: 'utf8',
    timeout: 150_000,
  });
  expect(r.status, `${r.stdout}\n${r.stderr}`.slice(-4000)).toBe(0);
  return r.stdout;
}

test('a torchrun checkpoint imports, the page says how to continue in PyTorch, that line runs, the result resumes in the lab and diagnoses', async ({
  lab,
}, testInfo) => {
  test.skip(!HAVE_TORCH && process.env.CI !== 'true', `${PY} has no torch (python3-torch)`);
  expect(HAVE_TORCH, `${PY} -c "import torch" failed`).toBe(true);
  const { dir } = writeDatasetFolder(testInfo.outputPath('speech'), { n: 12, F: 6, splits: true });
  await lab.datasets.importFolder(dir);
  await lab.datasets.store();
  await expect(lab.selectedDataset).toContainText('speech');

  // 1. A fresh run in PyTorch: 2 processes, epoch 1 of 3.
  const work = testInfo.outputPath('work');
  mkdirSync(work, { recursive: true });
  const first = torchrun(
    `torchrun --nproc_per_node 2 -m ctc_lab train --preset tcn ${dir} -o ${work} --channels 16 --layers 2 --epochs 3 --stop_after 1 ` +
      '--batch_size 4 --accumulation_steps 1 --warmup_epochs 0 --learning_rate 0.003 --patience 0',
    work,
  );
  expect(first).toContain('2 process(es) on cpu');

  // 2. Import checkpoint: a stopped run at epoch 1 of 3.
  const tr = lab.training;
  await tr.importCheckpoint(join(work, 'last.safetensors'));
  await expect(tr.status('Imported checkpoint last.safetensors')).toBeVisible();
  await expect(tr.runs).toHaveCount(1);
  const fromTorch = tr.runs.first();
  await expect(tr.cell(fromTorch, 'status')).toHaveText('stopped');
  await expect(tr.cell(fromTorch, 'epochs')).toHaveText('1/3');

  // 3. The page's way to continue it in PyTorch, run as shown (the checkpoint is last.safetensors in `work`).
  const lines = await tr.pytorchCommands(fromTorch);
  expect(lines[0]).toMatch(/^pip install \.\/python/);
  const runId = (await tr.cell(fromTorch, 'run').innerText()).trim();
  expect(lines[1]).toBe(`torchrun --nproc_per_node 2 -m ctc_lab train last.safetensors path/to/speech/ -o runs/${runId}`);
  const second = torchrun(`${lines[1].replace('path/to/speech/', dir)} --stop_after 1`, work);
  expect(second).toMatch(/epoch 2: train loss/);

  // 4. Back in the lab: the epoch-2 checkpoint imports, resumes, and epoch 3 trains in the browser.
  await tr.importCheckpoint(join(work, 'runs', runId, 'last.safetensors'));
  await expect(tr.runs).toHaveCount(2);
  const back = tr.runs.nth(1);
  await expect(tr.cell(back, 'epochs')).toHaveText('2/3');
  await tr.resume(back);
  await expect(tr.cell(back, 'status')).toHaveText('finished');
  await expect(tr.cell(back, 'epochs')).toHaveText('3/3');
  const loss = Number(await tr.cell(back, 'loss').innerText());
  expect(Number.isFinite(loss) && loss > 0).toBe(true);

  // 5. Diagnostics on that run's checkpoint (the lab's name for its last epoch).
  const backId = (await tr.cell(back, 'run').innerText()).trim();
  const ckName = `ctc-lab-speech-${backId}-last-epoch3.safetensors`;
  await lab.diagnostics.run(ckName);
  await expect(lab.diagnostics.done).toContainText(ckName);
  await expect(lab.diagnostics.checks).toHaveCount(10);
});
