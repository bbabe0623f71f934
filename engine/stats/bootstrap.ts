/**
 * Paired bootstrap of a difference of means over paired per-token losses (two models scored on the same tokens),
 * and the perplexity comparison built on it. This is the fix of METHOD.md §11 item 12: the research fed positive,
 * unnormalised window NLL sums into `exp(-mean)`, so both perplexities were exp(-1000) = 0 and the CI was always
 * (0, 0). Here perplexity is exp(+mean per-token NLL), and the bootstrap resamples per-token differences.
 *
 * Resampling unit (documented choice):
 *  - 'token': resample single tokens (i.i.d. bootstrap). Right for independent items; cost resamples x n.
 *  - 'block': resample contiguous blocks of tokens (non-overlapping block bootstrap, Carlstein 1986). Per-token NLLs
 *    of one text are autocorrelated (a hard passage is hard for many tokens in a row), so the token bootstrap treats
 *    dependent values as independent and its CI is too narrow; blocks keep the short-range dependence inside each
 *    unit. Each block contributes its sum of differences and its token count, and a resample's statistic is
 *    sum / count (the token-weighted mean, so a short last block or uneven windows are weighted correctly).
 *    Cost resamples x blocks: 1000 resamples of 300k tokens in 256-token blocks is ~1.2M draws (milliseconds).
 *    Blocks are fixed runs of `blockSize` tokens (default 256), or caller-given `segments` (e.g. the perplexity
 *    windows' scored-token counts, PerplexityOutcome.windowTokens).
 *  - 'auto' (default): 'block' when the text has at least 16 blocks (n >= 16 x blockSize), else 'token'.
 * CI: percentile interval of the resampled differences (linear interpolation, numpy's default quantile).
 * p: two-sided, 2 x the fraction of resampled differences on the other side of 0 from the observed one (ties at 0
 * count as the other side), capped at 1; p = 1 when the observed difference is 0. p = 0 means p < 1/resamples.
 *
 * Non-goals: BCa or studentized intervals, statistics other than the mean, unpaired comparisons.
 */

import { NumericsError } from '../util/numerics';
import { Rng } from '../util/random';

export type BootstrapUnit = 'auto' | 'token' | 'block';

export interface PairedBootstrapOptions {
  /** Number of bootstrap resamples; default 1000. */
  resamples?: number;
  /** Seed of the resampling Rng; default 42. The same inputs and seed give the same result. */
  seed?: number;
  /** The statistic; only the mean is supported. */
  statistic?: 'mean';
  /** Resampling unit (see the file header); default 'auto'. */
  unit?: BootstrapUnit;
  /** Tokens per block for unit 'block' (and for the 'auto' rule); default 256. */
  blockSize?: number;
  /** Explicit blocks: lengths of consecutive runs of tokens, summing to n. Implies unit 'block'. */
  segments?: ArrayLike<number>;
  /** Two-sided confidence level of the interval; default 0.95. */
  confidence?: number;
}

export interface PairedBootstrapResult {
  meanA: number;
  meanB: number;
  /** mean(b - a) = mean(b) - mean(a) (computed from the per-token differences). */
  diff: number;
  /** Percentile confidence interval of diff. */
  lo: number;
  hi: number;
  /** Two-sided bootstrap p-value for diff = 0. */
  p: number;
  /** Tokens compared. */
  n: number;
  unit: 'token' | 'block';
  /** Resampling units: n for 'token', the number of blocks for 'block'. */
  units: number;
  resamples: number;
  confidence: number;
}

export interface PerplexityComparison {
  pplBase: number;
  pplTuned: number;
  /** 100 x (pplTuned / pplBase - 1). */
  deltaPct: number;
  /** Confidence interval of deltaPct (the bootstrap CI of the mean NLL difference, mapped through 100 x (e^d - 1)). */
  ciPct: [number, number];
  p: number;
  /** Mean per-token NLL (nats) of each model. */
  nllBase: number;
  nllTuned: number;
  n: number;
  unit: 'token' | 'block';
  units: number;
  resamples: number;
  confidence: number;
}

export const DEFAULT_RESAMPLES = 1000;
export const DEFAULT_SEED = 42;
export const DEFAULT_BLOCK_SIZE = 256;
/** 'auto' switches to blocks when the text holds at least this many of them. */
export const AUTO_MIN_BLOCKS = 16;

/**
 * Paired bootstrap of mean(b) - mean(a) over paired values (per-token NLLs of two models on the same tokens).
 * Throws on mismatched lengths, empty input, non-finite values or invalid options.
 */
export function pairedBootstrap(a: ArrayLike<number>, b: ArrayLike<number>, opts: PairedBootstrapOptions = {}): PairedBootstrapResult {
  const n = a.length;
  if (b.length !== n) throw new RangeError(`pairedBootstrap: the inputs must be paired, found lengths ${n} and ${b.length}`);
  if (n === 0) throw new RangeError('pairedBootstrap: no values to compare');
  const resamples = opts.resamples ?? DEFAULT_RESAMPLES;
  if (!Number.isInteger(resamples) || resamples < 1) throw new RangeError(`pairedBootstrap: resamples must be a positive integer, found ${resamples}`);
  const confidence = opts.confidence ?? 0.95;
  if (!(confidence > 0 && confidence < 1)) throw new RangeError(`pairedBootstrap: confidence must be in (0, 1), found ${confidence}`);
  if ((opts.statistic ?? 'mean') !== 'mean') throw new RangeError(`pairedBootstrap: unsupported statistic "${String(opts.statistic)}" (only 'mean')`);
  const blockSize = opts.blockSize ?? DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`pairedBootstrap: blockSize must be a positive integer, found ${blockSize}`);

  let sumA = 0;
  let sumB = 0;
  let sumD = 0;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const x = a[i] as number;
    const y = b[i] as number;
    if (!Number.isFinite(x) || !Number.isFinite(y)) {
      throw new NumericsError(`pairedBootstrap: value ${i} is not finite (a=${x}, b=${y}); an infinite NLL means a token had probability 0`);
    }
    sumA += x;
    sumB += y;
    d[i] = y - x;
    sumD += d[i] as number;
  }
  const diff = sumD / n;

  // Resampling units: per-unit sums of differences and token counts.
  const unit = chooseUnit(opts, n, blockSize);
  let sums: Float64Array;
  let counts: Float64Array | undefined;
  if (unit === 'token') {
    sums = d;
  } else {
    const lengths = opts.segments !== undefined ? checkSegments(opts.segments, n) : fixedBlocks(n, blockSize);
    sums = new Float64Array(lengths.length);
    counts = new Float64Array(lengths.length);
    let at = 0;
    for (let j = 0; j < lengths.length; j++) {
      const len = lengths[j] as number;
      let s = 0;
      for (let i = at; i < at + len; i++) s += d[i] as number;
      sums[j] = s;
      counts[j] = len;
      at += len;
    }
  }

  const units = sums.length;
  const rng = new Rng(opts.seed ?? DEFAULT_SEED);
  const stats = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let s = 0;
    let c = 0;
    if (counts === undefined) {
      for (let k = 0; k < units; k++) s += sums[rng.int(units)] as number;
      c = units;
    } else {
      for (let k = 0; k < units; k++) {
        const j = rng.int(units);
        s += sums[j] as number;
        c += counts[j] as number;
      }
    }
    stats[r] = s / c;
  }
  stats.sort();
  const alpha = 1 - confidence;
  const lo = quantileSorted(stats, alpha / 2);
  const hi = quantileSorted(stats, 1 - alpha / 2);

  let p = 1;
  if (diff !== 0) {
    let other = 0;
    for (let r = 0; r < resamples; r++) {
      const x = stats[r] as number;
      if (diff > 0 ? x <= 0 : x >= 0) other++;
    }
    p = Math.min(1, (2 * other) / resamples);
  }
  return { meanA: sumA / n, meanB: sumB / n, diff, lo, hi, p, n, unit, units, resamples, confidence };
}

/**
 * Perplexity of a base and a tuned model on the same tokens, from their per-token NLLs (nats), with a paired
 * bootstrap CI of the relative change. PPL = exp(mean NLL); the ratio pplTuned / pplBase = exp(mean difference).
 */
export function perplexityComparison(nllBase: ArrayLike<number>, nllTuned: ArrayLike<number>, opts: PairedBootstrapOptions = {}): PerplexityComparison {
  const r = pairedBootstrap(nllBase, nllTuned, opts);
  const pct = (x: number): number => 100 * Math.expm1(x);
  return {
    pplBase: Math.exp(r.meanA),
    pplTuned: Math.exp(r.meanB),
    deltaPct: pct(r.diff),
    ciPct: [pct(r.lo), pct(r.hi)],
    p: r.p,
    nllBase: r.meanA,
    nllTuned: r.meanB,
    n: r.n,
    unit: r.unit,
    units: r.units,
    resamples: r.resamples,
    confidence: r.confidence,
  };
}

/** The q-quantile of sorted values, linear interpolation between order statistics (numpy 'linear', R type 7). */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const m = sorted.length;
  if (m === 0) return Number.NaN;
  const h = (m - 1) * Math.min(1, Math.max(0, q));
  const k = Math.floor(h);
  const lower = sorted[k] as number;
  if (k + 1 >= m) return lower;
  const upper = sorted[k + 1] as number;
  // Written so that equal neighbours give exactly that value (no rounding from the interpolation).
  return lower === upper ? lower : lower + (h - k) * (upper - lower);
}

function chooseUnit(opts: PairedBootstrapOptions, n: number, blockSize: number): 'token' | 'block' {
  const unit = opts.unit ?? 'auto';
  if (opts.segments !== undefined) {
    if (unit === 'token') throw new RangeError("pairedBootstrap: `segments` define blocks; they cannot be combined with unit 'token'");
    return 'block';
  }
  if (unit === 'token' || unit === 'block') return unit;
  if (unit !== 'auto') throw new RangeError(`pairedBootstrap: unknown unit "${String(unit)}" (auto, token, block)`);
  return n >= AUTO_MIN_BLOCKS * blockSize ? 'block' : 'token';
}

function fixedBlocks(n: number, blockSize: number): number[] {
  const out: number[] = [];
  for (let at = 0; at < n; at += blockSize) out.push(Math.min(blockSize, n - at));
  return out;
}

function checkSegments(segments: ArrayLike<number>, n: number): number[] {
  const out: number[] = [];
  let total = 0;
  for (let j = 0; j < segments.length; j++) {
    const len = segments[j] as number;
    if (!Number.isInteger(len) || len < 1) throw new RangeError(`pairedBootstrap: segment ${j} has length ${len}; lengths must be positive integers`);
    out.push(len);
    total += len;
  }
  if (total !== n) throw new RangeError(`pairedBootstrap: segment lengths sum to ${total} but there are ${n} values`);
  return out;
}
