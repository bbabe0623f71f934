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
import { RUN_STATUSES, type RunStatus } from './contract';

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

export type ExtensionMessage =
  | SnapshotMessage
  | AppendMessage
  | HeatmapMessage
  | TrialsMessage
  | RunStatusMessage
  | ProgressMessage
  | ThemeMessage;

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

// ---------------------------------------------------------------------------------------------------------------
// validation

export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Upper bounds that keep a malformed message from freezing a panel. */
export const LIMITS = {
  /** Longest string field (sample texts, labels, CSV exports are exempt where noted). */
  maxString: 100_000,
  /** Heatmap cells (rows x columns). 48 layers x 64 positions is 3,072; layers x steps can be larger. */
  maxHeatmapCells: 4_000_000,
  /** Largest CSV or PNG export posted to the extension (characters). */
  maxExport: 256 * 1024 * 1024,
} as const;

class Invalid extends Error {}

function fail(path: string, what: string): never {
  throw new Invalid(`${path}: ${what}`);
}

function obj(x: unknown, path: string): Record<string, unknown> {
  if (typeof x !== 'object' || x === null || Array.isArray(x)) fail(path, 'expected an object');
  return x as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string, path: string, max: number = LIMITS.maxString): string {
  const v = o[key];
  if (typeof v !== 'string') fail(`${path}.${key}`, 'expected a string');
  if (v.length > max) fail(`${path}.${key}`, `string longer than ${max} characters`);
  return v;
}

function optStr(o: Record<string, unknown>, key: string, path: string): void {
  if (o[key] !== undefined) str(o, key, path);
}

function num(o: Record<string, unknown>, key: string, path: string): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${path}.${key}`, 'expected a finite number');
  return v;
}

function met(o: Record<string, unknown>, key: string, path: string): void {
  const v = o[key];
  if (v === null) return;
  if (typeof v !== 'number') fail(`${path}.${key}`, 'expected a number or null');
  // Infinity cannot arrive over JSON, but a structured-clone transport could carry it; treat it as invalid.
  if (!Number.isFinite(v)) fail(`${path}.${key}`, 'expected a finite number or null');
}

function arr(o: Record<string, unknown>, key: string, path: string): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) fail(`${path}.${key}`, 'expected an array');
  return v;
}

function oneOf<T extends string>(o: Record<string, unknown>, key: string, allowed: readonly T[], path: string): T {
  const v = o[key];
  if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
    fail(`${path}.${key}`, `expected one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  return v as T;
}

function checkPoint(x: unknown, path: string): void {
  const o = obj(x, path);
  const kind = oneOf(o, 'kind', ['step', 'eval'] as const, path);
  const step = num(o, 'step', path);
  if (step < 0) fail(`${path}.step`, 'expected a step >= 0');
  met(o, 'tokenLoss', path);
  met(o, 'projectionLoss', path);
  met(o, 'totalLoss', path);
  if (kind === 'step') {
    num(o, 'epoch', path);
    met(o, 'lr', path);
    met(o, 'gradNorm', path);
  } else {
    oneOf(o, 'split', ['heldout', 'train'] as const, path);
  }
}

function checkPoints(o: Record<string, unknown>, path: string): void {
  const points = arr(o, 'points', path);
  for (let i = 0; i < points.length; i++) checkPoint(points[i], `${path}.points[${i}]`);
}

function checkRunSeries(x: unknown, path: string): void {
  const o = obj(x, path);
  str(o, 'run', path);
  optStr(o, 'label', path);
  oneOf(o, 'status', RUN_STATUSES, path);
  checkPoints(o, path);
}

function strArray(o: Record<string, unknown>, key: string, path: string): void {
  const a = arr(o, key, path);
  for (let i = 0; i < a.length; i++) {
    if (typeof a[i] !== 'string') fail(`${path}.${key}[${i}]`, 'expected a string');
  }
}

function checkHeatmap(x: unknown, path: string): void {
  const o = obj(x, path);
  str(o, 'run', path);
  str(o, 'title', path);
  str(o, 'rowLabel', path);
  str(o, 'columnLabel', path);
  const rows = arr(o, 'rows', path);
  for (let i = 0; i < rows.length; i++) {
    if (typeof rows[i] !== 'number' || !Number.isFinite(rows[i])) fail(`${path}.rows[${i}]`, 'expected a number');
  }
  strArray(o, 'columns', path);
  const columns = o['columns'] as string[];
  const values = arr(o, 'values', path);
  if (values.length !== rows.length) fail(`${path}.values`, `has ${values.length} rows, expected ${rows.length} (one per entry of rows)`);
  if (rows.length * columns.length > LIMITS.maxHeatmapCells) fail(path, `more than ${LIMITS.maxHeatmapCells} cells`);
  for (let i = 0; i < values.length; i++) {
    const row = values[i];
    if (!Array.isArray(row)) fail(`${path}.values[${i}]`, 'expected an array');
    if (row.length !== columns.length) fail(`${path}.values[${i}]`, `has ${row.length} values, expected ${columns.length} (one per column)`);
    for (let j = 0; j < row.length; j++) {
      const v: unknown = row[j];
      if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) fail(`${path}.values[${i}][${j}]`, 'expected a finite number or null');
    }
  }
  const min = num(o, 'min', path);
  const max = num(o, 'max', path);
  if (!(min < max)) fail(`${path}.min`, 'expected min < max');
}

function checkTrial(x: unknown, path: string): void {
  const o = obj(x, path);
  str(o, 'run', path);
  num(o, 'trial', path);
  strArray(o, 'tokenBlocks', path);
  strArray(o, 'projectionBlocks', path);
  num(o, 'steps', path);
  // Losses and rates may be non-finite in a diverged trial, which JSON turns into null.
  met(o, 'initialTokenLoss', path);
  met(o, 'finalTokenLoss', path);
  met(o, 'initialProjectionLoss', path);
  met(o, 'finalProjectionLoss', path);
  met(o, 'targetRate', path);
  met(o, 'otherRate', path);
  str(o, 'sample', path);
  num(o, 'seconds', path);
  num(o, 'rung', path);
}

function checkVersion(o: Record<string, unknown>): void {
  const v = o['protocolVersion'];
  if (v !== WEBVIEW_PROTOCOL_VERSION) {
    fail('message.protocolVersion', `expected ${WEBVIEW_PROTOCOL_VERSION}, got ${JSON.stringify(v) ?? 'undefined'} (extension and panel bundle are from different builds; reload the window)`);
  }
}

function run<T>(f: () => T): Checked<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof Invalid) return { ok: false, error: e.message };
    throw e;
  }
}

/** Validates a message from the extension. The error names the offending field, e.g. `message.points[3].step: ...`. */
export function checkExtensionMessage(x: unknown): Checked<ExtensionMessage> {
  return run(() => {
    const o = obj(x, 'message');
    checkVersion(o);
    const p = 'message';
    switch (o['type']) {
      case 'snapshot': {
        const runs = arr(o, 'runs', p);
        for (let i = 0; i < runs.length; i++) checkRunSeries(runs[i], `${p}.runs[${i}]`);
        if (o['heatmaps'] !== undefined) {
          const hs = arr(o, 'heatmaps', p);
          for (let i = 0; i < hs.length; i++) checkHeatmap(hs[i], `${p}.heatmaps[${i}]`);
        }
        if (o['trials'] !== undefined) {
          const ts = arr(o, 'trials', p);
          for (let i = 0; i < ts.length; i++) checkTrial(ts[i], `${p}.trials[${i}]`);
        }
        break;
      }
      case 'append':
        str(o, 'run', p);
        checkPoints(o, p);
        break;
      case 'heatmap':
        checkHeatmap(o['heatmap'], `${p}.heatmap`);
        break;
      case 'trials': {
        const ts = arr(o, 'trials', p);
        for (let i = 0; i < ts.length; i++) checkTrial(ts[i], `${p}.trials[${i}]`);
        break;
      }
      case 'runStatus':
        str(o, 'run', p);
        oneOf(o, 'status', RUN_STATUSES, p);
        optStr(o, 'message', p);
        break;
      case 'progress': {
        str(o, 'run', p);
        const done = num(o, 'done', p);
        const total = num(o, 'total', p);
        if (done < 0 || total < 0) fail(`${p}.done`, 'expected done >= 0 and total >= 0');
        str(o, 'unit', p);
        optStr(o, 'message', p);
        break;
      }
      case 'theme':
        break;
      default:
        fail(`${p}.type`, `unknown message type ${JSON.stringify(o['type']) ?? 'undefined'}`);
    }
    return o as unknown as ExtensionMessage;
  });
}

/** Validates a message from a panel. */
export function checkPanelMessage(x: unknown): Checked<PanelMessage> {
  return run(() => {
    const o = obj(x, 'message');
    checkVersion(o);
    const p = 'message';
    oneOf(o, 'panel', PANEL_KINDS, p);
    switch (o['type']) {
      case 'ready':
        break;
      case 'exportCsv':
        str(o, 'csv', p, LIMITS.maxExport);
        str(o, 'suggestedName', p);
        break;
      case 'exportPng': {
        const url = str(o, 'dataUrl', p, LIMITS.maxExport);
        if (!url.startsWith('data:image/png;base64,')) fail(`${p}.dataUrl`, "expected a 'data:image/png;base64,' URL");
        str(o, 'suggestedName', p);
        break;
      }
      case 'error':
        str(o, 'message', p);
        break;
      default:
        fail(`${p}.type`, `unknown message type ${JSON.stringify(o['type']) ?? 'undefined'}`);
    }
    return o as unknown as PanelMessage;
  });
}

export function isExtensionMessage(x: unknown): x is ExtensionMessage {
  return checkExtensionMessage(x).ok;
}

export function isPanelMessage(x: unknown): x is PanelMessage {
  return checkPanelMessage(x).ok;
}
