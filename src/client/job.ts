// A feature's job on the page, shared by the features that run one: the lab's busy flag (one job
// per tab; forms are locked while it runs), and a job's own flag and failure message.

import { message, type LabContext } from './context';

/** A feature that runs a job in this tab (the overfit test, diagnostics). */
export abstract class JobFeature {
  constructor(protected readonly ctx: LabContext) {}

  /** A job runs in this tab (forms are locked). */
  get busy(): boolean {
    return this.ctx.busy;
  }
}

/** Runs `job` with `s[flag]` true until it ends; its failure's message goes to `s[error]` (cleared first). */
export async function flagged<F extends string, E extends string>(
  s: Record<F, boolean> & Record<E, string | null>,
  flag: F,
  error: E,
  job: () => Promise<void>,
): Promise<void> {
  const flags: Record<F, boolean> = s,
    errors: Record<E, string | null> = s;
  flags[flag] = true;
  errors[error] = null;
  try {
    await job();
  } catch (e) {
    errors[error] = message(e);
  } finally {
    flags[flag] = false;
  }
}
