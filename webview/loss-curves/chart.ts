/**
 * One metric's chart (e.g. total loss against step): a uPlot instance fed with decimated, aligned data.
 * uPlot draws axes, grid, lines, the hover cursor and the drag selection; the panel owns the data, the x view
 * (so all charts share one x range and zoom) and the readout of exact values.
 */

import uPlot from 'uplot';
import { formatTicks } from '../common/format';
import type { Theme } from '../common/theme';
import type { Aligned } from './decimate';

export interface SeriesDef {
  label: string;
  color: string;
  /** 'step' = the training curve; 'heldout' / 'train' = evaluation points (dashed, with markers). */
  kind: 'step' | 'heldout' | 'train';
}

export interface ChartCallbacks {
  /** Cursor moved to step `x` (in data units), or left the plot (null). */
  onCursor(x: number | null): void;
  /** The user dragged across [min, max] (data units). */
  onZoom(min: number, max: number): void;
  /** The user double-clicked: back to the full range. */
  onResetZoom(): void;
}

export const CHART_HEIGHT = 200;
const SYNC_KEY = 'rtune-loss-curves';

export class MetricChart {
  private plot: uPlot | undefined;
  private view: [number, number] = [0, 1];
  lastAligned: Aligned | undefined;

  constructor(
    readonly host: HTMLElement,
    private readonly callbacks: ChartCallbacks,
  ) {}

  get uplot(): uPlot | undefined {
    return this.plot;
  }

  /** (Re)creates the chart for a new set of series, scale type or theme. */
  build(series: readonly SeriesDef[], theme: Theme, logScale: boolean, width: number): void {
    this.destroy();
    const font = `${Math.round(theme.fontSize * 0.85)}px ${theme.font}`;
    const axis = (): uPlot.Axis => ({
      stroke: theme.foreground,
      font,
      grid: { stroke: theme.lines, width: 1 },
      ticks: { stroke: theme.lines, width: 1, size: 4 },
      values: (_u, ticks) => formatTicks(ticks),
    });
    const opts: uPlot.Options = {
      width: Math.max(120, width),
      height: CHART_HEIGHT,
      legend: { show: false },
      cursor: {
        sync: { key: SYNC_KEY, setSeries: false },
        drag: { x: true, y: false, setScale: false },
        points: { size: 6 },
      },
      scales: {
        x: { time: false, range: () => [this.view[0], this.view[1]] },
        y: logScale ? { distr: 3, log: 10 } : { auto: true },
      },
      axes: [axis(), { ...axis(), size: 58 }],
      series: [
        {},
        ...series.map(
          (s): uPlot.Series => ({
            label: s.label,
            stroke: s.color,
            width: s.kind === 'step' ? 1.5 : 1.25,
            spanGaps: false,
            ...(s.kind === 'step'
              ? { points: { show: false } }
              : { dash: s.kind === 'heldout' ? [6, 4] : [2, 3], points: { show: true, size: 5, stroke: s.color, fill: theme.background } }),
          }),
        ),
      ],
      hooks: {
        setCursor: [
          (u) => {
            const left = u.cursor.left;
            this.callbacks.onCursor(left === undefined || left < 0 ? null : u.posToVal(left, 'x'));
          },
        ],
        setSelect: [
          (u) => {
            if (u.select.width > 3) {
              const a = u.posToVal(u.select.left, 'x');
              const b = u.posToVal(u.select.left + u.select.width, 'x');
              u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
              this.callbacks.onZoom(Math.min(a, b), Math.max(a, b));
            }
          },
        ],
      },
    };
    this.plot = new uPlot(opts, [[]], this.host);
    this.plot.over.addEventListener('dblclick', () => this.callbacks.onResetZoom());
  }

  /** Plot width in CSS pixels: the number of pixel columns to decimate to. */
  plotWidth(): number {
    const u = this.plot;
    if (!u) return 0;
    return Math.max(1, Math.round(u.bbox.width / (window.devicePixelRatio || 1)));
  }

  setWidth(width: number): void {
    this.plot?.setSize({ width: Math.max(120, width), height: CHART_HEIGHT });
  }

  setData(aligned: Aligned, view: [number, number]): void {
    if (!this.plot) return;
    this.view = view[0] < view[1] ? view : [view[0] - 1, view[1] + 1];
    this.lastAligned = aligned;
    const plot = this.plot;
    // batch() draws now instead of in a microtask, so the frame's render time includes the drawing.
    plot.batch(() => plot.setData([aligned.xs, ...aligned.ys] as uPlot.AlignedData, true));
  }

  canvas(): HTMLCanvasElement | undefined {
    return this.plot?.ctx.canvas;
  }

  destroy(): void {
    this.plot?.destroy();
    this.plot = undefined;
    this.lastAligned = undefined;
  }
}
