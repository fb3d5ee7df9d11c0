import { describe, expect, it } from 'vitest';
import { pytorchCommands, shellWord, teacherArgument } from './pytorch';

describe('continue in PyTorch: command lines', () => {
  it('names the checkpoint, the dataset folder and the output folder', () => {
    const c = pytorchCommands({ fileName: 'ctc-lab-Demo-run-1-last-epoch3.safetensors', datasetName: 'speech', runId: 'run-1' });
    expect(c.lines[1]).toBe('torchrun --nproc_per_node 2 -m ctc_lab train ctc-lab-Demo-run-1-last-epoch3.safetensors path/to/speech/ -o runs/run-1');
    expect(c.result).toBe('runs/run-1/last.safetensors');
    expect(pytorchCommands({ fileName: 'a.safetensors', datasetName: 'd', runId: 'r', processes: 8 }).lines[1]).toContain('--nproc_per_node 8 ');
  });

  it("a distillation run's line passes its teacher: the checkpoint file, or the output set's folder or .zip", () => {
    const base = { fileName: 'ctc-lab-Demo-run-2-last-epoch3.safetensors', datasetName: 'speech', runId: 'run-2' };
    const ck = pytorchCommands({ ...base, teacher: { kind: 'checkpoint', name: 'ctc-lab-Demo-overfit.safetensors' } });
    expect(ck.lines[1]).toBe(
      'torchrun --nproc_per_node 2 -m ctc_lab train ctc-lab-Demo-run-2-last-epoch3.safetensors path/to/speech/ -o runs/run-2 --teacher ctc-lab-Demo-overfit.safetensors',
    );
    expect(ck.teacher).toEqual({ flag: '--teacher', path: 'ctc-lab-Demo-overfit.safetensors' });
    const set = pytorchCommands({ ...base, teacher: { kind: 'outputs', name: 'big teacher' } });
    expect(set.lines[1]).toMatch(/ -o runs\/run-2 --teacher-outputs 'path\/to\/big teacher\/'$/);
    expect(teacherArgument({ kind: 'outputs', name: 'teacher_val.zip' })).toEqual({ flag: '--teacher-outputs', path: 'teacher_val.zip' });
    // A CTC run's line has no teacher.
    expect(pytorchCommands(base).lines[1]).not.toContain('--teacher');
    expect(pytorchCommands(base).teacher).toBeNull();
  });

  it('quotes what a shell would split or expand', () => {
    expect(shellWord('plain-name_1.safetensors')).toBe('plain-name_1.safetensors');
    expect(shellWord('path/to/Demo (seed 42)/')).toBe("'path/to/Demo (seed 42)/'");
    expect(shellWord("it's $HOME")).toBe(`'it'\\''s $HOME'`);
  });
});
