// How the diagnostics write numbers and verdict sentences, once for every check file (training
// checks, gradient check, model-output checks), so the same number reads the same everywhere.

/** A share as a percentage with one decimal: 0.1234 → "12.3%". */
export const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** Three significant digits between 0.01 and 1000, else exponent notation with two decimals. */
export const sci = (x: number) => (x === 0 ? '0' : Math.abs(x) >= 0.01 && Math.abs(x) < 1000 ? x.toPrecision(3) : x.toExponential(2));

/** The first n items, then how many there were in all. */
export const list = (xs: string[], n = 5) => xs.slice(0, n).join(', ') + (xs.length > n ? `, … (${xs.length} in all)` : '');

/** A check's causes as one sentence ("a; b.") and its fixes as capitalised sentences ("A. B."); '' when there are none. */
export function causeAndFix(causes: string[], fixes: string[]): { cause: string; fix: string } {
  return {
    cause: causes.length ? causes.join('; ') + '.' : '',
    fix: fixes.length ? fixes.map((x) => x[0].toUpperCase() + x.slice(1)).join('. ') + '.' : '',
  };
}
