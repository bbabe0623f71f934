/**
 * The leaderboard's columns as data (what each shows, how it sorts and formats) and the sort itself. Pure, so the
 * ordering rules are unit-tested in Node and the panel only renders.
 */

import type { TrialData } from '../../protocol/webview';
import { formatNumber } from '../common/format';

/** A trial row: what arrives over JSON (losses and rates may be null). */
export type TrialRow = TrialData;

export type SortValue = number | string | null;

export interface Column {
  key: string;
  /** Header text; `group` is the header above it (e.g. "Token loss" over "start" and "end"). */
  label: string;
  group: string;
  /** Tooltip on the header. */
  title: string;
  numeric: boolean;
  /** Lower is better: the best value in the column is marked. */
  best?: 'min' | 'max';
  value(t: TrialRow): SortValue;
  format(t: TrialRow): string;
}

const blocks = (b: readonly string[]): string => (b.length === 0 ? '—' : b.join(' '));
const percent = (v: number | null): string => (v === null ? '—' : `${(v * 100).toFixed(1)}%`);

export const COLUMNS: readonly Column[] = [
  { key: 'trial', label: '#', group: '', title: 'Trial number', numeric: true, value: (t) => t.trial, format: (t) => String(t.trial) },
  { key: 'run', label: 'Run', group: '', title: 'Run (search) the trial belongs to', numeric: false, value: (t) => t.run, format: (t) => t.run },
  {
    key: 'rung',
    label: 'Rung',
    group: '',
    title: 'Successive halving: the rung the trial reached (exhaustive search: 0)',
    numeric: true,
    value: (t) => t.rung,
    format: (t) => String(t.rung),
  },
  {
    key: 'tokenBlocks',
    label: 'token loss',
    group: 'Blocks trained by',
    title: 'Parameter blocks trained by the token loss',
    numeric: false,
    value: (t) => `${String(t.tokenBlocks.length).padStart(3, '0')} ${t.tokenBlocks.join(' ')}`,
    format: (t) => blocks(t.tokenBlocks),
  },
  {
    key: 'projectionBlocks',
    label: 'projection loss',
    group: 'Blocks trained by',
    title: 'Parameter blocks trained by the projection loss',
    numeric: false,
    value: (t) => `${String(t.projectionBlocks.length).padStart(3, '0')} ${t.projectionBlocks.join(' ')}`,
    format: (t) => blocks(t.projectionBlocks),
  },
  { key: 'steps', label: 'Steps', group: '', title: 'Optimisation steps run', numeric: true, value: (t) => t.steps, format: (t) => String(t.steps) },
  {
    key: 'initialTokenLoss',
    label: 'start',
    group: 'Token loss',
    title: 'Token loss before the trial',
    numeric: true,
    value: (t) => t.initialTokenLoss,
    format: (t) => formatNumber(t.initialTokenLoss),
  },
  {
    key: 'finalTokenLoss',
    label: 'end',
    group: 'Token loss',
    title: 'Token loss after the trial',
    numeric: true,
    best: 'min',
    value: (t) => t.finalTokenLoss,
    format: (t) => formatNumber(t.finalTokenLoss),
  },
  {
    key: 'initialProjectionLoss',
    label: 'start',
    group: 'Projection loss',
    title: 'Projection loss before the trial',
    numeric: true,
    value: (t) => t.initialProjectionLoss,
    format: (t) => formatNumber(t.initialProjectionLoss),
  },
  {
    key: 'finalProjectionLoss',
    label: 'end',
    group: 'Projection loss',
    title: 'Projection loss after the trial',
    numeric: true,
    best: 'min',
    value: (t) => t.finalProjectionLoss,
    format: (t) => formatNumber(t.finalProjectionLoss),
  },
  {
    key: 'targetRate',
    label: 'target',
    group: 'Held-out A/B',
    numeric: true,
    value: (t) => t.targetRate,
    format: (t) => percent(t.targetRate),
    title: "Share of held-out A/B items answered with the tune's target letter (the truthful one for labels honest, the lie for labels dishonest)",
  },
  {
    key: 'otherRate',
    label: 'other',
    group: 'Held-out A/B',
    title: 'Share of held-out A/B items answered with the other letter',
    numeric: true,
    value: (t) => t.otherRate,
    format: (t) => percent(t.otherRate),
  },
  {
    key: 'seconds',
    label: 'Time (s)',
    group: '',
    title: 'Wall-clock seconds for the trial',
    numeric: true,
    value: (t) => t.seconds,
    format: (t) => t.seconds.toFixed(1),
  },
  {
    key: 'sample',
    label: 'Sample',
    group: '',
    title: 'A generation from the tuned model after the trial',
    numeric: false,
    value: (t) => t.sample,
    format: (t) => t.sample,
  },
];

export type SortDirection = 'asc' | 'desc';

export function columnByKey(key: string): Column | undefined {
  return COLUMNS.find((c) => c.key === key);
}

function compareValues(a: SortValue, b: SortValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return String(a).localeCompare(String(b), 'en');
}

/**
 * Trials ordered by a column. Missing values (null) go last in both directions, so a diverged trial never tops
 * the board; ties keep trial order (run, then trial number), so the order is stable as trials stream in.
 */
export function sortTrials(trials: readonly TrialRow[], key: string, direction: SortDirection): TrialRow[] {
  const column = columnByKey(key) ?? (COLUMNS[0] as Column);
  const sign = direction === 'asc' ? 1 : -1;
  return [...trials].sort((x, y) => {
    const a = column.value(x);
    const b = column.value(y);
    if (a === null || b === null) {
      if (a !== b) return a === null ? 1 : -1;
    } else {
      const c = compareValues(a, b);
      if (c !== 0) return sign * c;
    }
    return x.run === y.run ? x.trial - y.trial : x.run.localeCompare(y.run, 'en');
  });
}

/** Index (into `trials`) of the best value of a column that has one, or -1. */
export function bestIndex(trials: readonly TrialRow[], column: Column): number {
  if (!column.best) return -1;
  let best = -1;
  let bestValue = 0;
  trials.forEach((t, i) => {
    const v = column.value(t);
    if (typeof v !== 'number') return;
    if (best < 0 || (column.best === 'min' ? v < bestValue : v > bestValue)) {
      best = i;
      bestValue = v;
    }
  });
  return best;
}
