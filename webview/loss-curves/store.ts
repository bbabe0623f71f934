/**
 * The loss-curve panel's data: every point of every run, in columnar growable Float64Arrays sorted by step.
 * Nothing is ever dropped here: drawing decimates a copy per frame (decimate.ts), CSV export writes these arrays.
 * Pure (no DOM), so it is unit-tested in Node.
 */

import type { EvalPoint, RunSeries, RunStatus, SeriesPoint, StepPoint } from '../../protocol/webview';
import { toCsv, type CsvValue } from '../common/csv';

export const STEP_COLUMNS = ['epoch', 'tokenLoss', 'projectionLoss', 'totalLoss', 'lr', 'gradNorm'] as const;
export const EVAL_COLUMNS = ['tokenLoss', 'projectionLoss', 'totalLoss'] as const;
export type StepColumn = (typeof STEP_COLUMNS)[number];
export type EvalColumn = (typeof EVAL_COLUMNS)[number];
export type EvalSplit = EvalPoint['split'];
export const EVAL_SPLITS: readonly EvalSplit[] = ['heldout', 'train'];

/** A table keyed by a sorted, unique x (the step), with one Float64Array per column; NaN marks a missing value. */
export class SortedSeries<C extends string> {
  x: Float64Array;
  readonly columns: Record<C, Float64Array>;
  length = 0;
  /** Bumped when a point is inserted or replaced anywhere but past the end (caches of the series go stale). */
  version = 0;

  constructor(
    readonly columnNames: readonly C[],
    capacity = 256,
  ) {
    this.x = new Float64Array(capacity);
    this.columns = {} as Record<C, Float64Array>;
    for (const c of columnNames) this.columns[c] = new Float64Array(capacity);
  }

  private grow(): void {
    const capacity = this.x.length * 2;
    const x = new Float64Array(capacity);
    x.set(this.x);
    this.x = x;
    for (const c of this.columnNames) {
      const a = new Float64Array(capacity);
      a.set(this.columns[c]);
      this.columns[c] = a;
    }
  }

  /** First index whose x is >= `x` (binary search). */
  lowerBound(x: number): number {
    let lo = 0;
    let hi = this.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.x[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Index of the point whose x is nearest to `x`, or -1 when empty. */
  nearest(x: number): number {
    if (this.length === 0) return -1;
    const i = this.lowerBound(x);
    if (i === 0) return 0;
    if (i === this.length) return this.length - 1;
    return x - (this.x[i - 1] as number) <= (this.x[i] as number) - x ? i - 1 : i;
  }

  /**
   * Inserts a row, or overwrites the row with the same x (a replayed point replaces, it does not duplicate).
   * Appending past the last x, the streaming case, is O(1) amortised; an out-of-order x shifts the tail.
   */
  upsert(x: number, values: Readonly<Record<C, number>>): void {
    const n = this.length;
    let i: number;
    if (n === 0 || x > (this.x[n - 1] as number)) {
      i = n;
    } else {
      i = this.lowerBound(x);
      this.version++;
      if (i < n && this.x[i] === x) {
        for (const c of this.columnNames) this.columns[c][i] = values[c];
        return;
      }
    }
    if (n === this.x.length) this.grow();
    if (i < n) {
      this.x.copyWithin(i + 1, i, n);
      for (const c of this.columnNames) this.columns[c].copyWithin(i + 1, i, n);
    }
    this.x[i] = x;
    for (const c of this.columnNames) this.columns[c][i] = values[c];
    this.length = n + 1;
  }

  column(c: C): Float64Array {
    return this.columns[c].subarray(0, this.length);
  }

  xs(): Float64Array {
    return this.x.subarray(0, this.length);
  }
}

export class RunData {
  label: string;
  status: RunStatus;
  statusMessage: string | undefined;
  progress: { done: number; total: number; unit: string } | undefined;
  readonly steps = new SortedSeries<StepColumn>(STEP_COLUMNS);
  readonly evals: Record<EvalSplit, SortedSeries<EvalColumn>> = {
    heldout: new SortedSeries<EvalColumn>(EVAL_COLUMNS, 16),
    train: new SortedSeries<EvalColumn>(EVAL_COLUMNS, 16),
  };

  constructor(
    readonly run: string,
    label?: string,
    status: RunStatus = 'running',
  ) {
    this.label = label ?? run;
    this.status = status;
  }

  add(p: SeriesPoint): void {
    const v = (m: number | null): number => (m === null ? Number.NaN : m);
    if (p.kind === 'step') {
      const s: StepPoint = p;
      this.steps.upsert(s.step, {
        epoch: s.epoch,
        tokenLoss: v(s.tokenLoss),
        projectionLoss: v(s.projectionLoss),
        totalLoss: v(s.totalLoss),
        lr: v(s.lr),
        gradNorm: v(s.gradNorm),
      });
    } else {
      this.evals[p.split].upsert(p.step, {
        tokenLoss: v(p.tokenLoss),
        projectionLoss: v(p.projectionLoss),
        totalLoss: v(p.totalLoss),
      });
    }
  }

  pointCount(): number {
    return this.steps.length + this.evals.heldout.length + this.evals.train.length;
  }

  /** [first, last] step over steps and evals, or undefined when empty. */
  extent(): [number, number] | undefined {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (const s of [this.steps, this.evals.heldout, this.evals.train]) {
      if (s.length === 0) continue;
      lo = Math.min(lo, s.x[0] as number);
      hi = Math.max(hi, s.x[s.length - 1] as number);
    }
    return lo <= hi ? [lo, hi] : undefined;
  }
}

export const CSV_HEADER = ['run', 'kind', 'split', 'step', 'epoch', 'token_loss', 'projection_loss', 'total_loss', 'lr', 'grad_norm'] as const;

export class LossStore {
  readonly runs = new Map<string, RunData>();
  /** Bumped whenever the set of runs (not their points) changes, so the view knows to rebuild its series. */
  structureVersion = 0;

  private ensure(run: string): RunData {
    let r = this.runs.get(run);
    if (!r) {
      r = new RunData(run);
      this.runs.set(run, r);
      this.structureVersion++;
    }
    return r;
  }

  /** Replaces everything with the extension's state. */
  applySnapshot(series: readonly RunSeries[]): void {
    this.runs.clear();
    for (const s of series) {
      const r = new RunData(s.run, s.label, s.status);
      for (const p of s.points) r.add(p);
      this.runs.set(s.run, r);
    }
    this.structureVersion++;
  }

  append(run: string, points: readonly SeriesPoint[]): void {
    const r = this.ensure(run);
    for (const p of points) r.add(p);
  }

  setStatus(run: string, status: RunStatus, message?: string): void {
    const r = this.ensure(run);
    r.status = status;
    r.statusMessage = message;
  }

  setProgress(run: string, done: number, total: number, unit: string): void {
    this.ensure(run).progress = { done, total, unit };
  }

  pointCount(run?: string): number {
    if (run !== undefined) return this.runs.get(run)?.pointCount() ?? 0;
    let n = 0;
    for (const r of this.runs.values()) n += r.pointCount();
    return n;
  }

  /** Every stored point, one row each: steps first, then evaluations, per run in arrival order. */
  toCsv(): string {
    const num = (x: number): CsvValue => (Number.isNaN(x) ? null : x);
    const rows: CsvValue[][] = [];
    for (const r of this.runs.values()) {
      const s = r.steps;
      const c = s.columns;
      for (let i = 0; i < s.length; i++) {
        rows.push([
          r.run,
          'step',
          'train',
          s.x[i] as number,
          num(c.epoch[i] as number),
          num(c.tokenLoss[i] as number),
          num(c.projectionLoss[i] as number),
          num(c.totalLoss[i] as number),
          num(c.lr[i] as number),
          num(c.gradNorm[i] as number),
        ]);
      }
      for (const split of EVAL_SPLITS) {
        const e = r.evals[split];
        const ec = e.columns;
        for (let i = 0; i < e.length; i++) {
          rows.push([
            r.run,
            'eval',
            split,
            e.x[i] as number,
            null,
            num(ec.tokenLoss[i] as number),
            num(ec.projectionLoss[i] as number),
            num(ec.totalLoss[i] as number),
            null,
            null,
          ]);
        }
      }
    }
    return toCsv(CSV_HEADER, rows);
  }
}
