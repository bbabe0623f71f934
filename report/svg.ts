/**
 * The report's figures as standalone SVG text (inline in report.html, files beside report.md), drawn with the
 * panels' pure drawing code: the loss curves decimated min/max per pixel column as the loss-curve panel does
 * (webview/loss-curves/decimate.ts), the heatmaps in the panel's colour scale and cell geometry
 * (webview/heatmap/color-scale.ts, layout.ts), numbers in the panels' format (webview/common/format.ts). Every
 * text is escaped; colours are fixed (a shared document has no editor theme).
 */
import type { Heatmap } from '../protocol/job';
import { formatNumber, formatTicks } from '../webview/common/format';
import { colorFor, contrastText, type Rgb } from '../webview/heatmap/color-scale';
import { heatmapLayout } from '../webview/heatmap/layout';
import { alignAndDecimate } from '../webview/loss-curves/decimate';

export const PALETTE = ['#1a85ff', '#d18616', '#388a34', '#b180d7', '#e51400', '#0f9d9a', '#8c564b', '#7f7f7f'];

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

export interface LineSeries {
  name: string;
  x: readonly number[];
  y: readonly number[];
  color: string;
  dashed?: boolean;
  /** Draw a marker at every point (few points, e.g. held-out evals). */
  markers?: boolean;
  /** Vertical error bars [lo, hi] per point. */
  whiskers?: ReadonlyArray<readonly [number, number]>;
}

export interface LineChart {
  title: string;
  xLabel: string;
  yLabel: string;
  series: LineSeries[];
  width?: number;
  height?: number;
  yRange?: [number, number];
  /** Horizontal reference lines (e.g. the unsteered and tuned rates). */
  refs?: Array<{ name: string; y: number; color: string }>;
}

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step0 = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(step0));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= step0) ?? step0;
  const out: number[] = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12"';

/** A line chart; series with more points than pixel columns are decimated min/max per column. */
export function lineChartSvg(c: LineChart): string {
  const W = c.width ?? 640;
  const H = c.height ?? 280;
  const m = { left: 56, right: 12, top: 26, bottom: 58 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const finite = (v: number) => Number.isFinite(v);
  const xs = c.series.flatMap((s) => s.x.filter(finite));
  const ys = [...c.series.flatMap((s) => [...s.y, ...(s.whiskers ?? []).flat()].filter(finite)), ...(c.refs ?? []).map((r) => r.y)];
  let [x0, x1] = xs.length ? [Math.min(...xs), Math.max(...xs)] : [0, 1];
  let [y0, y1] = c.yRange ?? (ys.length ? [Math.min(...ys), Math.max(...ys)] : [0, 1]);
  if (x1 === x0) [x0, x1] = [x0 - 1, x1 + 1];
  if (y1 === y0) [y0, y1] = [y0 - 1, y1 + 1];
  if (!c.yRange) {
    const pad = (y1 - y0) * 0.05;
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const X = (v: number) => m.left + ((v - x0) / (x1 - x0)) * pw;
  const Y = (v: number) => m.top + ph - ((v - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`);
  parts.push(`<text x="${m.left}" y="16" font-weight="600">${escapeXml(c.title)}</text>`);
  const yt = niceTicks(y0, y1);
  const ytl = formatTicks(yt);
  yt.forEach((t, i) => {
    parts.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${Y(t).toFixed(1)}" y2="${Y(t).toFixed(1)}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${m.left - 6}" y="${(Y(t) + 4).toFixed(1)}" text-anchor="end" fill="#555">${escapeXml(ytl[i] ?? '')}</text>`);
  });
  const xt = niceTicks(x0, x1, 6);
  const xtl = formatTicks(xt);
  xt.forEach((t, i) => parts.push(`<text x="${X(t).toFixed(1)}" y="${m.top + ph + 16}" text-anchor="middle" fill="#555">${escapeXml(xtl[i] ?? '')}</text>`));
  parts.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#999"/>`);
  parts.push(`<text x="${m.left + pw / 2}" y="${m.top + ph + 32}" text-anchor="middle" fill="#333">${escapeXml(c.xLabel)}</text>`);
  parts.push(`<text transform="translate(14 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" fill="#333">${escapeXml(c.yLabel)}</text>`);
  for (const r of c.refs ?? []) {
    parts.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${Y(r.y).toFixed(1)}" y2="${Y(r.y).toFixed(1)}" stroke="${r.color}" stroke-dasharray="2 3" stroke-width="1.5"/>`,
    );
  }
  for (const s of c.series) {
    const n = s.x.length;
    const dec = alignAndDecimate([{ x: s.x, y: s.y, length: n }], Math.min(...s.x), Math.max(...s.x), pw);
    const ysd = dec.ys[0] ?? [];
    let d = '';
    let pen = false;
    dec.xs.forEach((x, i) => {
      const y = ysd[i];
      if (y === null) pen = false;
      if (y === null || y === undefined) return;
      d += `${pen ? 'L' : 'M'}${X(x).toFixed(1)} ${Y(y).toFixed(1)}`;
      pen = true;
    });
    if (d !== '') parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1.6"${s.dashed ? ' stroke-dasharray="5 3"' : ''}/>`);
    s.x.forEach((x, i) => {
      const y = s.y[i] as number;
      const w = s.whiskers?.[i];
      if (w && finite(w[0]) && finite(w[1]))
        parts.push(`<line x1="${X(x).toFixed(1)}" x2="${X(x).toFixed(1)}" y1="${Y(w[0]).toFixed(1)}" y2="${Y(w[1]).toFixed(1)}" stroke="${s.color}"/>`);
      if (s.markers && finite(y)) parts.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3" fill="${s.color}"/>`);
    });
  }
  // Legend below the axis title.
  let lx = m.left;
  const items = [
    ...c.series.map((s) => ({ name: s.name, color: s.color, dash: s.dashed === true })),
    ...(c.refs ?? []).map((r) => ({ name: r.name, color: r.color, dash: true })),
  ];
  for (const it of items) {
    const y = H - 10;
    parts.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="${y - 4}" y2="${y - 4}" stroke="${it.color}" stroke-width="2"${it.dash ? ' stroke-dasharray="4 2"' : ''}/>`,
    );
    parts.push(`<text x="${lx + 22}" y="${y}" fill="#333">${escapeXml(it.name)}</text>`);
    lx += 30 + it.name.length * 7;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} role="img" aria-label="${escapeXml(c.title)}">${parts.join('')}</svg>`;
}

const rgb = (c: Rgb) => `rgb(${c[0]},${c[1]},${c[2]})`;

/** A heatmap event as the panel draws it: one cell per value, the value printed in cells wide enough. */
export function heatmapSvg(h: Heatmap, availableWidth = 640): string {
  const fontSize = 12;
  const nRows = h.rows.length;
  const nCols = h.columns.length;
  const L = heatmapLayout({
    nRows,
    nCols,
    availableWidth: availableWidth - 90,
    availableHeight: 420,
    fontSize,
    longestColumnLabel: Math.max(2, ...h.columns.map((c) => c.length)),
    longestRowLabel: Math.max(2, ...h.rows.map((r) => String(r).length)),
  });
  const top = L.top + 20;
  const legendX = L.width + 16;
  const W = Math.max(legendX + 70, Math.ceil(h.title.length * 7.2) + 12);
  const H = Math.max(L.height + 20, top + 160);
  const parts: string[] = [`<rect x="0" y="0" width="${W}" height="${H}" fill="#ffffff"/>`];
  parts.push(`<text x="4" y="14" font-weight="600">${escapeXml(h.title)}</text>`);
  const label = L.cellW >= 40 && L.cellH >= 16;
  h.rows.forEach((r, i) => {
    if (i % L.rowStride === 0)
      parts.push(`<text x="${L.left - 4}" y="${top + (i + 0.5) * L.cellH + 4}" text-anchor="end" fill="#333">${escapeXml(String(r))}</text>`);
    h.columns.forEach((_c, j) => {
      const v = h.values[i]?.[j];
      const col = colorFor(v, h.min, h.max);
      const x = L.left + j * L.cellW;
      const y = top + i * L.cellH;
      parts.push(
        `<rect x="${x}" y="${y}" width="${L.cellW}" height="${L.cellH}" fill="${rgb(col)}"><title>${escapeXml(`${h.rowLabel} ${r}, ${h.columnLabel} ${h.columns[j] ?? ''}: ${formatNumber(v)}`)}</title></rect>`,
      );
      if (label)
        parts.push(
          `<text x="${x + L.cellW / 2}" y="${y + L.cellH / 2 + 4}" text-anchor="middle" fill="${contrastText(col)}" font-size="11">${escapeXml(formatNumber(v, 3))}</text>`,
        );
    });
  });
  h.columns.forEach((c, j) => {
    if (j % L.colStride !== 0) return;
    const x = L.left + (j + 0.5) * L.cellW;
    parts.push(`<text transform="translate(${x + 4} ${top + nRows * L.cellH + 6}) rotate(-90)" text-anchor="end" fill="#333">${escapeXml(c)}</text>`);
  });
  parts.push(`<text x="${L.left + (nCols * L.cellW) / 2}" y="${H - 4}" text-anchor="middle" fill="#333">${escapeXml(h.columnLabel)}</text>`);
  parts.push(`<text transform="translate(12 ${top + (nRows * L.cellH) / 2}) rotate(-90)" text-anchor="middle" fill="#333">${escapeXml(h.rowLabel)}</text>`);
  // Legend: the colour scale from min to max.
  const steps = 24;
  for (let k = 0; k < steps; k++) {
    const v = h.max - ((h.max - h.min) * (k + 0.5)) / steps;
    parts.push(`<rect x="${legendX}" y="${top + k * 5}" width="14" height="5" fill="${rgb(colorFor(v, h.min, h.max))}"/>`);
  }
  parts.push(`<text x="${legendX + 18}" y="${top + 8}" fill="#333">${escapeXml(formatNumber(h.max, 3))}</text>`);
  parts.push(`<text x="${legendX + 18}" y="${top + steps * 5}" fill="#333">${escapeXml(formatNumber(h.min, 3))}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" ${FONT} role="img" aria-label="${escapeXml(h.title)}">${parts.join('')}</svg>`;
}
