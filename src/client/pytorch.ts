// The command lines that continue a lab run in PyTorch (python/ctc_lab; README "Scale out: continue
// in PyTorch"): install the package from the repository, train on under torchrun from the run's
// downloaded checkpoint (a distillation run with its teacher: the teacher checkpoint's file, or the
// folder or .zip of the model-output set it learned from), and the file to import back. Plain
// strings for the page to show.

/** A distillation run's teacher as its record names it (kind, and the file or set name). */
export interface PytorchTeacher {
  kind: 'checkpoint' | 'outputs';
  name: string;
}

export interface PytorchCommandsInput {
  fileName: string; // the checkpoint as Download last names it
  datasetName: string; // the dataset's folder, as the user imported it
  runId: string;
  processes?: number; // torchrun processes (GPUs), 2 by default
  teacher?: PytorchTeacher | null; // a distillation run's teacher
}

/** A word for a POSIX shell: as it is when it is safe, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w./+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * The teacher's argument: a checkpoint as Download names it (`--teacher FILE`), an output set as the
 * folder or .zip it was imported from (`--teacher-outputs path/to/NAME/`, or `NAME.zip` as it is).
 */
export function teacherArgument(t: PytorchTeacher): { flag: string; path: string } {
  if (t.kind === 'checkpoint') return { flag: '--teacher', path: t.name };
  return { flag: '--teacher-outputs', path: /\.zip$/i.test(t.name) ? t.name : `path/to/${t.name}/` };
}

export function pytorchCommands({ fileName, datasetName, runId, processes = 2, teacher }: PytorchCommandsInput): {
  lines: string[];
  result: string;
  teacher: { flag: string; path: string } | null;
} {
  const out = `runs/${runId}`;
  const t = teacher ? teacherArgument(teacher) : null;
  return {
    lines: [
      'pip install ./python   # in a checkout of the CTC Lab repository: torch ≥ 1.13, numpy',
      `torchrun --nproc_per_node ${processes} -m ctc_lab train ${shellWord(fileName)} ${shellWord(`path/to/${datasetName}/`)} -o ${shellWord(out)}` +
        (t ? ` ${t.flag} ${shellWord(t.path)}` : ''),
    ],
    result: `${out}/last.safetensors`,
    teacher: t,
  };
}
