// An output set written by PyTorch: tools/write_model_outputs.py (Debian's python3-torch) trains a
// tiny CTC model, writes its log_softmax outputs in the model-outputs format and the WER it
// computes from them; the lab imports the files and must find the same hypotheses and WER.
// Nothing binary is committed: the script runs here, into a temporary folder. Without torch the
// test is skipped, except under CI=true, where that is a failure.

import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareOutputsImport } from '../../data/outputs_import';
import { memoryOutputSource } from '../../data/source';
import type { OutputSetMeta } from '../../data/types';
import { diagnoseOutputs } from './outputs';

const PY = process.env.CTC_LAB_PYTHON ?? '/usr/bin/python3';
const CI = process.env.CI === 'true';
const HAVE_TORCH = spawnSync(PY, ['-c', 'import torch, numpy'], { encoding: 'utf8' }).status === 0;
const SCRIPT = new URL('../../../tools/write_model_outputs.py', import.meta.url).pathname;

describe('model outputs written by PyTorch', () => {
  it.skipIf(!HAVE_TORCH && !CI)(
    "import the script's output set: the same greedy hypotheses, S/D/I and WER as PyTorch computed",
    async () => {
      expect(HAVE_TORCH, `${PY} cannot import torch and numpy (apt-get install python3-torch); CI=true requires them`).toBe(true);
      const dir = mkdtempSync(join(tmpdir(), 'ctc-lab-torch-outputs-'));
      try {
        const r = spawnSync(PY, [SCRIPT, dir], { encoding: 'utf8' });
        expect(r.status, r.stderr).toBe(0);
        const expected = JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as {
          wer: number;
          S: number;
          D: number;
          I: number;
          N: number;
          hyps: Record<string, string>;
        };
        // A WER strictly between 0 and 1: a comparison that can fail either way.
        expect(expected.wer).toBeGreaterThan(0.05);
        expect(expected.wer).toBeLessThan(0.95);
        const files = readdirSync(dir)
          .filter((f) => f !== 'expected.json')
          .map((f) => ({ path: `torch/${f}`, blob: new Blob([readFileSync(join(dir, f))]) }));
        const p = await prepareOutputsImport(files, 'torch');
        expect(p.meta).toMatchObject({
          classes: ['<blank>', 'one', 'two', 'three', 'four', 'five', 'six'],
          subsampling: 2,
          subsamplingSource: 'outputs.json',
          kind: { declared: 'log_probs', detected: { log_probs: 24 } },
        });
        const meta: OutputSetMeta = { ...p.meta, id: 'torch', createdAt: 0 };
        const report = await diagnoseOutputs(meta, memoryOutputSource(p.samples.map((s, index) => ({ ...s, setId: 'torch', index }))));
        const split = report.checks.find((c) => c.id === 'error-split')!;
        expect(split.numbers).toMatchObject({ S: expected.S, D: expected.D, I: expected.I, N: expected.N });
        expect(split.numbers.wer as number).toBeCloseTo(expected.wer, 12);
        const rows = report.checks.find((c) => c.id === 'decoding')!.details as { id: string; greedy: string }[];
        expect(Object.fromEntries(rows.map((x) => [x.id, x.greedy]))).toEqual(expected.hyps);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
    120_000,
  );
});
