/**
 * Geometry of a heatmap drawing: cell sizes, margins for labels and which labels fit. Pure, so tests (and the
 * hover code) agree with the drawing about where each cell is.
 */

export interface HeatmapLayout {
  nRows: number;
  nCols: number;
  /** Cell size in CSS pixels (integers, so cells tile the grid exactly). */
  cellW: number;
  cellH: number;
  /** Grid origin inside the canvas, CSS pixels. */
  left: number;
  top: number;
  /** Whole canvas, CSS pixels. */
  width: number;
  height: number;
  /** Label every n-th row / column so labels do not overlap. */
  rowStride: number;
  colStride: number;
}

export interface LayoutInput {
  nRows: number;
  nCols: number;
  /** Width available for the canvas, CSS pixels. */
  availableWidth: number;
  /** Height the grid may use before cells shrink, CSS pixels. */
  availableHeight: number;
  fontSize: number;
  /** Longest column label in characters (for the bottom margin). */
  longestColumnLabel: number;
  /** Longest row label in characters (for the left margin). */
  longestRowLabel: number;
}

const MIN_CELL = 3;
const MAX_CELL_W = 48;
const MAX_CELL_H = 28;

export function heatmapLayout(input: LayoutInput): HeatmapLayout {
  const nRows = Math.max(1, input.nRows);
  const nCols = Math.max(1, input.nCols);
  const charW = input.fontSize * 0.62;
  // Left: axis title (rotated) + row labels. Bottom: rotated column labels (at most 14 characters) + axis title.
  const left = Math.ceil(input.fontSize * 1.6 + Math.min(8, Math.max(2, input.longestRowLabel)) * charW + 8);
  const bottom = Math.ceil(Math.min(14, Math.max(2, input.longestColumnLabel)) * charW + input.fontSize * 2 + 10);
  const top = 6;
  const right = 8;
  const cellW = Math.max(MIN_CELL, Math.min(MAX_CELL_W, Math.floor((input.availableWidth - left - right) / nCols)));
  const cellH = Math.max(MIN_CELL, Math.min(MAX_CELL_H, Math.floor(input.availableHeight / nRows)));
  const spacing = input.fontSize + 2;
  return {
    nRows,
    nCols,
    cellW,
    cellH,
    left,
    top,
    width: left + nCols * cellW + right,
    height: top + nRows * cellH + bottom,
    rowStride: Math.max(1, Math.ceil(spacing / cellH)),
    colStride: Math.max(1, Math.ceil(spacing / cellW)),
  };
}

/** The cell under a point (CSS pixels inside the canvas), or undefined outside the grid. */
export function cellAt(layout: HeatmapLayout, x: number, y: number): { row: number; col: number } | undefined {
  const col = Math.floor((x - layout.left) / layout.cellW);
  const row = Math.floor((y - layout.top) / layout.cellH);
  if (x < layout.left || y < layout.top || col >= layout.nCols || row >= layout.nRows) return undefined;
  return { row, col };
}

/** Centre of a cell, CSS pixels inside the canvas. */
export function cellCenter(layout: HeatmapLayout, row: number, col: number): { x: number; y: number } {
  return { x: layout.left + (col + 0.5) * layout.cellW, y: layout.top + (row + 0.5) * layout.cellH };
}
