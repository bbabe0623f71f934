/**
 * A run folder: `<output>/<run id>/` with the validated config, every streamed event (`events.jsonl`), a
 * `status.json` (running / done / failed / cancelled) and, at the end, `summary.json` (the inline-result shape of
 * protocol/lsp.ts). JSON files are written atomically (temp file + rename); events are appended line by line so a
 * crash loses at most the line being written. A run that dies leaves `status.json` saying `running` with the
 * time of the last event, which readers treat as failed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeError, writeFileAtomicWith } from '../common/fs';
import type { JobEvent } from '../protocol/job';
import { RTUNE_LSP_PROTOCOL_VERSION, type RunSummary, type RtuneSectionKind } from '../protocol/lsp';

export type { RunStatus } from '../protocol/contract';
import type { RunStatus } from '../protocol/contract';

/** Raised when a run folder or one of its files cannot be written; `file` is the path concerned. */
export class RunFolderError extends Error {
  constructor(
    readonly file: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'RunFolderError';
  }
}

const FIX = 'Check free disk space and that the runs folder (the top-level `runs` key, or the rtune.runsFolder setting) is writable.';

function runFolderError(file: string, what: string, err: unknown): RunFolderError {
  return new RunFolderError(file, `${file}: cannot ${what} (${describeError(err)}). ${FIX}`, err);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  const bytes = Buffer.from(`${JSON.stringify(value, null, 2)}\n`, 'utf8');
  writeFileAtomicWith(file, [bytes], (_message, err) => runFolderError(file, 'write this run-folder file', err));
}

function runId(section: string, now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${section}`;
}

/** ISO time to the second with file-name-safe separators: 2026-11-27T07-12-03Z. */
export function timeStamp(now: Date): string {
  return now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}

export class RunFolder {
  readonly dir: string;
  readonly id: string;
  private readonly started = new Date();
  private readonly events: number;

  /**
   * `opts.stamp`: name the folder by the start time alone (`2026-11-27T07-12-03Z`, as exports are) instead of
   * `<compact time>-<section>`. Either way an existing folder is never reused: a clash gets `-2`, `-3`, ….
   */
  constructor(
    outputDir: string,
    readonly section: string,
    readonly kind: RtuneSectionKind,
    readonly file: string | undefined,
    config: unknown,
    opts: { stamp?: boolean } = {},
  ) {
    const base = opts.stamp ? timeStamp(this.started) : runId(section, this.started);
    let dir = path.join(outputDir, base);
    for (let i = 2; fs.existsSync(dir); i++) dir = path.join(outputDir, `${base}-${i}`);
    this.dir = dir;
    this.id = path.basename(dir);
    try {
      fs.mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      throw runFolderError(this.dir, 'create the run folder', err);
    }
    writeJsonAtomic(path.join(this.dir, 'config.json'), config);
    const log = path.join(this.dir, 'events.jsonl');
    try {
      this.events = fs.openSync(log, 'a');
    } catch (err) {
      throw runFolderError(log, 'open the event log', err);
    }
    this.setStatus('running');
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  event(e: JobEvent): void {
    try {
      fs.writeSync(this.events, `${JSON.stringify(e)}\n`);
    } catch (err) {
      throw runFolderError(this.path('events.jsonl'), 'append to the event log', err);
    }
  }

  setStatus(status: RunStatus, message?: string): void {
    writeJsonAtomic(this.path('status.json'), { status, message, started: this.started.toISOString(), updated: new Date().toISOString() });
  }

  /** Final status and summary; closes the event log. */
  finish(
    status: Exclude<RunStatus, 'running'>,
    headline: string,
    extra: { detail?: string; metrics?: Record<string, number>; result?: unknown } = {},
  ): RunSummary {
    const summary: RunSummary = {
      protocolVersion: RTUNE_LSP_PROTOCOL_VERSION,
      section: this.section,
      kind: this.kind,
      ...(this.file !== undefined ? { file: this.file } : {}),
      status,
      started: this.started.toISOString(),
      finished: new Date().toISOString(),
      headline,
      ...(extra.detail !== undefined ? { detail: extra.detail } : {}),
      ...(extra.metrics !== undefined ? { metrics: extra.metrics } : {}),
    };
    if (extra.result !== undefined) writeJsonAtomic(this.path('result.json'), extra.result);
    writeJsonAtomic(this.path('summary.json'), summary);
    this.setStatus(status, headline);
    fs.closeSync(this.events);
    return summary;
  }
}

/**
 * Marks a run folder failed after its process died (a crash leaves `status.json` saying `running` and no summary):
 * writes the status and a summary with the reason, unless the run already finished. Used by the extension's job
 * manager, which must not load the engine, so this touches only the file system. Returns true when it wrote.
 */
export function markRunFailed(dir: string, info: { section: string; kind: RtuneSectionKind; file?: string; message: string }): boolean {
  if (fs.existsSync(path.join(dir, 'summary.json'))) return false;
  let started: string | undefined;
  try {
    const st = JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { started?: unknown };
    if (typeof st.started === 'string') started = st.started;
  } catch {
    // no readable status: the folder is still worth marking
  }
  const finished = new Date().toISOString();
  const summary: RunSummary = {
    protocolVersion: RTUNE_LSP_PROTOCOL_VERSION,
    section: info.section,
    kind: info.kind,
    ...(info.file !== undefined ? { file: info.file } : {}),
    status: 'failed',
    ...(started !== undefined ? { started } : {}),
    finished,
    headline: `failed: ${info.message.split('\n')[0] ?? info.message}`,
    detail: info.message,
  };
  writeJsonAtomic(path.join(dir, 'summary.json'), summary);
  writeJsonAtomic(path.join(dir, 'status.json'), { status: 'failed', message: info.message, started, updated: finished });
  return true;
}
