import { describe, expect, it } from 'vitest';
import { pytorchCommands, shellWord } from './pytorch';

describe('continue in PyTorch: command lines', () => {
  it('names the checkpoint, the dataset folder and the output folder', () => {
    const c = pytorchCommands({ fileName: 'ctc-lab-Demo-run-1-last-epoch3.safetensors', datasetName: 'speech', runId: 'run-1' });
    expect(c.lines[1]).toBe('torchrun --nproc_per_node 2 -m ctc_lab train ctc-lab-Demo-run-1-last-epoch3.safetensors path/to/speech/ -o runs/run-1');
    expect(c.result).toBe('runs/run-1/last.safetensors');
    expect(pytorchCommands({ fileName: 'a.safetensors', datasetName: 'd', runId: 'r', processes: 8 }).lines[1]).toContain('--nproc_per_node 8 ');
  });

  it('quotes what a shell would split or expand', () => {
    expect(shellWord('plain-name_1.safetensors')).toBe('plain-name_1.safetensors');
    expect(shellWord('path/to/Demo (seed 42)/')).toBe("'path/to/Demo (seed 42)/'");
    expect(shellWord("it's $HOME")).toBe(`'it'\\''s $HOME'`);
  });
});
