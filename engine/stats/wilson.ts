/**
 * Wilson score interval for a binomial proportion (what statsmodels' `proportion_confint(method='wilson')` returns,
 * and what the research's bar charts print: METHOD.md §9.2, §10). Unlike the normal ("Wald") interval it stays inside
 * [0, 1] and does not collapse to a point at 0/n or n/n.
 *
 * Non-goals: continuity correction, one-sided intervals, exact (Clopper-Pearson) intervals.
 */

export interface Proportion {
  /** successes / n; NaN when n = 0 (there is no estimate). */
  p: number;
  /** Lower end of the interval, in [0, 1]. */
  lo: number;
  /** Upper end of the interval, in [0, 1]. */
  hi: number;
}

/** z for a two-sided 95% interval: the 0.975 quantile of the standard normal. */
export const Z95 = 1.959964;

/**
 * Wilson score interval of `successes` out of `n` trials.
 * n = 0 gives { p: NaN, lo: 0, hi: 1 } (nothing is known). Throws on a negative, fractional or impossible count.
 */
export function wilson(successes: number, n: number, z = Z95): Proportion {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`wilson: n must be a non-negative integer, found ${n}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > n) {
    throw new RangeError(`wilson: successes must be an integer in [0, n=${n}], found ${successes}`);
  }
  if (!(Number.isFinite(z) && z > 0)) throw new RangeError(`wilson: z must be a positive number, found ${z}`);
  if (n === 0) return { p: Number.NaN, lo: 0, hi: 1 };
  const p = successes / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const center = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  // At 0/n and n/n the formula gives exactly 0 and 1 in real arithmetic; pin them so rounding cannot leak.
  const lo = successes === 0 ? 0 : Math.max(0, center - half);
  const hi = successes === n ? 1 : Math.min(1, center + half);
  return { p, lo, hi };
}
