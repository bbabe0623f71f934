/**
 * Validation of the messages protocol/webview.ts defines, on both sides of the postMessage trust boundary:
 * `checkExtensionMessage` (in the panels) and `checkPanelMessage` (in the extension) accept exactly the typed
 * shapes, within LIMITS, at this protocol version, and say where a message is wrong. No runtime dependencies.
 */
import { PANEL_KINDS, WEBVIEW_PROTOCOL_VERSION } from './webview';
import type { ExtensionMessage, PanelMessage } from './webview';
import { RUN_STATUSES } from './contract';

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
    fail(
      'message.protocolVersion',
      `expected ${WEBVIEW_PROTOCOL_VERSION}, got ${JSON.stringify(v) ?? 'undefined'} (extension and panel bundle are from different builds; reload the window)`,
    );
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
