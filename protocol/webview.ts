/**
 * Typed messages between the extension (which owns every run's full metric series) and its webview panels
 * (loss curves, projection heatmap, block-search leaderboard), which are views of that state.
 *
 * Flow: a panel posts `ready` once its listener is installed; the extension answers with a `snapshot` (the whole
 * state that panel shows) and then streams deltas (`append`, `heatmap`, `trials`, `runStatus`). A hidden webview
 * receives no messages and may be destroyed, so every time a panel is shown again it posts `ready` anew and the
 * extension replays a `snapshot`. Panels keep only view settings (log scale, sort column, selected heatmap) in
 * webview state; data always comes from the extension.
 *
 * Every message carries `protocolVersion`; both sides validate what they receive with `checkExtensionMessage` /
 * `checkPanelMessage` (postMessage is a trust boundary, and a version skew between a cached webview bundle and a
 * newer extension must be a readable error, not a blank panel).
 *
 * Numbers: postMessage serialises to JSON, where NaN and ±Infinity become `null`. Metric values are therefore
 * `number | null`, `null` meaning "not finite" (e.g. a step where the NaN guard fired); panels draw a gap.
 *
 * Like protocol/job.ts this module has no runtime dependencies; it imports job.ts types only.
 */

import type { Heatmap, JobProgress, SearchTrial, TuneEval, TuneStep } from './job';

export const WEBVIEW_PROTOCOL_VERSION = 1;

/** The panels, by the name of their bundle under dist/webview/ (`dist/webview/<panel>.js` and `.css`). */
export const PANEL_KINDS = ['loss-curves', 'heatmap', 'leaderboard'] as const;
export type PanelKind = (typeof PANEL_KINDS)[number];

export { RUN_STATUSES, type RunStatus } from './contract';
import type { RunStatus } from './contract';

/** A metric value; `null` = not finite (NaN/Infinity do not survive JSON). */
export type Metric = number | null;

/** One optimisation step (the plotted subset of `TuneStep`). */
export interface StepPoint {
  kind: 'step';
  step: number;
  epoch: number;
  tokenLoss: Metric;
  projectionLoss: Metric;
  totalLoss: Metric;
  lr: Metric;
  gradNorm: Metric;
}

/** One evaluation (the plotted subset of `TuneEval`). */
export interface EvalPoint {
  kind: 'eval';
  step: number;
  split: 'heldout' | 'train';
  tokenLoss: Metric;
  projectionLoss: Metric;
  totalLoss: Metric;
}

export type SeriesPoint = StepPoint | EvalPoint;

/**
 * Everything the loss-curve panel knows about one run. Send the *full* series: the panel decimates for drawing
 * (min/max per pixel column) and exports every point to CSV, so a decimated snapshot would lose CSV rows.
 * 10,000 points are about 1.2 MB of JSON, which postMessage handles in milliseconds.
 */
export interface RunSeries {
  /** Run id (the run folder name); the key for `append` and `runStatus`. */
  run: string;
  /** Display name; defaults to `run`. */
  label?: string;
  status: RunStatus;
  /** Points in any order; the panel keeps them sorted by step, one per (kind, split, step), last write wins. */
  points: SeriesPoint[];
}

/** A heatmap as it arrives over JSON: `Heatmap` from protocol/job.ts with `null` for non-finite cells. */
export type HeatmapData = Omit<Heatmap, 'values'> & { values: Metric[][] };

/** A block-search trial as it arrives over JSON: losses and rates of a diverged trial may be `null`. */
export type TrialData = Omit<
  SearchTrial,
  'initialTokenLoss' | 'finalTokenLoss' | 'initialProjectionLoss' | 'finalProjectionLoss' | 'targetRate' | 'otherRate'
> & {
  initialTokenLoss: Metric;
  finalTokenLoss: Metric;
  initialProjectionLoss: Metric;
  finalProjectionLoss: Metric;
  targetRate: Metric;
  otherRate: Metric;
};

/** Identity of a heatmap in a panel: a later heatmap with the same run and title replaces the earlier one. */
export function heatmapKey(h: { run: string; title: string }): string {
  return `${h.run}\u241f${h.title}`;
}

/** Identity of a trial in the leaderboard: a later trial with the same run and number replaces the earlier one. */
export function trialKey(t: { run: string; trial: number }): string {
  return `${t.run}\u241f${t.trial}`;
}

interface Versioned {
  protocolVersion: number;
}

// ---------------------------------------------------------------------------------------------------------------
// extension -> panel

/**
 * The complete state a panel shows; replaces whatever it held. Sent in answer to every `ready`.
 * Each panel reads the fields it displays (loss curves: `runs`; heatmap: `heatmaps`; leaderboard: `trials`).
 */
export interface SnapshotMessage extends Versioned {
  type: 'snapshot';
  runs: RunSeries[];
  heatmaps?: HeatmapData[];
  trials?: TrialData[];
}

/** New points of one run (TuneStep/TuneEval events, converted with `pointFromJobEvent`). Unknown runs are created. */
export interface AppendMessage extends Versioned {
  type: 'append';
  run: string;
  points: SeriesPoint[];
}

/** A new or updated heatmap (same run + title replaces). */
export interface HeatmapMessage extends Versioned {
  type: 'heatmap';
  heatmap: HeatmapData;
}

/** Finished block-search trials (same run + trial number replaces). */
export interface TrialsMessage extends Versioned {
  type: 'trials';
  trials: TrialData[];
}

export interface RunStatusMessage extends Versioned {
  type: 'runStatus';
  run: string;
  status: RunStatus;
  /** Optional detail, e.g. the failure message. */
  message?: string;
}

/**
 * How far a run's job is (`JobProgress`, with the job mapped to its run by the extension): shown as "42% of
 * 5,000 steps" next to the run in the loss-curve panel and as "trial 12 of 35" in the leaderboard.
 */
export interface ProgressMessage extends Versioned {
  type: 'progress';
  run: string;
  done: number;
  total: number;
  /** What is counted: 'steps', 'trials', 'windows', ... */
  unit: string;
  message?: string;
}

/** The colour theme changed: re-read the CSS variables and redraw canvases (panels also watch for this). */
export interface ThemeMessage extends Versioned {
  type: 'theme';
}

export type ExtensionMessage = SnapshotMessage | AppendMessage | HeatmapMessage | TrialsMessage | RunStatusMessage | ProgressMessage | ThemeMessage;

// ---------------------------------------------------------------------------------------------------------------
// panel -> extension

/** The panel's listener is installed: send a snapshot. Posted on every load, including after being hidden. */
export interface ReadyMessage extends Versioned {
  type: 'ready';
  panel: PanelKind;
}

/** The user asked for a CSV export; the extension shows a save dialog and writes `csv`. */
export interface ExportCsvMessage extends Versioned {
  type: 'exportCsv';
  panel: PanelKind;
  csv: string;
  suggestedName: string;
}

/** The user asked for a PNG export; `dataUrl` is `data:image/png;base64,...`. */
export interface ExportPngMessage extends Versioned {
  type: 'exportPng';
  panel: PanelKind;
  dataUrl: string;
  suggestedName: string;
}

/** Something went wrong in the panel (e.g. an invalid message arrived); the extension logs it. */
export interface PanelErrorMessage extends Versioned {
  type: 'error';
  panel: PanelKind;
  message: string;
}

export type PanelMessage = ReadyMessage | ExportCsvMessage | ExportPngMessage | PanelErrorMessage;

/** A message without its version, for building messages: `{ ...body, protocolVersion }` via `extensionMessage`. */
export type Unversioned<T> = T extends Versioned ? Omit<T, 'protocolVersion'> : never;

export function extensionMessage(body: Unversioned<ExtensionMessage>): ExtensionMessage {
  return { ...body, protocolVersion: WEBVIEW_PROTOCOL_VERSION } as ExtensionMessage;
}

export function panelMessage(body: Unversioned<PanelMessage>): PanelMessage {
  return { ...body, protocolVersion: WEBVIEW_PROTOCOL_VERSION } as PanelMessage;
}

/** JSON-safe metric: non-finite numbers become null. */
function metric(x: number): Metric {
  return Number.isFinite(x) ? x : null;
}

/** Converts a streamed job event into the point the loss-curve panel stores. */
export function pointFromJobEvent(e: TuneStep | TuneEval): SeriesPoint {
  if (e.type === 'step') {
    return {
      kind: 'step',
      step: e.step,
      epoch: e.epoch,
      tokenLoss: metric(e.tokenLoss),
      projectionLoss: metric(e.projectionLoss),
      totalLoss: metric(e.totalLoss),
      lr: metric(e.lr),
      gradNorm: metric(e.gradNorm),
    };
  }
  return {
    kind: 'eval',
    step: e.step,
    split: e.split,
    tokenLoss: metric(e.tokenLoss),
    projectionLoss: metric(e.projectionLoss),
    totalLoss: metric(e.totalLoss),
  };
}

/** A job's progress event for the run it belongs to. */
export function progressFromJobEvent(e: JobProgress, run: string): Unversioned<ProgressMessage> {
  return { type: 'progress', run, done: e.done, total: e.total, unit: e.unit, ...(e.message !== undefined ? { message: e.message } : {}) };
}

/** A search-trial event made JSON-safe. */
export function trialFromJobEvent(t: SearchTrial): TrialData {
  return {
    ...t,
    initialTokenLoss: metric(t.initialTokenLoss),
    finalTokenLoss: metric(t.finalTokenLoss),
    initialProjectionLoss: metric(t.initialProjectionLoss),
    finalProjectionLoss: metric(t.finalProjectionLoss),
    targetRate: metric(t.targetRate),
    otherRate: metric(t.otherRate),
  };
}

/** A heatmap event made JSON-safe. */
export function heatmapFromJobEvent(h: Heatmap): HeatmapData {
  return { ...h, values: h.values.map((row) => row.map(metric)) };
}
