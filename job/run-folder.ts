/**
 * A run folder: `<output>/<run id>/` with the validated config, every streamed event (`events.jsonl`), a
 * `status.json` (the status, the writer's pid and host, and a heartbeat refreshed every few seconds while the run
 * is written) and, at the end, `summary.json` (the inline-result shape of protocol/lsp.ts) and often
 * `result.json`. A folder appears whole (built as a temp sibling holding config.json and status.json, then
 * renamed), JSON files are written atomically (temp file + rename), events are appended line by line so a crash
 * loses at most the line being written, and `summary.json` is written last but one: once it is there the run is
 * final whatever status.json says. Readers use `readRunState` (common/run-status.ts): a folder left `running` by a
 * dead process reads as `interrupted`. docs/architecture.md, "Run folders", has the layout.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describeError, writeFileAtomicWith } from '../common/fs';
import { HEARTBEAT_MS, readRunState, type StatusFile } from '../common/run-status';
import type { JobEvent } from '../protocol/job';
import { RTUNE_LSP_PROTOCOL_VERSION, type RunSummary, type RtuneSectionKind } from '../protocol/lsp';

export type { RunStatus } from '../protocol/contract';
import { RUN_STATUSES, type FinalStatus, type RunStatus } from '../protocol/contract';
export { cleanOutputFolder, HEARTBEAT_MS, readRunState, STALE_AFTER_MS, type RunFolderState } from '../common/run-status';

/** The status of the run folder `dir` as the contract types it (readRunState's, with anything unknown as interrupted). */
export function runStatusOf(dir: string): { status: RunStatus; message?: string } {
  const st = readRunState(dir);
  const status = RUN_STATUSES.find((x) => x === st.status) ?? 'interrupted';
  return { status, ...(st.message !== undefined ? { message: st.message } : {}) };
}

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

/** A text file of a run folder, written atomically (temp sibling, fsync, rename). */
export function writeTextAtomic(file: string, text: string): void {
  writeFileAtomicWith(file, [Buffer.from(text, 'utf8')], (_message, err) => runFolderError(file, 'write this run-folder file', err));
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

/** Folders of this process not finished yet (closeOpenRuns marks them on a hard exit). */
const OPEN = new Set<RunFolder>();

export class RunFolder {
  readonly dir: string;
  readonly id: string;
  private readonly started = new Date();
  private readonly events: number;
  private readonly host = os.hostname();
  private status: RunStatus = 'running';
  private message: string | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private closed = false;

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
    // Built beside its final name and renamed, so no reader ever sees a folder without status.json.
    const tmp = path.join(outputDir, `.${path.basename(dir)}.tmp-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
    try {
      fs.mkdirSync(tmp, { recursive: true });
    } catch (err) {
      throw runFolderError(dir, 'create the run folder', err);
    }
    writeJsonAtomic(path.join(tmp, 'config.json'), config);
    writeJsonAtomic(path.join(tmp, 'status.json'), this.statusFile());
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw runFolderError(dir, 'create the run folder', err);
    }
    this.dir = dir;
    this.id = path.basename(dir);
    const log = path.join(this.dir, 'events.jsonl');
    try {
      this.events = fs.openSync(log, 'a');
    } catch (err) {
      throw runFolderError(log, 'open the event log', err);
    }
    OPEN.add(this);
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref();
  }

  path(...parts: string[]): string {
    return path.join(this.dir, ...parts);
  }

  event(e: JobEvent): void {
    if (this.closed) return;
    try {
      fs.writeSync(this.events, `${JSON.stringify(e)}\n`);
    } catch (err) {
      throw runFolderError(this.path('events.jsonl'), 'append to the event log', err);
    }
  }

  private statusFile(): StatusFile {
    return {
      status: this.status,
      ...(this.message !== undefined ? { message: this.message } : {}),
      started: this.started.toISOString(),
      updated: new Date().toISOString(),
      pid: process.pid,
      host: this.host,
    };
  }

  setStatus(status: RunStatus, message?: string): void {
    this.status = status;
    this.message = message;
    writeJsonAtomic(this.path('status.json'), this.statusFile());
  }

  /** The heartbeat: refreshes status.json's `updated` (a failed refresh is retried at the next beat). */
  private beat(): void {
    try {
      if (!this.closed) writeJsonAtomic(this.path('status.json'), this.statusFile());
    } catch {
      // the next beat, or finish(), reports a folder that cannot be written
    }
  }

  /** Final status and summary: result.json, then summary.json (final), then status.json; then closes the event log. */
  finish(status: FinalStatus, headline: string, extra: { detail?: string; metrics?: Record<string, number>; result?: unknown } = {}): RunSummary {
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
    if (this.closed) return summary;
    // A write that fails here leaves the folder open: the runner's failure path finishes it again as failed.
    if (extra.result !== undefined) writeJsonAtomic(this.path('result.json'), extra.result);
    writeJsonAtomic(this.path('summary.json'), summary);
    this.setStatus(status, headline);
    this.closed = true;
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    OPEN.delete(this);
    try {
      fs.closeSync(this.events);
    } catch {
      // already closed
    }
    return summary;
  }
}

/**
 * Finishes every run folder this process still has open with `status` (synchronously: for a process about to
 * exit, e.g. on a second Ctrl-C). Returns the folders it marked.
 */
export function closeOpenRuns(status: FinalStatus, headline: string): string[] {
  const out: string[] = [];
  for (const f of [...OPEN]) {
    try {
      f.finish(status, headline);
      out.push(f.dir);
    } catch {
      // a folder that cannot be written reads as interrupted once this process is gone
    }
  }
  return out;
}

/**
 * Marks a run folder failed after its process died (a crash leaves `status.json` saying `running` and no summary;
 * readers show it `interrupted` until then), or `cancelled` when it was killed because a cancel did not stop it
 * in time: writes the status and a summary with the reason, unless the run already finished. Used by the extension's job
 * manager, which must not load the engine, so this touches only the file system. Returns true when it wrote.
 */
export function markRunFailed(
  dir: string,
  info: { section: string; kind: RtuneSectionKind; file?: string; message: string; status?: 'failed' | 'cancelled' },
): boolean {
  const status = info.status ?? 'failed';
  if (readRunState(dir).from === 'summary') return false;
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
    status,
    ...(started !== undefined ? { started } : {}),
    finished,
    headline: `${status}: ${info.message.split('\n')[0] ?? info.message}`,
    detail: info.message,
  };
  writeJsonAtomic(path.join(dir, 'summary.json'), summary);
  writeJsonAtomic(path.join(dir, 'status.json'), { status, message: info.message, started, updated: finished });
  return true;
}
