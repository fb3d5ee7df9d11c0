// Asynchronous successive halving (ASHA: Li et al. 2020, "A system for massively parallel
// hyperparameter tuning"), the rule of Optuna's SuccessiveHalvingPruner so a sweep decides in the
// lab as the twin does under Optuna (python/ctc_lab/sweep.py; python/tests/test_sweep.py replays
// fixtures/halving.json through Optuna's own pruner).
//
// Rungs at r, ηr, η²r, … epochs (η = 3). When a trial reaches a rung its metric (lower is better:
// val WER or val loss) joins the values recorded there by every trial that reached it; it goes on
// only if it is among the best ⌊n/η⌋ of those n values (itself included; ties at the cut go on).
// With fewer than η values the cut is the best one: Optuna cannot suspend a trial and resume it
// later, so the first trials at a rung go on only if they are the best so far. A value that is not
// finite (NaN loss, a failed evaluation) stops the trial at once and is not recorded: it never
// competes, never goes on. A trial whose run throws records nothing.

export interface HalvingConfig {
  minEpochs: number; // r: the first rung, in epochs (Optuna's min_resource), ≥ 1
  eta: number; // η: the reduction factor, 3 (Optuna's reduction_factor), ≥ 2
  maxEpochs: number; // a trial's full length: no rung past it
}

export const HALVING_DEFAULTS: HalvingConfig = { minEpochs: 1, eta: 3, maxEpochs: 27 };

/** The rungs' epochs: r, ηr, η²r, … below maxEpochs (a trial that reaches maxEpochs is complete). */
export function rungEpochs(c: HalvingConfig): number[] {
  const out: number[] = [];
  for (let e = c.minEpochs; e < c.maxEpochs; e *= c.eta) out.push(e);
  return out;
}

/** A metric a trial recorded at a rung. */
export interface RungValue {
  trial: number;
  rung: number; // 0-based
  value: number;
}

/** Whether `value` goes on among the values recorded at its rung (`others`: the other trials' values there). */
export function promotable(value: number, others: number[], eta: number): boolean {
  if (!Number.isFinite(value)) return false;
  const competing = [...others, value].sort((a, b) => a - b);
  const cut = Math.max(Math.floor(competing.length / eta) - 1, 0);
  return value <= competing[cut];
}

export interface HalvingDecision {
  stop: boolean;
  recorded: RungValue[]; // what this report adds to the ledger (a rung the trial just completed; empty between rungs)
  reason: string | null; // why it stops, or which rung it passed
}

/**
 * The decision after a trial's epoch `epoch` with metric `value`, given every value recorded so far
 * (`ledger`, all trials). Between rungs the trial goes on; at a rung it is judged (a report past
 * several rungs, e.g. after a resume, is judged at each in turn, Optuna's loop).
 */
export function judgeEpoch(ledger: RungValue[], trial: number, epoch: number, value: number, c: HalvingConfig): HalvingDecision {
  const rungs = rungEpochs(c);
  const recorded: RungValue[] = [];
  let rung = 0;
  while (ledger.some((r) => r.trial === trial && r.rung === rung)) rung++;
  let passed: string | null = null;
  for (; rung < rungs.length && epoch >= rungs[rung]; rung++) {
    if (!Number.isFinite(value)) return { stop: true, recorded, reason: `the metric is ${value} at epoch ${epoch}` };
    const others = ledger.filter((r) => r.rung === rung && r.trial !== trial).map((r) => r.value);
    recorded.push({ trial, rung, value });
    if (!promotable(value, others, c.eta)) {
      const n = others.length + 1;
      const keep = Math.max(Math.floor(n / c.eta), 1);
      return { stop: true, recorded, reason: `stopped at rung ${rung + 1} (epoch ${rungs[rung]}): ${fmt(value)} is not among the best ${keep} of ${n}` };
    }
    passed = `went on at rung ${rung + 1} (epoch ${rungs[rung]}): ${fmt(value)} among the best ${Math.max(Math.floor((others.length + 1) / c.eta), 1)} of ${others.length + 1}`;
  }
  return { stop: false, recorded, reason: passed };
}

const fmt = (v: number) => (Number.isInteger(v) ? String(v) : v.toPrecision(4));
