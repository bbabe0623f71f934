/** Number formatting shared by readouts, axes and tables. */

/** Compact, `digits` significant digits; exponent notation for very small or large magnitudes; '—' for null/NaN. */
export function formatNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e5) return v.toExponential(Math.max(0, digits - 1)).replace(/\.?0+e/, 'e');
  // toPrecision switches to exponent notation once the integer part has more digits than asked for.
  if (a >= 1 && Math.floor(Math.log10(a)) + 1 >= digits) return String(Math.round(v));
  const s = v.toPrecision(digits);
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** Integers with thousands separators (fixed locale, so tests and screenshots do not depend on the machine). */
export function formatCount(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** Axis tick labels: as few digits as make neighbouring ticks distinct. */
export function formatTicks(ticks: readonly number[]): string[] {
  for (let digits = 2; digits <= 8; digits++) {
    const labels = ticks.map((t) => formatNumber(t, digits));
    if (new Set(labels).size === labels.length) return labels;
  }
  return ticks.map((t) => formatNumber(t, 10));
}
