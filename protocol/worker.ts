/**
 * Messages between the extension's job manager and the backend worker process (worker/main.ts, bundled
 * to dist/worker.js), over Node's IPC channel (`child_process.fork`). One worker runs one job and exits, so a
 * crash, an out-of-memory kill or a wedged backend never takes the extension host or the language server with it.
 *
 * extension → worker: `run` once, then optionally `cancel`.
 * worker → extension: `event` for every streamed JobEvent (protocol/job.ts), then exactly one `done` or `error`.
 * A worker that exits without either crashed; the job manager then marks its open run folders failed.
 * Imports types only.
 */
import { BACKENDS, isOneOf, type Backend } from './contract';
import type { JobEvent } from './job';
import type { RunSummary } from './lsp';

export const WORKER_PROTOCOL_VERSION = 1;

export type WorkerBackend = Backend;

export interface WorkerRunRequest {
  type: 'run';
  protocolVersion: number;
  /** Absolute path of the .rtune file (relative paths in it resolve against its folder). */
  file: string;
  /** The document text to run (the editor's buffer, which may be unsaved). */
  text: string;
  /** Section names to run (their prerequisites run too); empty = every runnable section. */
  sections: string[];
  /** Backend for model sections that say `backend auto`. */
  backend: WorkerBackend;
  /** wasm threads; 0 = one per core, up to 8. */
  threads: number;
  /** Absolute runs folder for files without a top-level `runs` key; undefined = `runs` beside the file. */
  runsFolder?: string;
  /** Folder holding examples/demo-model (`builtin:demo`). */
  builtinRoot: string;
  /** Resident memory limit in bytes; 0 = none. Past it the job stops with a `memory` failure. */
  maxMemoryBytes: number;
  /** Compute every direction and tune again instead of reusing finished run folders with the same inputs (`rtune run --fresh`). */
  fresh?: boolean;
  /** A finished tune run folder whose checkpoint the named eval/export sections use (`rtune run --from`). */
  from?: string;
}

export interface WorkerCancelRequest {
  type: 'cancel';
}

export type WorkerRequest = WorkerRunRequest | WorkerCancelRequest;

export interface WorkerEventMessage {
  type: 'event';
  event: JobEvent;
}

export interface WorkerDoneMessage {
  type: 'done';
  summaries: RunSummary[];
}

/** The job could not run or stopped: bad input (with file:line:col), cancelled, out of memory, or an engine error. */
export interface WorkerErrorMessage {
  type: 'error';
  kind: 'input' | 'memory' | 'numerics' | 'cancelled' | 'internal';
  message: string;
  /** Summaries of the sections that did finish before the error. */
  summaries: RunSummary[];
}

export type WorkerMessage = WorkerEventMessage | WorkerDoneMessage | WorkerErrorMessage;

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Validates a request arriving at the worker; returns an error text or the request. */
export function checkWorkerRequest(x: unknown): WorkerRequest | string {
  if (!isRecord(x)) return 'expected an object';
  if (x['type'] === 'cancel') return { type: 'cancel' };
  if (x['type'] !== 'run') return `unknown request type ${JSON.stringify(x['type'])}`;
  if (x['protocolVersion'] !== WORKER_PROTOCOL_VERSION)
    return `worker protocol ${String(x['protocolVersion'])}, expected ${WORKER_PROTOCOL_VERSION}: the extension and its worker come from different builds`;
  for (const k of ['file', 'text', 'builtinRoot', 'backend'] as const) if (typeof x[k] !== 'string') return `${k}: expected a string`;
  if (!Array.isArray(x['sections']) || !x['sections'].every((s) => typeof s === 'string')) return 'sections: expected a list of strings';
  for (const k of ['threads', 'maxMemoryBytes'] as const)
    if (typeof x[k] !== 'number' || !Number.isFinite(x[k]) || (x[k] as number) < 0) return `${k}: expected a number >= 0`;
  if (!isOneOf(BACKENDS, x['backend'])) return `backend: unknown backend ${JSON.stringify(x['backend'])}`;
  if (x['runsFolder'] !== undefined && typeof x['runsFolder'] !== 'string') return 'runsFolder: expected a string';
  if (x['fresh'] !== undefined && typeof x['fresh'] !== 'boolean') return 'fresh: expected a boolean';
  if (x['from'] !== undefined && typeof x['from'] !== 'string') return 'from: expected a string';
  return x as unknown as WorkerRunRequest;
}
