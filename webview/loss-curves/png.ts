/**
 * PNG export of the loss-curve panel: the charts as drawn (each uPlot canvas and its caption), under a legend of
 * the visible runs, on the theme's background, at the device pixel ratio.
 */

import type { Theme } from '../common/theme';
import type { MetricChart } from './chart';

/** A run in the exported legend. */
export interface LegendEntry {
  label: string;
  color: string;
}

/** A chart to copy: its figure (for the caption) and its chart (for the canvas). */
export interface ChartFigure {
  figure: HTMLElement;
  chart: MetricChart;
}

/** Composes `section`'s charts and a legend of `runs` into one PNG; returns it as a data URL. */
export function composePng(section: HTMLElement, charts: readonly ChartFigure[], runs: readonly LegendEntry[], theme: Theme): string {
  const dpr = window.devicePixelRatio || 1;
  const box = section.getBoundingClientRect();
  const legendHeight = 28;
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(box.width * dpr));
  canvas.height = Math.max(1, Math.round((box.height + legendHeight) * dpr));
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2d canvas context');
  ctx.scale(dpr, dpr);
  ctx.fillStyle = theme.background;
  ctx.fillRect(0, 0, box.width, box.height + legendHeight);
  ctx.font = `${theme.fontSize}px ${theme.font}`;
  ctx.textBaseline = 'middle';
  let x = 8;
  for (const run of runs) {
    ctx.fillStyle = run.color;
    ctx.fillRect(x, legendHeight / 2 - 1.5, 14, 3);
    x += 20;
    ctx.fillStyle = theme.foreground;
    ctx.fillText(run.label, x, legendHeight / 2);
    x += ctx.measureText(run.label).width + 18;
  }
  for (const slot of charts) {
    const source = slot.chart.canvas();
    if (!source) continue;
    const caption = slot.figure.querySelector('figcaption');
    if (caption) {
      const r = caption.getBoundingClientRect();
      ctx.fillStyle = theme.foreground;
      ctx.fillText(caption.textContent ?? '', r.left - box.left, legendHeight + r.top - box.top + r.height / 2);
    }
    const r = source.getBoundingClientRect();
    ctx.drawImage(source, r.left - box.left, legendHeight + r.top - box.top, r.width, r.height);
  }
  return canvas.toDataURL('image/png');
}
