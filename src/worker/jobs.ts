// The worker's job discipline: one GPU job per tab (the overfit test, diagnostics, training), one
// training job per browser (a Web Lock), and the stop / pause flags the running job polls.
// Imports hold a lock of their own so another tab's orphan cleanup leaves their staging alone.

const lockManager = () => (globalThis.navigator as Navigator & { locks?: LockManager }).locks;

let busy = false;
let stopRequested = false;
let paused = false;
let unpauseWaiters: (() => void)[] = [];

/** What a running job polls: whether the user asked it to stop, and a wait while paused. */
export const control = {
  shouldStop: (): boolean => stopRequested,
  isPaused: (): boolean => paused,
  waitWhilePaused: (): Promise<void> => (paused ? new Promise<void>((r) => unpauseWaiters.push(r)) : Promise.resolve()),
};

/** Runs a GPU job if none is running in this tab. */
export async function exclusive<T>(job: () => Promise<T>): Promise<T> {
  if (busy) throw new Error('the trainer is already running a job in this tab');
  busy = true;
  stopRequested = false;
  paused = false;
  try {
    return await job();
  } finally {
    busy = false;
  }
}

export function pause(): void {
  paused = true;
}

export function unpause(): void {
  paused = false;
  const w = unpauseWaiters;
  unpauseWaiters = [];
  w.forEach((r) => r());
}

export function stop(): void {
  stopRequested = true;
  if (paused) unpause();
}

/** One training job per browser: a second tab is told so instead of both writing the same store. */
export async function withTrainingLock<T>(job: () => Promise<T>): Promise<T> {
  const locks = lockManager();
  if (!locks) return job();
  return (await locks.request('ctc-lab-training', { ifAvailable: true }, async (lock) => {
    if (!lock) throw new Error('another tab of CTC Lab is training; only one tab can train at a time');
    return job();
  })) as T;
}

const runLockName = (id: string) => `ctc-lab-run:${id}`;

/**
 * Holds a Web Lock named after the run while it trains: a run stored as 'running' whose lock no tab
 * holds was cut off (its tab closed, crashed or reloaded) and is shown as interrupted.
 */
export async function withRunLock<T>(runId: string, job: () => Promise<T>): Promise<T> {
  const locks = lockManager();
  if (!locks) return job();
  return (await locks.request(runLockName(runId), job)) as T;
}

/** Whether some tab is training run `id` right now (holds its lock); without Web Locks, assume so. */
export async function runLocksHeld(): Promise<(id: string) => boolean> {
  const locks = lockManager();
  if (!locks) return () => true;
  const held = new Set((await locks.query()).held?.map((l) => l.name) ?? []);
  return (id) => held.has(runLockName(id));
}

const importLockName = (id: string) => `ctc-lab-import:${id}`;

/** Holds a Web Lock while an import is staged, so another tab's orphan cleanup leaves it alone. */
export async function holdImportLock(id: string): Promise<() => void> {
  const locks = lockManager();
  if (!locks) return () => {};
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  await new Promise<void>((acquired) => {
    void locks.request(importLockName(id), () => {
      acquired();
      return held;
    });
  });
  return release;
}

/** Whether some tab holds the staging lock of import `id` right now. */
export async function importLocksHeld(): Promise<(id: string) => boolean> {
  const held = new Set((await lockManager()?.query())?.held?.map((l) => l.name) ?? []);
  return (id) => held.has(importLockName(id));
}
