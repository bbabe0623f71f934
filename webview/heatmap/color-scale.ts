/**
 * The heatmap's colour scale, pure so tests can compute the expected colour of any value.
 *
 * Diverging (ColorBrewer RdBu, 11 classes, reversed so negative is blue and positive red) when the range spans 0,
 * with white at 0 and each side scaled to its own extreme, so 0 is always neutral even for an asymmetric range;
 * for cosines the range is [-1, 1]. A range on one side of 0 uses the matching half (sequential). Colours are
 * interpolated linearly in sRGB between the 11 stops, clamped outside the range; missing values get a grey
 * that is not on the scale.
 */

export type Rgb = readonly [number, number, number];

/** RdBu-11 from blue (most negative) through white to red (most positive). */
export const DIVERGING_STOPS: readonly Rgb[] = [
  [5, 48, 97],
  [33, 102, 172],
  [67, 147, 195],
  [146, 197, 222],
  [209, 229, 240],
  [247, 247, 247],
  [253, 219, 199],
  [244, 165, 130],
  [214, 96, 77],
  [178, 24, 43],
  [103, 0, 31],
];

/** Missing values (non-finite or null): a mid grey, not on the scale. */
export const MISSING_COLOR: Rgb = [128, 128, 128];

/** Position in [0, 1] along the stops: 0.5 is the value 0 when the range spans it. */
export function scalePosition(value: number, min: number, max: number): number {
  if (min < 0 && max > 0) {
    const t = value < 0 ? 0.5 - 0.5 * (value / min) : 0.5 + 0.5 * (value / max);
    return Math.min(1, Math.max(0, t));
  }
  if (min >= 0) {
    // Only non-negative values: the white-to-red half.
    return 0.5 + 0.5 * Math.min(1, Math.max(0, (value - min) / (max - min)));
  }
  // Only non-positive values: the blue-to-white half.
  return 0.5 * Math.min(1, Math.max(0, (value - min) / (max - min)));
}

export function colorAt(t: number): Rgb {
  const n = DIVERGING_STOPS.length - 1;
  const x = Math.min(1, Math.max(0, t)) * n;
  const i = Math.min(n - 1, Math.floor(x));
  const f = x - i;
  const a = DIVERGING_STOPS[i] as Rgb;
  const b = DIVERGING_STOPS[i + 1] as Rgb;
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

export function colorFor(value: number | null | undefined, min: number, max: number): Rgb {
  if (value === null || value === undefined || !Number.isFinite(value)) return MISSING_COLOR;
  return colorAt(scalePosition(value, min, max));
}

/** Text colour that stays readable on top of `c` (for labels drawn over cells). */
export function contrastText(c: Rgb): string {
  const luminance = 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  return luminance > 140 ? '#000000' : '#ffffff';
}
