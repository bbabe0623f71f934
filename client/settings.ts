/**
 * The extension's settings (`contributes.configuration` in package.json, keys `rtune.*`), read and validated in
 * one place. Pure: `readSettings` takes a getter, so the tests and the extension share it. An invalid value never
 * throws: it falls back to the default and yields a problem text naming the key, the value and what is allowed,
 * which the extension shows once.
 */
import type { WorkerBackend } from '../protocol/worker';

export interface RtuneSettings {
  /** Backend for model sections that say `backend auto`. */
  backend: WorkerBackend;
  /** Run folders of files without a top-level `runs` key; relative to the workspace folder. Empty = `runs` beside the file. */
  runsFolder: string;
  /** wasm threads for jobs; 0 = one per core (up to 8). */
  threads: number;
  /** Resident memory limit of the worker process in GiB; 0 = none. */
  maxMemoryGiB: number;
  /** An rtune checkout whose dist/worker.js runs jobs (e.g. one with @tensorflow/tfjs-node-gpu installed); empty = the bundled worker. */
  workerPath: string;
  /** Show results inline (CodeLens and inlay hints). */
  inlineResults: boolean;
}

export const SETTING_DEFAULTS: Readonly<RtuneSettings> = Object.freeze({
  backend: 'auto',
  runsFolder: '',
  threads: 0,
  maxMemoryGiB: 0,
  workerPath: '',
  inlineResults: true,
});

export const BACKEND_CHOICES: readonly WorkerBackend[] = ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** Keys whose change needs the language server restarted (it reads them at initialisation). */
export const SERVER_SETTINGS: readonly (keyof RtuneSettings)[] = ['runsFolder', 'inlineResults'];

export interface SettingsRead {
  settings: RtuneSettings;
  /** One line per invalid value, e.g. "rtune.threads: 1.5 is not a whole number from 0 to 256; using 0". */
  problems: string[];
}

/** `get(key)` returns the raw configured value of `rtune.<key>` (undefined when unset). */
export function readSettings(get: (key: keyof RtuneSettings) => unknown): SettingsRead {
  const problems: string[] = [];
  const bad = (key: keyof RtuneSettings, value: unknown, allowed: string): void => {
    problems.push(`rtune.${key}: ${JSON.stringify(value)} is not ${allowed}; using ${JSON.stringify(SETTING_DEFAULTS[key])}`);
  };
  const s: RtuneSettings = { ...SETTING_DEFAULTS };

  const backend = get('backend');
  if (backend !== undefined) {
    if (typeof backend === 'string' && (BACKEND_CHOICES as readonly string[]).includes(backend)) s.backend = backend as WorkerBackend;
    else bad('backend', backend, `one of ${BACKEND_CHOICES.join(', ')}`);
  }
  const runs = get('runsFolder');
  if (runs !== undefined) {
    if (typeof runs === 'string') s.runsFolder = runs.trim();
    else bad('runsFolder', runs, 'a folder path');
  }
  const threads = get('threads');
  if (threads !== undefined) {
    if (typeof threads === 'number' && Number.isInteger(threads) && threads >= 0 && threads <= 256) s.threads = threads;
    else bad('threads', threads, 'a whole number from 0 to 256');
  }
  const mem = get('maxMemoryGiB');
  if (mem !== undefined) {
    if (typeof mem === 'number' && Number.isFinite(mem) && mem >= 0) s.maxMemoryGiB = mem;
    else bad('maxMemoryGiB', mem, 'a number of GiB >= 0');
  }
  const worker = get('workerPath');
  if (worker !== undefined) {
    if (typeof worker === 'string') s.workerPath = worker.trim();
    else bad('workerPath', worker, 'a folder path');
  }
  const inline = get('inlineResults');
  if (inline !== undefined) {
    if (typeof inline === 'boolean') s.inlineResults = inline;
    else bad('inlineResults', inline, 'true or false');
  }
  return { settings: s, problems };
}
