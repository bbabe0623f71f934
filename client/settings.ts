/**
 * The extension's settings (`contributes.configuration` in package.json, keys `rtune.*`), read and validated in
 * one place. Pure: `readSettings` takes a getter, so the tests and the extension share it. An invalid value never
 * throws: it falls back to the default and yields a problem text naming the key, the value and what is allowed,
 * which the extension shows once.
 */
import type { WorkerBackend } from '../protocol/worker';
import { BACKENDS } from '../protocol/contract';

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

export const BACKEND_CHOICES: readonly WorkerBackend[] = BACKENDS;

/** Keys whose change needs the language server restarted (it reads them at initialisation). */
export const SERVER_SETTINGS: readonly (keyof RtuneSettings)[] = ['runsFolder', 'inlineResults'];

export interface SettingsRead {
  settings: RtuneSettings;
  /** One line per invalid value, e.g. "rtune.threads: 1.5 is not a whole number from 0 to 256; using 0". */
  problems: string[];
}

/** How each setting is checked: `parse` returns the value to use, or undefined when the raw value is invalid. */
const RULES: { [K in keyof RtuneSettings]: { allowed: string; parse: (v: unknown) => RtuneSettings[K] | undefined } } = {
  backend: {
    allowed: `one of ${BACKEND_CHOICES.join(', ')}`,
    parse: (v) => (typeof v === 'string' && (BACKEND_CHOICES as readonly string[]).includes(v) ? (v as WorkerBackend) : undefined),
  },
  runsFolder: { allowed: 'a folder path', parse: (v) => (typeof v === 'string' ? v.trim() : undefined) },
  threads: { allowed: 'a whole number from 0 to 256', parse: (v) => (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 256 ? v : undefined) },
  maxMemoryGiB: { allowed: 'a number of GiB >= 0', parse: (v) => (typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined) },
  workerPath: { allowed: 'a folder path', parse: (v) => (typeof v === 'string' ? v.trim() : undefined) },
  inlineResults: { allowed: 'true or false', parse: (v) => (typeof v === 'boolean' ? v : undefined) },
};

/** `get(key)` returns the raw configured value of `rtune.<key>` (undefined when unset). */
export function readSettings(get: (key: keyof RtuneSettings) => unknown): SettingsRead {
  const problems: string[] = [];
  const settings: Record<string, unknown> = { ...SETTING_DEFAULTS };
  for (const key of Object.keys(RULES) as (keyof RtuneSettings)[]) {
    const raw = get(key);
    if (raw === undefined) continue;
    const value = RULES[key].parse(raw);
    if (value !== undefined) settings[key] = value;
    else problems.push(`rtune.${key}: ${JSON.stringify(raw)} is not ${RULES[key].allowed}; using ${JSON.stringify(SETTING_DEFAULTS[key])}`);
  }
  return { settings: settings as unknown as RtuneSettings, problems };
}
