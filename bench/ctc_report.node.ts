// Node side of the CTC benchmark, shared by `npm run bench` (browser) and `npm run bench:node`
// (Dawn): writes each benchmark problem as .npy files (src/data/npy.ts), runs PyTorch's CPU
// ctc_loss on them (bench/ctc_torch.py, which checks its loss against the fused kernel's and
// exits non-zero when they disagree), and renders the Markdown section of BENCHMARKS.md.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeNpy } from '../src/data/npy';
import type { CtcBenchResult } from './ctc.bench';

export interface CtcProblemData {
  logits: Float32Array; // [B, T, V]
  labels: ArrayLike<number>; // [B, L]
  logitLengths: ArrayLike<number>; // [B]
  labelLengths: ArrayLike<number>; // [B]
}

export interface TorchResult {
  index: number; // into the results
  torch: string;
  threads: number;
  loss: number;
  relErrVsFused: number;
  ms: number;
  min: number;
  max: number;
}

/** Decodes a problem passed out of a browser page (bench/ctc.bench.ts benchProblemBase64). */
export function problemFromBase64(p: { logitsF32Base64: string; labels: number[]; logitLengths: number[]; labelLengths: number[] }): CtcProblemData {
  const bytes = Buffer.from(p.logitsF32Base64, 'base64');
  const logits = new Float32Array(bytes.byteLength / 4);
  new Uint8Array(logits.buffer).set(bytes);
  return { logits, labels: p.labels, logitLengths: p.logitLengths, labelLengths: p.labelLengths };
}

const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

/**
 * PyTorch's single-thread CPU ctc_loss forward + backward on the exact inputs of each result, or
 * null where PyTorch is not importable. Throws when the script fails (e.g. a loss disagreeing with
 * the fused kernel's).
 */
export function runTorch(results: CtcBenchResult[], problems: CtcProblemData[], outDir: string, reps = 10): TorchResult[] | null {
  if (spawnSync(PYTHON, ['-c', 'import torch']).status !== 0) return null;
  mkdirSync(outDir, { recursive: true });
  const manifest = results.map((r, i) => {
    const p = problems[i];
    const { B, T, V, L } = r.shape;
    const f64 = (xs: ArrayLike<number>) => Float64Array.from(xs);
    const file = (what: string) => join(outDir, `${i}_${what}.npy`);
    writeFileSync(file('logits'), writeNpy(p.logits, [B, T, V]));
    writeFileSync(file('labels'), writeNpy(f64(p.labels), [B, L]));
    writeFileSync(file('logit_lengths'), writeNpy(f64(p.logitLengths), [B]));
    writeFileSync(file('label_lengths'), writeNpy(f64(p.labelLengths), [B]));
    return {
      index: i,
      name: r.shape.name,
      fusedLoss: r.loss,
      files: { logits: file('logits'), labels: file('labels'), logitLengths: file('logit_lengths'), labelLengths: file('label_lengths') },
    };
  });
  const manifestFile = join(outDir, 'problems.json');
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 1));
  const r = spawnSync(PYTHON, ['bench/ctc_torch.py', manifestFile, '1', String(reps)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`bench/ctc_torch.py failed (exit ${r.status}):\n${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TorchResult);
}

const f = (x: number, d = 1) => (x >= 100 ? x.toFixed(0) : x.toFixed(d));
const spread = (t: { ms: number; min: number; max: number }, d = 1) => `${f(t.ms, d)} ms (${f(t.min, d)}–${f(t.max, d)})`;

/** The CTC section of BENCHMARKS.md. */
export function ctcMarkdown(opts: { title: string; machine: string; reps: number; results: CtcBenchResult[]; torch: TorchResult[] | null }): string {
  const { results, torch } = opts;
  const lines = [
    `### ${opts.title} — ${new Date().toISOString().slice(0, 10)}`,
    '',
    opts.machine,
    `Each run: one \`valueAndGrads\` of the summed loss and a read-back of one element of the gradient; median of ${opts.reps} runs (minimum–maximum), composed TF.js ops: of 1. Before anything is timed, the fused loss and gradient are checked against the float64 reference (relative error ≤ 1e-4, else the benchmark fails) and PyTorch's loss against the fused one. Full length: every sample T frames and L labels; random: sample 0 full, the others random lengths (less work on both sides).`,
    '',
    '| shape | lengths | fused kernel | PyTorch CPU ctc_loss, 1 thread | fused / PyTorch | composed TF.js ops (loop over T) | composed / fused | dispatches: fused (CTC programs) / composed | fused vs float64 reference: loss, gradient |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  results.forEach((r, i) => {
    const s = r.shape;
    const t = torch?.find((x) => x.index === i);
    lines.push(
      `| ${s.name} B${s.B} T${s.T} L${s.L} V${s.V} | ${s.fullLength ? 'full' : 'random'} | ${spread(r.fused)} | ` +
        (t
          ? `${spread(t, 2)} (torch ${t.torch}; loss rel. diff ${t.relErrVsFused.toExponential(1)}) | **${(r.fused.ms / t.ms).toFixed(1)}×** | `
          : torch
            ? 'not run | – | '
            : 'PyTorch not installed | – | ') +
        (r.composed
          ? `${f(r.composed.ms)} ms | ${r.speedup!.toFixed(1)}× | ${r.fused.dispatches} (${r.fused.ctcDispatches}) / ${r.composed.dispatches}`
          : `not timed | – | ${r.fused.dispatches} (${r.fused.ctcDispatches}) / –`) +
        ` | ${r.check.lossRelErr.toExponential(1)}, ${r.check.gradRelErr.toExponential(1)} |`,
    );
  });
  const stages = [...new Set(results.flatMap((r) => Object.keys(r.programMs ?? {})))];
  if (stages.length) {
    lines.push(
      '',
      'GPU time per fused program (WebGPU timestamp queries; median of 3), ms:',
      '',
      `| shape | lengths | ${stages.join(' | ')} |`,
      `|---|---|${stages.map(() => '---').join('|')}|`,
    );
    for (const r of results)
      lines.push(
        `| ${r.shape.name} | ${r.shape.fullLength ? 'full' : 'random'} | ${stages.map((k) => (r.programMs?.[k] != null ? f(r.programMs[k], 2) : 'n/a')).join(' | ')} |`,
      );
  }
  return lines.join('\n');
}
