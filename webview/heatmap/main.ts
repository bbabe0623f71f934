/**
 * Projection heatmap panel: a layers x positions (or layers x steps) table of values, usually the cosine with the
 * steering direction, drawn cell by cell into canvas ImageData with a diverging colour scale and its legend.
 * Several heatmaps (e.g. "cosine before tuning", "cosine after tuning", "separation (extraction)") are kept and
 * one is chosen with a dropdown; a heatmap with the same run and title as an earlier one replaces it (the
 * layers x steps table grows during training). Only the selection is saved in webview state.
 */

import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '../common/base.css';
import './style.css';

import { heatmapKey, type ExtensionMessage, type HeatmapData } from '../../protocol/webview';
import { toCsv } from '../common/csv';
import { appRoot, el, suggestedFileName } from '../common/dom';
import { formatCount, formatNumber } from '../common/format';
import { exposeTestHooks, startPanel } from '../common/runtime';
import { readTheme, type Theme } from '../common/theme';
import { colorAt, colorFor, scalePosition } from './color-scale';
import { cellAt, cellCenter, heatmapLayout, type HeatmapLayout } from './layout';

interface ViewState {
  selected: string | null;
}

function parseState(x: unknown): ViewState {
  const s = (typeof x === 'object' && x !== null ? x : {}) as Record<string, unknown>;
  return { selected: typeof s['selected'] === 'string' ? s['selected'] : null };
}

/** Heatmaps in arrival order (a replacement keeps its place). */
const heatmaps = new Map<string, HeatmapData>();
let theme: Theme = readTheme();
let optionsVersion = 0;
let builtOptionsVersion = -1;
let layout: HeatmapLayout | undefined;
let drawn: HeatmapData | undefined;
let drawnKey = '';
let hovered: { row: number; col: number } | undefined;

const root = appRoot();
const select = el('vscode-single-select', { attrs: { id: 'heatmap-select', 'aria-label': 'Heatmap' } });
const exportPng = el('vscode-button', { text: 'Export PNG', attrs: { id: 'export-png', secondary: '' } });
const exportCsv = el('vscode-button', { text: 'Export CSV', attrs: { id: 'export-csv', secondary: '' } });
const info = el('span', { className: 'rt-status', attrs: { id: 'info' } });
const readout = el('div', { className: 'hm-readout', attrs: { id: 'readout', 'aria-live': 'polite' } });
const canvas = el('canvas', { className: 'hm-canvas', attrs: { id: 'heatmap', role: 'img' } });
const highlight = el('div', { className: 'hm-highlight', attrs: { hidden: '' } });
const legend = el('canvas', { className: 'hm-legend', attrs: { id: 'legend', role: 'img' } });
const stage = el('div', { className: 'hm-stage' }, [el('div', { className: 'hm-grid' }, [canvas, highlight]), legend]);
const empty = el('p', {
  className: 'rt-empty',
  text: 'No heatmaps yet. Extract a direction or run tuning: per-layer cosines with the direction appear here.',
  attrs: { id: 'empty' },
});
root.append(
  el('header', { className: 'rt-toolbar' }, [
    el('h1', { text: 'Projection heatmap' }),
    select,
    info,
    el('span', { className: 'rt-spacer' }),
    exportPng,
    exportCsv,
  ]),
  readout,
  stage,
  empty,
);

const runtime = startPanel<ViewState>({
  panel: 'heatmap',
  onMessage,
  onTheme: () => {
    theme = readTheme();
    drawnKey = '';
  },
  render,
});
let state = parseState(runtime.api.getState());

function onMessage(m: ExtensionMessage): void {
  switch (m.type) {
    case 'snapshot':
      heatmaps.clear();
      for (const h of m.heatmaps ?? []) heatmaps.set(heatmapKey(h), h);
      optionsVersion++;
      drawnKey = '';
      break;
    case 'heatmap': {
      const key = heatmapKey(m.heatmap);
      if (!heatmaps.has(key)) optionsVersion++;
      heatmaps.set(key, m.heatmap);
      if (key === state.selected) drawnKey = '';
      break;
    }
    case 'theme':
      theme = readTheme();
      drawnKey = '';
      break;
    case 'append':
    case 'runStatus':
    case 'progress':
    case 'trials':
      break; // other panels' data
  }
}

/** The heatmap to show: the saved selection if it exists, else the first one. */
function current(): [string, HeatmapData] | undefined {
  if (state.selected !== null) {
    const h = heatmaps.get(state.selected);
    if (h) return [state.selected, h];
  }
  const first = heatmaps.entries().next();
  return first.done ? undefined : first.value;
}

function optionLabel(h: HeatmapData): string {
  return `${h.title} — ${h.run}`;
}

function renderOptions(selectedKey: string | undefined): void {
  if (builtOptionsVersion !== optionsVersion) {
    builtOptionsVersion = optionsVersion;
    select.replaceChildren(
      ...[...heatmaps.entries()].map(([key, h]) => {
        const o = el('vscode-option', { text: optionLabel(h) });
        o.value = key;
        return o;
      }),
    );
  }
  if (selectedKey !== undefined && select.value !== selectedKey) select.value = selectedKey;
  select.disabled = heatmaps.size < 2;
}

function render(): void {
  const entry = current();
  renderOptions(entry?.[0]);
  empty.hidden = entry !== undefined;
  stage.hidden = entry === undefined;
  if (!entry) {
    info.textContent = '';
    readout.replaceChildren();
    return;
  }
  const [key, h] = entry;
  const available = Math.max(320, root.clientWidth - 28 - 90);
  const next = heatmapLayout({
    nRows: h.rows.length,
    nCols: h.columns.length,
    availableWidth: available,
    availableHeight: Math.max(240, window.innerHeight - 170),
    fontSize: theme.fontSize * 0.85,
    longestColumnLabel: h.columns.reduce((n, c) => Math.max(n, c.length), 0),
    longestRowLabel: h.rows.reduce((n, r) => Math.max(n, String(r).length), 0) + 1,
  });
  const sameGeometry = layout !== undefined && JSON.stringify(layout) === JSON.stringify(next);
  if (drawnKey === key && drawn === h && sameGeometry) return;
  layout = next;
  drawn = h;
  drawnKey = key;
  drawHeatmap(h, next);
  drawLegend(h, next);
  info.textContent = `${formatCount(h.rows.length)} ${h.rowLabel}s × ${formatCount(h.columns.length)} ${h.columnLabel}s · scale ${formatNumber(h.min)} to ${formatNumber(h.max)}`;
  showReadout(hovered);
}

function sizeCanvas(c: HTMLCanvasElement, width: number, height: number): { ctx: CanvasRenderingContext2D; dpr: number } {
  const dpr = window.devicePixelRatio || 1;
  c.width = Math.max(1, Math.round(width * dpr));
  c.height = Math.max(1, Math.round(height * dpr));
  c.style.width = `${width}px`;
  c.style.height = `${height}px`;
  const ctx = c.getContext('2d');
  if (!ctx) throw new Error('no 2d canvas context');
  return { ctx, dpr };
}

/** Device-pixel boundaries of `n` cells of `size` CSS px starting at `origin`. */
function boundaries(origin: number, size: number, n: number, dpr: number): Int32Array {
  const b = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) b[i] = Math.round((origin + i * size) * dpr);
  return b;
}

function packRgb(r: number, g: number, b: number): number {
  // ImageData is RGBA bytes; a Uint32Array view on little-endian hardware reads them as ABGR.
  return ((255 << 24) | (b << 16) | (g << 8) | r) >>> 0;
}

function drawHeatmap(h: HeatmapData, L: HeatmapLayout): void {
  const { ctx, dpr } = sizeCanvas(canvas, L.width, L.height);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, canvas.width, canvas.height);

  const xs = boundaries(L.left, L.cellW, L.nCols, dpr);
  const ys = boundaries(L.top, L.cellH, L.nRows, dpr);
  const x0 = xs[0] as number;
  const y0 = ys[0] as number;
  const w = (xs[L.nCols] as number) - x0;
  const hgt = (ys[L.nRows] as number) - y0;
  const image = ctx.createImageData(w, hgt);
  const pixels = new Uint32Array(image.data.buffer);
  const line = new Uint32Array(w);
  for (let i = 0; i < L.nRows; i++) {
    const row = h.values[i] ?? [];
    for (let j = 0; j < L.nCols; j++) {
      const [r, g, b] = colorFor(row[j], h.min, h.max);
      line.fill(packRgb(r, g, b), (xs[j] as number) - x0, (xs[j + 1] as number) - x0);
    }
    for (let y = (ys[i] as number) - y0; y < (ys[i + 1] as number) - y0; y++) pixels.set(line, y * w);
  }
  ctx.putImageData(image, x0, y0);

  // Labels, in CSS pixels.
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  const fontSize = Math.round(theme.fontSize * 0.85);
  ctx.font = `${fontSize}px ${theme.font}`;
  ctx.fillStyle = theme.foreground;
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'right';
  for (let i = 0; i < L.nRows; i += L.rowStride) {
    const c = cellCenter(L, i, 0);
    ctx.fillText(String(h.rows[i]), L.left - 4, c.y);
  }
  const gridBottom = L.top + L.nRows * L.cellH;
  for (let j = 0; j < L.nCols; j += L.colStride) {
    const c = cellCenter(L, 0, j);
    const label = (h.columns[j] ?? '').replace(/\s/g, '·');
    ctx.save();
    ctx.translate(c.x, gridBottom + 4);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(label.length > 14 ? `${label.slice(0, 13)}…` : label, 0, 0);
    ctx.restore();
  }
  ctx.fillStyle = theme.muted;
  ctx.textAlign = 'center';
  ctx.textBaseline = 'bottom';
  ctx.fillText(h.columnLabel, L.left + (L.nCols * L.cellW) / 2, L.height - 2);
  ctx.save();
  ctx.translate(fontSize * 0.9, L.top + (L.nRows * L.cellH) / 2);
  ctx.rotate(-Math.PI / 2);
  ctx.textBaseline = 'middle';
  ctx.fillText(h.rowLabel, 0, 0);
  ctx.restore();
}

/** Tick values for the legend: the ends, 0 when the range spans it, and the halfway points. */
function legendTicks(min: number, max: number): number[] {
  if (min < 0 && max > 0) return [max, max / 2, 0, min / 2, min];
  return [max, (min + max) / 2, min];
}

function drawLegend(h: HeatmapData, L: HeatmapLayout): void {
  const barTop = L.top;
  const barHeight = Math.max(120, L.nRows * L.cellH);
  const barWidth = 14;
  const width = 86;
  const { ctx, dpr } = sizeCanvas(legend, width, barTop + barHeight + 8);
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, legend.width, legend.height);
  const bx = Math.round(4 * dpr);
  const by = Math.round(barTop * dpr);
  const bw = Math.round(barWidth * dpr);
  const bh = Math.round(barHeight * dpr);
  const image = ctx.createImageData(bw, bh);
  const pixels = new Uint32Array(image.data.buffer);
  for (let y = 0; y < bh; y++) {
    // Top is max, bottom is min: position along the same scale the cells use.
    const value = h.max - ((y + 0.5) / bh) * (h.max - h.min);
    const [r, g, b] = colorAt(scalePosition(value, h.min, h.max));
    pixels.fill(packRgb(r, g, b), y * bw, (y + 1) * bw);
  }
  ctx.putImageData(image, bx, by);
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.strokeStyle = theme.border;
  ctx.strokeRect(4.5, barTop + 0.5, barWidth - 1, barHeight - 1);
  ctx.font = `${Math.round(theme.fontSize * 0.85)}px ${theme.font}`;
  ctx.fillStyle = theme.foreground;
  ctx.textAlign = 'left';
  ctx.textBaseline = 'middle';
  for (const t of legendTicks(h.min, h.max)) {
    const y = barTop + ((h.max - t) / (h.max - h.min)) * barHeight;
    ctx.fillRect(4 + barWidth, Math.round(y) - 0.5, 4, 1);
    ctx.fillText(formatNumber(t, 3), 4 + barWidth + 7, Math.min(Math.max(y, barTop + 6), barTop + barHeight - 6));
  }
}

function showReadout(cell: { row: number; col: number } | undefined): void {
  const h = drawn;
  if (!h || !layout || !cell) {
    highlight.hidden = true;
    readout.replaceChildren(el('span', { className: 'rt-muted', text: `Hover a cell for its exact value. ${h ? h.title : ''}` }));
    return;
  }
  const v = h.values[cell.row]?.[cell.col] ?? null;
  const swatch = el('span', { className: 'hm-swatch' });
  const [r, g, b] = colorFor(v, h.min, h.max);
  swatch.style.background = `rgb(${r}, ${g}, ${b})`;
  readout.replaceChildren(
    swatch,
    el('span', { text: `${h.rowLabel} ${h.rows[cell.row]}` }),
    el('span', { className: 'rt-muted', text: '·' }),
    el('span', { text: `${h.columnLabel} ${JSON.stringify(h.columns[cell.col] ?? '')} (#${cell.col})` }),
    el('span', { className: 'rt-muted', text: '·' }),
    el('strong', { className: 'hm-value', text: v === null ? 'missing' : String(v), attrs: { 'data-value': v === null ? '' : String(v) } }),
    el('span', { className: 'rt-muted', text: h.title }),
  );
  highlight.hidden = false;
  highlight.style.left = `${layout.left + cell.col * layout.cellW - 1}px`;
  highlight.style.top = `${layout.top + cell.row * layout.cellH - 1}px`;
  highlight.style.width = `${layout.cellW + 2}px`;
  highlight.style.height = `${layout.cellH + 2}px`;
}

canvas.addEventListener('mousemove', (e) => {
  if (!layout) return;
  const rect = canvas.getBoundingClientRect();
  hovered = cellAt(layout, e.clientX - rect.left, e.clientY - rect.top);
  showReadout(hovered);
});
canvas.addEventListener('mouseleave', () => {
  hovered = undefined;
  showReadout(undefined);
});

select.addEventListener('change', () => {
  state = { ...state, selected: select.value };
  runtime.api.setState(state);
  hovered = undefined;
  runtime.scheduler.schedule();
});

function composePng(): string {
  const out = document.createElement('canvas');
  out.width = canvas.width + legend.width;
  out.height = Math.max(canvas.height, legend.height);
  const ctx = out.getContext('2d');
  if (!ctx) throw new Error('no 2d canvas context');
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(canvas, 0, 0);
  ctx.drawImage(legend, canvas.width, 0);
  return out.toDataURL('image/png');
}

exportPng.addEventListener('click', () => {
  if (!drawn) return runtime.reportError('nothing to export yet: no heatmap has arrived');
  runtime.post({ type: 'exportPng', panel: 'heatmap', dataUrl: composePng(), suggestedName: suggestedFileName(`${drawn.run}-${drawn.title}`, 'png') });
});
exportCsv.addEventListener('click', () => {
  const h = drawn;
  if (!h) return runtime.reportError('nothing to export yet: no heatmap has arrived');
  const csv = toCsv(
    [`${h.rowLabel}\\${h.columnLabel}`, ...h.columns],
    h.rows.map((r, i) => [r, ...(h.values[i] ?? [])]),
  );
  runtime.post({ type: 'exportCsv', panel: 'heatmap', csv, suggestedName: suggestedFileName(`${h.run}-${h.title}`, 'csv') });
});

new ResizeObserver(() => runtime.scheduler.schedule()).observe(root);
runtime.scheduler.schedule();

exposeTestHooks(runtime, {
  selectedKey: () => current()?.[0] ?? null,
  heatmapKeys: () => [...heatmaps.keys()],
  layout: () => layout ?? null,
  /** Canvas device-pixel coordinates of a cell's centre. */
  cellCenterDevice: (row: number, col: number) => {
    if (!layout) return null;
    const c = cellCenter(layout, row, col);
    const dpr = window.devicePixelRatio || 1;
    return { x: Math.floor(c.x * dpr), y: Math.floor(c.y * dpr) };
  },
  /** Page coordinates (CSS px) of a cell's centre, for hover tests. */
  cellCenterPage: (row: number, col: number) => {
    if (!layout) return null;
    const c = cellCenter(layout, row, col);
    const r = canvas.getBoundingClientRect();
    return { x: r.left + c.x, y: r.top + c.y };
  },
  pixel: (x: number, y: number) => Array.from(canvas.getContext('2d')?.getImageData(x, y, 1, 1).data ?? []),
  theme: () => theme,
});
