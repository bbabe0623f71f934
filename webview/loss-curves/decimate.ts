/**
 * Turns several stored series (each sorted by x, with its own x values) into the one shared x array plus one y
 * array per series that uPlot draws, keeping the drawing cost proportional to the plot's width, not to the data.
 *
 * - Few points in view (at most two per pixel column): exact. The x arrays are merged; a series without a point at
 *   some x gets `undefined` there, which uPlot spans, so lines stay continuous across runs with different steps.
 * - Many points: min/max per column ("M4"-style decimation). Columns are `width` steps wide, a power of two chosen
 *   so the view has between half and all of `nBuckets` columns (one per pixel); each column gets two x slots, and
 *   each series puts its minimum and maximum in that column into them, in the order they occurred. Every extreme
 *   stays visible (a loss spike is never averaged away); a point moves less than one column along x.
 *
 * The column grid is anchored at step 0, not at the view's edge, so it does not move while a run streams in. With
 * a `DecimationCache`, each series' per-column min/max is therefore kept between frames and only the newly
 * appended points are folded in: a frame costs O(new points + columns), not O(all points). An insertion or
 * replacement inside a series (its `version` changes), a new column width (the range doubled, the plot was
 * resized, a zoom) or a log-scale toggle recomputes that series once.
 *
 * Non-finite values become `null`, which uPlot draws as a gap (the NaN guard's step shows as a break).
 * With `positiveOnly` (log scale) values <= 0 become `undefined` (spanned): they have no position on a log axis.
 * The stored data is only read; nothing is dropped from it.
 */

export interface XYSeries {
  /** Sorted ascending, >= 0 (steps). */
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  length: number;
  /** Identity for caching: the stored series object and the column plotted from it. */
  owner?: object;
  column?: string;
  /** Changes whenever points are inserted or replaced anywhere but past the end. */
  version?: number;
}

export type Slot = number | null | undefined;

export interface Aligned {
  xs: number[];
  ys: Slot[][];
  mode: 'exact' | 'minmax';
  /** Values actually handed to the chart (non-empty slots), for tests and the status line. */
  drawnPoints: number;
}

function lowerBound(x: ArrayLike<number>, length: number, v: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((x[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function upperBound(x: ArrayLike<number>, length: number, v: number): number {
  let lo = 0;
  let hi = length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((x[mid] as number) <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Per-column min/max of one series on a fixed grid: column `b` covers [(base + b) * width, (base + b + 1) * width). */
class Columns {
  minV = new Float64Array(64);
  maxV = new Float64Array(64);
  minI = new Int32Array(64).fill(-1);
  maxI = new Int32Array(64).fill(-1);
  gap = new Uint8Array(64);
  /** Points folded in so far (a prefix of the series). */
  scanned = 0;

  constructor(
    readonly width: number,
    readonly base: number,
    readonly positiveOnly: boolean,
    readonly version: number | undefined,
  ) {}

  private ensure(b: number): void {
    if (b < this.minV.length) return;
    let n = this.minV.length;
    while (n <= b) n *= 2;
    const grow = <T extends Float64Array | Int32Array | Uint8Array>(a: T, make: (n: number) => T, fill?: number): T => {
      const out = make(n);
      if (fill !== undefined) out.fill(fill);
      out.set(a);
      return out;
    };
    this.minV = grow(this.minV, (k) => new Float64Array(k));
    this.maxV = grow(this.maxV, (k) => new Float64Array(k));
    this.minI = grow(this.minI, (k) => new Int32Array(k), -1);
    this.maxI = grow(this.maxI, (k) => new Int32Array(k), -1);
    this.gap = grow(this.gap, (k) => new Uint8Array(k));
  }

  /** Folds points [from, to) in; false when a point lies left of the grid's base (the caller rebuilds). */
  fold(s: XYSeries, from: number, to: number): boolean {
    for (let i = from; i < to; i++) {
      const b = Math.floor((s.x[i] as number) / this.width) - this.base;
      if (b < 0) return false;
      this.ensure(b);
      const y = s.y[i] as number;
      if (!Number.isFinite(y)) {
        this.gap[b] = 1;
        continue;
      }
      if (this.positiveOnly && y <= 0) continue;
      if (this.minI[b] === -1) {
        this.minV[b] = y;
        this.maxV[b] = y;
        this.minI[b] = i;
        this.maxI[b] = i;
      } else {
        if (y < (this.minV[b] as number)) {
          this.minV[b] = y;
          this.minI[b] = i;
        }
        if (y > (this.maxV[b] as number)) {
          this.maxV[b] = y;
          this.maxI[b] = i;
        }
      }
    }
    this.scanned = Math.max(this.scanned, to);
    return true;
  }

  /** Writes absolute column `abs` into slots `2k`, `2k + 1` of `out`; returns how many values it wrote. */
  emit(abs: number, out: Slot[], k: number): number {
    const b = abs - this.base;
    if (b < 0 || b >= this.minV.length) return 0;
    const minI = this.minI[b] as number;
    const maxI = this.maxI[b] as number;
    if (minI === -1) {
      if (this.gap[b]) out[2 * k] = null;
      return 0;
    }
    const minV = this.minV[b] as number;
    const maxV = this.maxV[b] as number;
    if (minI === maxI) {
      out[2 * k] = minV;
      return 1;
    }
    out[2 * k] = minI < maxI ? minV : maxV;
    out[2 * k + 1] = minI < maxI ? maxV : minV;
    return 2;
  }
}

/**
 * Per-column min/max kept between frames, per stored series and column. Entries die with their series (a
 * snapshot replaces the runs, so their columns go too).
 */
export class DecimationCache {
  private readonly entries = new WeakMap<object, Map<string, Columns>>();

  /** Columns of `s` on the grid of `width`, up to date with its points; undefined when `s` has no identity. */
  columnsFor(s: XYSeries, width: number, positiveOnly: boolean): Columns | undefined {
    if (!s.owner || s.length === 0) return undefined;
    let perOwner = this.entries.get(s.owner);
    if (!perOwner) {
      perOwner = new Map();
      this.entries.set(s.owner, perOwner);
    }
    const key = s.column ?? '';
    let c = perOwner.get(key);
    const base = Math.floor((s.x[0] as number) / width);
    if (!c || c.width !== width || c.positiveOnly !== positiveOnly || c.version !== s.version || c.scanned > s.length || base < c.base) {
      c = new Columns(width, base, positiveOnly, s.version);
      perOwner.set(key, c);
    }
    if (c.scanned < s.length && !c.fold(s, c.scanned, s.length)) {
      c = new Columns(width, base, positiveOnly, s.version);
      c.fold(s, 0, s.length);
      perOwner.set(key, c);
    }
    return c;
  }
}

/** Column width for a view: the smallest power of two giving at most `nBuckets` columns. */
export function columnWidth(xMin: number, xMax: number, nBuckets: number): number {
  return 2 ** Math.ceil(Math.log2((xMax - xMin) / Math.max(1, nBuckets)));
}

/** A cached series is worth it only when its whole extent is a modest number of columns (not a deep zoom). */
const MAX_CACHED_COLUMNS_PER_BUCKET = 16;

export function alignAndDecimate(
  series: readonly XYSeries[],
  xMin: number,
  xMax: number,
  nBuckets: number,
  options: { positiveOnly?: boolean; cache?: DecimationCache } = {},
): Aligned {
  const positiveOnly = options.positiveOnly === true;
  const slot = (y: number): Slot => (!Number.isFinite(y) ? null : positiveOnly && y <= 0 ? undefined : y);
  nBuckets = Math.max(1, Math.floor(nBuckets));

  // Index range in view per series, widened by one neighbour each side so a zoomed line runs to the plot's edge.
  const ranges = series.map((s) => {
    const lo = lowerBound(s.x, s.length, xMin);
    const hi = upperBound(s.x, s.length, xMax);
    return { lo, hi, from: Math.max(0, lo - 1), to: Math.min(s.length, hi + 1) };
  });
  const total = ranges.reduce((n, r) => n + (r.to - r.from), 0);

  if (total <= 2 * nBuckets || !(xMax > xMin)) {
    const ptr = ranges.map((r) => r.from);
    const xs: number[] = [];
    const ys: Slot[][] = series.map(() => []);
    let drawn = 0;
    for (;;) {
      let next = Number.POSITIVE_INFINITY;
      for (let k = 0; k < series.length; k++) {
        const s = series[k] as XYSeries;
        const p = ptr[k] as number;
        if (p < (ranges[k] as { to: number }).to) next = Math.min(next, s.x[p] as number);
      }
      if (next === Number.POSITIVE_INFINITY) break;
      xs.push(next);
      for (let k = 0; k < series.length; k++) {
        const s = series[k] as XYSeries;
        const p = ptr[k] as number;
        const out = ys[k] as Slot[];
        if (p < (ranges[k] as { to: number }).to && s.x[p] === next) {
          const v = slot(s.y[p] as number);
          out.push(v);
          if (v !== null && v !== undefined) drawn++;
          ptr[k] = p + 1;
        } else {
          out.push(undefined);
        }
      }
    }
    return { xs, ys, mode: 'exact', drawnPoints: drawn };
  }

  const width = columnWidth(xMin, xMax, nBuckets);
  const first = Math.floor(xMin / width);
  const nColumns = Math.floor(xMax / width) - first + 1;
  const xs = new Array<number>(2 * nColumns);
  for (let k = 0; k < nColumns; k++) {
    xs[2 * k] = (first + k + 0.25) * width;
    xs[2 * k + 1] = (first + k + 0.75) * width;
  }
  let drawn = 0;
  const ys = series.map((s, k) => {
    const out = new Array<Slot>(2 * nColumns).fill(undefined);
    const { lo, hi } = ranges[k] as { lo: number; hi: number };
    if (lo >= hi) return out;
    const extent = s.length > 0 ? (s.x[s.length - 1] as number) - (s.x[0] as number) : 0;
    let columns = extent / width <= MAX_CACHED_COLUMNS_PER_BUCKET * nBuckets ? options.cache?.columnsFor(s, width, positiveOnly) : undefined;
    if (!columns) {
      columns = new Columns(width, first, positiveOnly, s.version);
      columns.fold(s, lo, hi);
    }
    for (let c = 0; c < nColumns; c++) drawn += columns.emit(first + c, out, c);
    return out;
  });
  return { xs, ys, mode: 'minmax', drawnPoints: drawn };
}
