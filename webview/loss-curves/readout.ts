/**
 * The loss-curve panel's hover readout: for each visible run, the exact stored values (never the decimated ones)
 * at the step nearest the cursor, and the hint shown while no chart is hovered.
 */

import { el } from '../common/dom';
import { formatNumber } from '../common/format';
import type { RunData } from './store';

/** What the readout says while the cursor is off the charts. */
export function readoutHint(): HTMLElement {
  return el('span', { className: 'rt-muted', text: 'Hover a chart for exact values · drag across a chart to zoom · double-click to reset' });
}

/** The row of `run`'s exact values nearest to step `x`, or null when it has no point to show. */
export function readoutRow(run: RunData, x: number, color: string): HTMLElement | null {
  const i = run.steps.nearest(x);
  const parts: string[] = [];
  let step: number | undefined;
  if (i >= 0) {
    step = run.steps.x[i] as number;
    const c = run.steps.columns;
    parts.push(
      `total ${formatNumber(c.totalLoss[i], 6)}`,
      `token ${formatNumber(c.tokenLoss[i], 6)}`,
      `projection ${formatNumber(c.projectionLoss[i], 6)}`,
      `lr ${formatNumber(c.lr[i], 4)}`,
      `grad norm ${formatNumber(c.gradNorm[i], 5)}`,
    );
  }
  const h = run.evals.heldout;
  const j = h.nearest(x);
  if (j >= 0) parts.push(`held-out total ${formatNumber(h.columns.totalLoss[j], 6)} @ ${formatNumber(h.x[j], 8)}`);
  if (parts.length === 0) return null;
  const swatch = el('span', { className: 'rt-swatch' });
  swatch.style.background = color;
  return el('div', { className: 'lc-readout-row', attrs: { 'data-run': run.run } }, [
    swatch,
    el('strong', { text: run.label }),
    el('span', { className: 'lc-readout-step', text: step === undefined ? '' : `step ${formatNumber(step, 8)}` }),
    el('span', { className: 'lc-readout-values', text: parts.join(' · ') }),
  ]);
}
