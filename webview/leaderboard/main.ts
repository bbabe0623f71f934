/**
 * Block-search leaderboard: one row per finished trial (which blocks each loss trained, losses before and after,
 * held-out A/B rates, a sample generation, time), sortable by any column, updating as trials arrive.
 * Only the sort column and direction are saved in webview state.
 */

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '../common/base.css';
import './style.css';

import { trialKey, type ExtensionMessage, type TrialData } from '../../protocol/webview';
import { toCsv } from '../common/csv';
import { appRoot, el, suggestedFileName } from '../common/dom';
import { formatCount, formatNumber } from '../common/format';
import { exposeTestHooks, startPanel } from '../common/runtime';
import { bestIndex, columnByKey, COLUMNS, sortTrials, type Column, type SortDirection } from './columns';

interface ViewState {
  sortKey: string;
  sortDirection: SortDirection;
}

function parseState(x: unknown): ViewState {
  const s = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>;
  const key = typeof s['sortKey'] === 'string' && columnByKey(s['sortKey']) ? s['sortKey'] : 'trial';
  return { sortKey: key, sortDirection: s['sortDirection'] === 'desc' ? 'desc' : 'asc' };
}

const trials = new Map<string, TrialData>();
/** Keys of the trials that arrived in the latest message, briefly highlighted. */
let fresh = new Set<string>();
/** The latest progress of each search run ("trial 12 of 35"). */
const progress = new Map<string, { done: number; total: number; unit: string; message?: string }>();
let version = 0;
let renderedVersion = -1;
let renderedColumns = '';

const root = appRoot();
const exportCsv = el('vscode-button', { text: 'Export CSV', attrs: { id: 'export-csv', secondary: '' } });
const summary = el('span', { className: 'rt-status', attrs: { id: 'summary' } });
const table = el('table', { className: 'lb-table', attrs: { id: 'leaderboard' } });
const thead = el('thead');
const tbody = el('tbody');
table.append(thead, tbody);
const wrap = el('div', { className: 'lb-wrap' }, [table]);
const empty = el('p', {
  className: 'rt-empty',
  text: 'No trials yet. Run Block Search on a search section and trials appear here as they finish.',
  attrs: { id: 'empty' },
});
root.append(
  el('header', { className: 'rt-toolbar' }, [el('h1', { text: 'Block search' }), summary, el('span', { className: 'rt-spacer' }), exportCsv]),
  wrap,
  empty,
);

const runtime = startPanel<ViewState>({ panel: 'leaderboard', onMessage, onTheme: () => undefined, render });
let state = parseState(runtime.api.getState());

function onMessage(m: ExtensionMessage): void {
  switch (m.type) {
    case 'snapshot':
      trials.clear();
      for (const t of m.trials ?? []) trials.set(trialKey(t), t);
      progress.clear();
      fresh = new Set();
      version++;
      break;
    case 'trials':
      fresh = new Set();
      for (const t of m.trials) {
        const key = trialKey(t);
        trials.set(key, t);
        fresh.add(key);
      }
      version++;
      break;
    case 'progress':
      progress.set(m.run, { done: m.done, total: m.total, unit: m.unit, ...(m.message !== undefined ? { message: m.message } : {}) });
      break;
    case 'runStatus':
      if (m.status !== 'running') progress.delete(m.run);
      break;
    case 'append':
    case 'heatmap':
    case 'theme':
      break;
  }
}

function visibleColumns(rows: readonly TrialData[]): Column[] {
  const runs = new Set(rows.map((t) => t.run));
  const halving = rows.some((t) => t.rung !== 0);
  return COLUMNS.filter((c) => (c.key !== 'run' || runs.size > 1) && (c.key !== 'rung' || halving));
}

function renderHeader(columns: readonly Column[]): void {
  const groups = el('tr', { className: 'lb-groups' });
  for (let i = 0; i < columns.length; ) {
    const group = (columns[i] as Column).group;
    let span = 1;
    while (i + span < columns.length && (columns[i + span] as Column).group === group && group !== '') span++;
    groups.append(el('th', { text: group, attrs: { colspan: String(span), scope: 'colgroup' } }));
    i += span;
  }
  const labels = el('tr');
  for (const c of columns) {
    const active = c.key === state.sortKey;
    const arrow = active ? (state.sortDirection === 'asc' ? ' ▲' : ' ▼') : '';
    const button = el('button', {
      className: 'lb-sort',
      text: c.label + arrow,
      title: `${c.title}. Click to sort.`,
      attrs: { type: 'button', 'data-key': c.key },
    });
    button.addEventListener('click', () => {
      state = { sortKey: c.key, sortDirection: active && state.sortDirection === 'asc' ? 'desc' : 'asc' };
      runtime.api.setState(state);
      renderedVersion = -1;
      runtime.scheduler.schedule();
    });
    labels.append(
      el(
        'th',
        {
          className: c.numeric ? 'lb-num' : '',
          attrs: { scope: 'col', 'data-key': c.key, 'aria-sort': active ? (state.sortDirection === 'asc' ? 'ascending' : 'descending') : 'none' },
        },
        [button],
      ),
    );
  }
  thead.replaceChildren(groups, labels);
}

function render(): void {
  const rows = [...trials.values()];
  empty.hidden = rows.length > 0;
  wrap.hidden = rows.length === 0;
  renderSummary(rows);
  if (renderedVersion === version) return;
  renderedVersion = version;
  const columns = visibleColumns(rows);
  const headerKey = JSON.stringify([columns.map((c) => c.key), state]);
  if (headerKey !== renderedColumns) {
    renderedColumns = headerKey;
    renderHeader(columns);
  }
  const sorted = sortTrials(rows, state.sortKey, state.sortDirection);
  const best = new Map(columns.filter((c) => c.best).map((c) => [c.key, sorted[bestIndex(sorted, c)]]));
  tbody.replaceChildren(
    ...sorted.map((t) => {
      const key = trialKey(t);
      const tr = el('tr', { className: fresh.has(key) ? 'lb-fresh' : '', attrs: { 'data-trial': String(t.trial), 'data-run': t.run } });
      for (const c of columns) {
        const v = c.value(t);
        const text = c.format(t);
        const td = el('td', {
          className: [c.numeric ? 'lb-num' : '', c.key === 'sample' ? 'lb-sample' : '', best.get(c.key) === t ? 'lb-best' : ''].filter(Boolean).join(' '),
          text,
          attrs: { 'data-key': c.key, 'data-value': v === null ? '' : String(c.key === 'tokenBlocks' || c.key === 'projectionBlocks' ? text : v) },
        });
        if (c.key === 'sample') td.title = t.sample;
        tr.append(td);
      }
      return tr;
    }),
  );
  // Highlight arrivals once; a re-render for sorting must not flash them again.
  fresh = new Set();
}

/** Trial count, the best final projection loss, and the progress of running searches (cheap: every frame). */
function renderSummary(rows: readonly TrialData[]): void {
  const best = rows[bestIndex(rows, columnByKey('finalProjectionLoss') as Column)];
  summary.textContent =
    `${formatCount(rows.length)} trial${rows.length === 1 ? '' : 's'}` +
    (best ? ` · lowest final projection loss ${formatNumber(best.finalProjectionLoss)} (trial ${best.trial})` : '') +
    [...progress.values()].map((p) => ` · ${formatCount(p.done)} of ${formatCount(p.total)} ${p.unit}${p.message ? ` (${p.message})` : ''}`).join('');
}

exportCsv.addEventListener('click', () => {
  const rows = sortTrials([...trials.values()], state.sortKey, state.sortDirection);
  const csv = toCsv(
    [
      'run',
      'trial',
      'rung',
      'token_blocks',
      'projection_blocks',
      'steps',
      'initial_token_loss',
      'final_token_loss',
      'initial_projection_loss',
      'final_projection_loss',
      'target_rate',
      'other_rate',
      'seconds',
      'sample',
    ],
    rows.map((t) => [
      t.run,
      t.trial,
      t.rung,
      t.tokenBlocks.join(' '),
      t.projectionBlocks.join(' '),
      t.steps,
      t.initialTokenLoss,
      t.finalTokenLoss,
      t.initialProjectionLoss,
      t.finalProjectionLoss,
      t.targetRate,
      t.otherRate,
      t.seconds,
      t.sample,
    ]),
  );
  runtime.post({ type: 'exportCsv', panel: 'leaderboard', csv, suggestedName: suggestedFileName('block-search', 'csv') });
});

runtime.scheduler.schedule();

exposeTestHooks(runtime, {
  trialCount: () => trials.size,
  /** Displayed order: [run, trial] per row. */
  order: () => Array.from(tbody.rows).map((r) => [r.dataset['run'], Number(r.dataset['trial'])]),
  viewState: () => state,
});
