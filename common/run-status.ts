/**
 * Reading a run folder's state, the one way every reader does it (the CLI, the language server's inline results,
 * the extension's job manager and panels, search resume). A folder's `summary.json` is final: when it is there
 * its status is the run's. Otherwise `status.json` says; a `running` status is believed only while its writer
 * lives: on this host the pid it records must be alive, and on every host its heartbeat (`updated`, refreshed
 * every HEARTBEAT_MS while the run is written) must be younger than STALE_AFTER_MS. A `running` folder that fails
 * either test reads as `interrupted`. Also removes the temporary files of writers that died
 * (`NAME.tmp-<pid>-…`, common/fs.ts). Node built-ins only, so the extension and the server load it without the
 * engine; statuses are the contract's RUN_STATUSES, kept here as strings.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** How often a running folder's status.json heartbeat is refreshed. */
export const HEARTBEAT_MS = 2000;
/** A running folder whose heartbeat is older than this reads as interrupted, whatever its pid. */
export const STALE_AFTER_MS = 120_000;

/** What status.json holds while and after a run is written. */
export interface StatusFile {
  status: string;
  message?: string;
  started?: string;
  /** Heartbeat: the last time the writer refreshed this file (ISO 8601). */
  updated?: string;
  pid?: number;
  host?: string;
}

export interface RunFolderState {
  /** One of the contract's RUN_STATUSES. */
  status: string;
  message?: string;
  started?: string;
  updated?: string;
  /** Where the status came from: the final summary, status.json, or neither (an unreadable or incomplete folder). */
  from: 'summary' | 'status' | 'none';
  /** The parsed summary.json, when there is one. */
  summary?: Record<string, unknown>;
}

export interface LivenessOptions {
  now?: number;
  host?: string;
  /** Whether process `pid` on this host is alive (default: signal 0). */
  alive?: (pid: number) => boolean;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Why a `running` status no longer has a writer, or undefined while it does. */
export function deadWriter(st: StatusFile, opts: LivenessOptions = {}): string | undefined {
  const now = opts.now ?? Date.now();
  const host = opts.host ?? os.hostname();
  const alive = opts.alive ?? processAlive;
  if (typeof st.pid === 'number' && st.host === host && !alive(st.pid)) return `interrupted: the process that wrote it (pid ${st.pid}) is gone`;
  const beat = st.updated !== undefined ? Date.parse(st.updated) : NaN;
  if (!Number.isFinite(beat)) return 'interrupted: no heartbeat in status.json';
  if (now - beat > STALE_AFTER_MS) return `interrupted: no heartbeat for ${Math.round((now - beat) / 1000)} s (pid ${st.pid ?? '?'} on ${st.host ?? '?'})`;
  return undefined;
}

/** The state of the run folder `dir` (see the file header). */
export function readRunState(dir: string, opts: LivenessOptions = {}): RunFolderState {
  const summary = readJson(path.join(dir, 'summary.json'));
  if (summary !== undefined && typeof summary['status'] === 'string') {
    return {
      status: summary['status'],
      ...(typeof summary['headline'] === 'string' ? { message: summary['headline'] } : {}),
      ...(typeof summary['started'] === 'string' ? { started: summary['started'] } : {}),
      ...(typeof summary['finished'] === 'string' ? { updated: summary['finished'] } : {}),
      from: 'summary',
      summary,
    };
  }
  const raw = readJson(path.join(dir, 'status.json'));
  if (raw === undefined || typeof raw['status'] !== 'string') {
    return { status: 'interrupted', message: 'interrupted: the folder has no readable status.json', from: 'none' };
  }
  const st: StatusFile = {
    status: raw['status'],
    ...(typeof raw['message'] === 'string' ? { message: raw['message'] } : {}),
    ...(typeof raw['started'] === 'string' ? { started: raw['started'] } : {}),
    ...(typeof raw['updated'] === 'string' ? { updated: raw['updated'] } : {}),
    ...(typeof raw['pid'] === 'number' ? { pid: raw['pid'] } : {}),
    ...(typeof raw['host'] === 'string' ? { host: raw['host'] } : {}),
  };
  const base = {
    ...(st.started !== undefined ? { started: st.started } : {}),
    ...(st.updated !== undefined ? { updated: st.updated } : {}),
    from: 'status' as const,
  };
  if (st.status !== 'running') return { status: st.status, ...(st.message !== undefined ? { message: st.message } : {}), ...base };
  const dead = deadWriter(st, opts);
  return dead !== undefined ? { status: 'interrupted', message: dead, ...base } : { status: 'running', ...base };
}

const TEMP_NAME = /\.tmp-(\d+)-/;

/**
 * Removes the temporary files and folders in `dir` (not below) whose writer, a process on this host named in the
 * temp name (`NAME.tmp-<pid>-…`), is gone. Returns the paths removed. Best effort: an entry that cannot be removed
 * is left.
 */
export function removeDeadTemps(dir: string, opts: { alive?: (pid: number) => boolean } = {}): string[] {
  const alive = opts.alive ?? processAlive;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    try {
      fs.rmSync(path.join(dir, name), { recursive: true, force: true });
      removed.push(path.join(dir, name));
    } catch {
      // left for a later run
    }
  }
  return removed;
}

/**
 * Cleans a section's output folder after killed runs: the dead writers' temp files in it and in each of its run
 * folders (and one level below, where an export builds `model/`) written on this host. Returns the paths removed.
 */
export function cleanOutputFolder(output: string, opts: { alive?: (pid: number) => boolean; host?: string } = {}): string[] {
  const host = opts.host ?? os.hostname();
  const removed = removeDeadTemps(output, opts);
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(output, { withFileTypes: true });
  } catch {
    return removed;
  }
  for (const e of entries) {
    if (!e.isDirectory() || TEMP_NAME.test(e.name)) continue;
    const dir = path.join(output, e.name);
    const st = readJson(path.join(dir, 'status.json'));
    // Another host's temp files name pids of that host: leave them.
    if (st !== undefined && typeof st['host'] === 'string' && st['host'] !== host) continue;
    removed.push(...removeDeadTemps(dir, opts));
    let subs: fs.Dirent[] = [];
    try {
      subs = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      continue;
    }
    for (const sub of subs) if (sub.isDirectory() && !TEMP_NAME.test(sub.name)) removed.push(...removeDeadTemps(path.join(dir, sub.name), opts));
  }
  return removed;
}
