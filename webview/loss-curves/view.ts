/**
 * The loss-curve panel's view model, without DOM: the five plotted metrics, the view settings kept in webview
 * state (log scale, hidden runs, zoom), which stored series each chart draws, and the x range shown.
 */

import type { SeriesDef } from './chart';
import type { XYSeries } from './decimate';
import { EVAL_SPLITS, type EvalColumn, type RunData, type StepColumn } from './store';

export type PlotMetric = Exclude<StepColumn, 'epoch'>;

export interface MetricSpec {
  key: PlotMetric;
  title: string;
  /** Evaluations carry this metric too (losses only). */
  evals: boolean;
}

export const METRICS: readonly MetricSpec[] = [
  { key: 'totalLoss', title: 'Total loss', evals: true },
  { key: 'tokenLoss', title: 'Token loss', evals: true },
  { key: 'projectionLoss', title: 'Projection loss', evals: true },
  { key: 'lr', title: 'Learning rate', evals: false },
  { key: 'gradNorm', title: 'Gradient norm', evals: false },
];

export interface ViewState {
  logScale: boolean;
  hiddenRuns: string[];
  zoom: [number, number] | null;
}

export function parseState(x: unknown): ViewState {
  const s = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>;
  const zoom = s['zoom'];
  return {
    logScale: s['logScale'] === true,
    hiddenRuns: Array.isArray(s['hiddenRuns']) ? s['hiddenRuns'].filter((r): r is string => typeof r === 'string') : [],
    zoom:
      Array.isArray(zoom) && zoom.length === 2 && typeof zoom[0] === 'number' && typeof zoom[1] === 'number' && zoom[0] < zoom[1] ? [zoom[0], zoom[1]] : null,
  };
}

/** Which stored series a uPlot series draws. */
export interface Source {
  run: RunData;
  kind: SeriesDef['kind'];
}

export function sourcesFor(spec: MetricSpec, runs: readonly RunData[]): Source[] {
  const out: Source[] = [];
  for (const run of runs) {
    out.push({ run, kind: 'step' });
    if (!spec.evals) continue;
    for (const split of EVAL_SPLITS) if (run.evals[split].length > 0) out.push({ run, kind: split });
  }
  return out;
}

export function xySeries(source: Source, metric: PlotMetric): XYSeries {
  if (source.kind === 'step') {
    const s = source.run.steps;
    return { x: s.x, y: s.columns[metric], length: s.length, owner: s, column: metric, version: s.version };
  }
  const e = source.run.evals[source.kind];
  return { x: e.x, y: e.columns[metric as EvalColumn], length: e.length, owner: e, column: metric, version: e.version };
}

/** The x range shown: the user's zoom, else every visible point. */
export function viewRange(runs: readonly RunData[], zoom: ViewState['zoom']): [number, number] | undefined {
  if (zoom) return zoom;
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const r of runs) {
    const e = r.extent();
    if (!e) continue;
    lo = Math.min(lo, e[0]);
    hi = Math.max(hi, e[1]);
  }
  return lo <= hi ? [lo, hi] : undefined;
}
