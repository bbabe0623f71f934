/**
 * Loss-curve panel: token loss, projection loss, total loss, learning rate and gradient norm against step, for
 * several runs overlaid, streaming while a job runs.
 *
 * Data flow: messages update the LossStore at once (cheap, nothing dropped); a redraw is scheduled for the next
 * animation frame, which decimates the visible range to the plot width and hands it to uPlot. Only view settings
 * (log scale, hidden runs, zoom) go into webview state; the extension replays the data with a snapshot.
 * This file builds the DOM, takes the messages and renders; view.ts holds the metrics, view state and series
 * mapping, readout.ts the hover readout, png.ts the PNG export.
 */

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import 'uplot/dist/uPlot.min.css';
import '../common/base.css';
import './style.css';

import type { ExtensionMessage } from '../../protocol/webview';
import { appRoot, el, suggestedFileName } from '../common/dom';
import { formatCount, formatNumber } from '../common/format';
import { exposeTestHooks, startPanel } from '../common/runtime';
import { readTheme, type Theme } from '../common/theme';
import { MetricChart, type SeriesDef } from './chart';
import { alignAndDecimate, DecimationCache } from './decimate';
import { composePng } from './png';
import { readoutHint, readoutRow } from './readout';
import { LossStore, type RunData } from './store';
import { METRICS, parseState, sourcesFor, viewRange, xySeries, type MetricSpec, type Source, type ViewState } from './view';

interface ChartSlot {
  spec: MetricSpec;
  figure: HTMLElement;
  chart: MetricChart;
  sources: Source[];
}

const store = new LossStore();
/** Per-column min/max of every plotted series, kept between frames (decimate.ts). */
const decimation = new DecimationCache();
let theme: Theme = readTheme();
let themeVersion = 0;
let builtSignature = '';
let legendVersion = -1;
let lastCursor: number | null = null;

const root = appRoot();
const logBox = el('vscode-checkbox', { attrs: { id: 'log-scale' } });
logBox.label = 'Log scale';
const resetZoom = el('vscode-button', { text: 'Reset zoom', attrs: { id: 'reset-zoom', secondary: '' } });
const exportPng = el('vscode-button', { text: 'Export PNG', attrs: { id: 'export-png', secondary: '' } });
const exportCsv = el('vscode-button', { text: 'Export CSV', attrs: { id: 'export-csv', secondary: '' } });
const runsList = el('section', { className: 'lc-runs', attrs: { id: 'runs', 'aria-label': 'Runs' } });
const readout = el('div', { className: 'lc-readout', attrs: { id: 'readout', 'aria-live': 'polite' } });
const chartsSection = el('section', { className: 'lc-charts', attrs: { id: 'charts' } });
const empty = el('p', { className: 'rt-empty', text: 'No runs yet. Run Tuning on a .rtune file and its loss curves stream in here.', attrs: { id: 'empty' } });
const status = el('footer', { className: 'rt-status', attrs: { id: 'status' } });
root.append(
  el('header', { className: 'rt-toolbar' }, [
    el('h1', { text: 'Loss curves' }),
    logBox,
    resetZoom,
    el('span', { className: 'rt-spacer' }),
    exportPng,
    exportCsv,
  ]),
  runsList,
  readout,
  chartsSection,
  empty,
  status,
);

const runtime = startPanel<ViewState>({
  panel: 'loss-curves',
  onMessage,
  onTheme: () => {
    theme = readTheme();
    themeVersion++;
  },
  render,
});
let state = parseState(runtime.api.getState());
logBox.checked = state.logScale;

function saveState(): void {
  runtime.api.setState(state);
}

const charts: ChartSlot[] = METRICS.map((spec) => {
  const plotHost = el('div', { className: 'lc-plot' });
  const figure = el('figure', { className: 'lc-chart', attrs: { 'data-metric': spec.key } }, [el('figcaption', { text: spec.title }), plotHost]);
  chartsSection.append(figure);
  const chart = new MetricChart(plotHost, {
    onCursor: showReadout,
    onZoom: (min, max) => {
      state = { ...state, zoom: [min, max] };
      saveState();
      runtime.scheduler.schedule();
    },
    onResetZoom: () => {
      if (state.zoom === null) return;
      state = { ...state, zoom: null };
      saveState();
      runtime.scheduler.schedule();
    },
  });
  return { spec, figure, chart, sources: [] };
});

function onMessage(m: ExtensionMessage): void {
  switch (m.type) {
    case 'snapshot':
      store.applySnapshot(m.runs);
      break;
    case 'append':
      store.append(m.run, m.points);
      break;
    case 'runStatus':
      store.setStatus(m.run, m.status, m.message);
      break;
    case 'progress':
      store.setProgress(m.run, m.done, m.total, m.unit);
      break;
    case 'theme':
      theme = readTheme();
      themeVersion++;
      break;
    case 'heatmap':
    case 'trials':
      break; // other panels' data
  }
}

function runColor(run: RunData): string {
  let i = 0;
  for (const r of store.runs.values()) {
    if (r === run) break;
    i++;
  }
  return theme.palette[i % theme.palette.length] as string;
}

function visibleRuns(): RunData[] {
  const hidden = new Set(state.hiddenRuns);
  return [...store.runs.values()].filter((r) => !hidden.has(r.run));
}

function renderLegend(): void {
  if (legendVersion !== store.structureVersion) {
    legendVersion = store.structureVersion;
    runsList.replaceChildren();
    const hidden = new Set(state.hiddenRuns);
    for (const run of store.runs.values()) {
      const box = el('vscode-checkbox', { attrs: { 'data-run': run.run } });
      box.label = run.label;
      box.checked = !hidden.has(run.run);
      box.addEventListener('change', () => {
        const hide = new Set(state.hiddenRuns);
        if (box.checked) hide.delete(run.run);
        else hide.add(run.run);
        state = { ...state, hiddenRuns: [...hide] };
        saveState();
        runtime.scheduler.schedule();
      });
      const swatch = el('span', { className: 'rt-swatch' });
      runsList.append(
        el('div', { className: 'lc-run', attrs: { 'data-run': run.run } }, [
          swatch,
          box,
          el('span', { className: 'lc-run-status' }),
          el('span', { className: 'lc-run-count rt-muted' }),
          el('span', { className: 'lc-run-message' }),
        ]),
      );
    }
  }
  for (const row of Array.from(runsList.children)) {
    const run = store.runs.get((row as HTMLElement).dataset['run'] ?? '');
    if (!run) continue;
    (row.querySelector('.rt-swatch') as HTMLElement).style.background = runColor(run);
    const st = row.querySelector('.lc-run-status') as HTMLElement;
    st.textContent = run.status;
    st.className = `lc-run-status lc-status-${run.status}`;
    const evals = run.evals.heldout.length + run.evals.train.length;
    const p = run.progress;
    (row.querySelector('.lc-run-count') as HTMLElement).textContent =
      `${formatCount(run.steps.length)} steps` +
      (evals > 0 ? ` · ${formatCount(evals)} evals` : '') +
      (p && p.total > 0 && run.status === 'running' ? ` · ${Math.floor((100 * p.done) / p.total)}% of ${formatCount(p.total)} ${p.unit}` : '');
    const msg = row.querySelector('.lc-run-message') as HTMLElement;
    msg.textContent = run.statusMessage ?? '';
    // A failure's message is an error; a finished run's is its summary line.
    msg.classList.toggle('rt-error', run.status === 'failed' || run.status === 'interrupted');
    msg.classList.toggle('rt-muted', run.status !== 'failed' && run.status !== 'interrupted');
  }
}

function chartSignature(runs: readonly RunData[]): string {
  return JSON.stringify([themeVersion, state.logScale, runs.map((r) => [r.run, r.evals.heldout.length > 0, r.evals.train.length > 0])]);
}

function rebuildCharts(runs: readonly RunData[]): void {
  for (const slot of charts) {
    slot.sources = sourcesFor(slot.spec, runs);
    const defs: SeriesDef[] = slot.sources.map((s) => ({
      label: s.kind === 'step' ? s.run.label : `${s.run.label} (${s.kind} eval)`,
      color: runColor(s.run),
      kind: s.kind,
    }));
    slot.chart.build(defs, theme, state.logScale, slot.chart.host.clientWidth);
  }
}

function render(): void {
  renderLegend();
  const runs = visibleRuns();
  const hasData = store.pointCount() > 0;
  empty.hidden = store.runs.size > 0;
  chartsSection.hidden = !hasData;
  resetZoom.hidden = state.zoom === null;
  const sig = chartSignature(runs);
  if (hasData && sig !== builtSignature) {
    builtSignature = sig;
    rebuildCharts(runs);
  }
  const view = viewRange(runs, state.zoom);
  let drawn = 0;
  if (hasData && view) {
    for (const slot of charts) {
      const series = slot.sources.map((s) => xySeries(s, slot.spec.key));
      const aligned = alignAndDecimate(series, view[0], view[1], slot.chart.plotWidth(), { positiveOnly: state.logScale, cache: decimation });
      slot.chart.setData(aligned, view);
      drawn += aligned.drawnPoints;
    }
  }
  const nRuns = store.runs.size;
  status.textContent =
    `${nRuns} run${nRuns === 1 ? '' : 's'} · ${formatCount(store.pointCount())} points stored · ${formatCount(drawn)} drawn` +
    (state.zoom ? ` · steps ${formatNumber(state.zoom[0], 6)}–${formatNumber(state.zoom[1], 6)}` : '');
  if (lastCursor !== null) showReadout(lastCursor, true);
}

/** Exact stored values nearest to step `x` for every visible run. */
function showReadout(x: number | null, force = false): void {
  if (x === lastCursor && !force) return;
  lastCursor = x;
  if (x === null) {
    readout.replaceChildren(readoutHint());
    return;
  }
  const rows: HTMLElement[] = [];
  for (const run of visibleRuns()) {
    const row = readoutRow(run, x, runColor(run));
    if (row) rows.push(row);
  }
  readout.replaceChildren(...rows);
}

logBox.addEventListener('change', () => {
  state = { ...state, logScale: logBox.checked };
  saveState();
  runtime.scheduler.schedule();
});
resetZoom.addEventListener('click', () => {
  state = { ...state, zoom: null };
  saveState();
  runtime.scheduler.schedule();
});
exportCsv.addEventListener('click', () => {
  const only = store.runs.size === 1 ? [...store.runs.keys()][0] : undefined;
  runtime.post({
    type: 'exportCsv',
    panel: 'loss-curves',
    csv: store.toCsv(),
    suggestedName: suggestedFileName(only ? `${only}-losses` : 'loss-curves', 'csv'),
  });
});
exportPng.addEventListener('click', () => {
  if (store.pointCount() === 0) {
    runtime.reportError('nothing to export yet: no points have arrived');
    return;
  }
  const legend = visibleRuns().map((r) => ({ label: r.label, color: runColor(r) }));
  runtime.post({
    type: 'exportPng',
    panel: 'loss-curves',
    dataUrl: composePng(chartsSection, charts, legend, theme),
    suggestedName: suggestedFileName('loss-curves', 'png'),
  });
});

new ResizeObserver(() => {
  for (const slot of charts) slot.chart.setWidth(slot.chart.host.clientWidth);
  runtime.scheduler.schedule();
}).observe(chartsSection);

showReadout(null);
runtime.scheduler.schedule();

exposeTestHooks(runtime, {
  pointCount: (run?: string) => store.pointCount(run),
  stepCount: (run: string) => store.runs.get(run)?.steps.length ?? 0,
  drawnPoints: () => charts.map((c) => c.chart.lastAligned?.drawnPoints ?? 0),
  modes: () => charts.map((c) => c.chart.lastAligned?.mode ?? null),
  viewState: () => state,
  theme: () => theme,
  /** Page coordinates (CSS px) of step `x` on a chart's plot area, for hover tests. */
  pagePoint: (metric: string, x: number) => {
    const slot = charts.find((c) => c.spec.key === metric);
    const u = slot?.chart.uplot;
    if (!u) return null;
    const r = u.over.getBoundingClientRect();
    return { x: r.left + u.valToPos(x, 'x'), y: r.top + r.height / 2 };
  },
});
