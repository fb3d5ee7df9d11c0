// The command lines that continue a lab run in PyTorch (python/ctc_lab; README "Scale out: continue
// in PyTorch"): install the package from the repository, train on under torchrun from the run's
// downloaded checkpoint, and the file to import back. Plain strings for the page to show.

export interface PytorchCommandsInput {
  fileName: string; // the checkpoint as Download last names it
  datasetName: string; // the dataset's folder, as the user imported it
  runId: string;
  processes?: number; // torchrun processes (GPUs), 2 by default
}

/** A word for a POSIX shell: as it is when it is safe, else single-quoted. */
export function shellWord(s: string): string {
  return /^[\w./+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function pytorchCommands({ fileName, datasetName, runId, processes = 2 }: PytorchCommandsInput): { lines: string[]; result: string } {
  const out = `runs/${runId}`;
  return {
    lines: [
      'pip install ./python   # in a checkout of the CTC Lab repository: torch ≥ 1.13, numpy',
      `torchrun --nproc_per_node ${processes} -m ctc_lab train ${shellWord(fileName)} ${shellWord(`path/to/${datasetName}/`)} -o ${shellWord(out)}`,
    ],
    result: `${out}/last.safetensors`,
  };
}
