/**
 * What a report shows, read from run folders only: for each runnable section of a file, its newest finished
 * (`done`) run folder as `rtune status` lists them (common/run-list.ts), with its summary, result, recorded
 * events (loss steps, held-out evals, heatmaps, trials, the `started` events that name backend, machine and
 * versions), its config and inputs hashes, and a `comparison.json` when the folder has one. A section without a
 * finished run is kept, with its newest folder's status, so a report never drops a section silently. Runs nothing.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { listRuns, runnableOutputs, type RunListConfig, type RunRow } from '../common/run-list';
import type { Heatmap, JobStarted, SearchTrial, TuneEval, TuneStep } from '../protocol/job';

export interface ReportRun {
  kind: string;
  section: string;
  dir: string;
  id: string;
  status: string;
  headline: string;
  detail?: string;
  started?: string;
  finished?: string;
  /** finished - started, seconds. */
  seconds?: number;
  /** sha256 of the folder's config.json bytes (the section's validated config). */
  configHash?: string;
  /** inputs.json's hash (direction and tune: what reuse compares, docs/architecture.md "Checkpoints and reuse"). */
  inputsHash?: string;
  /** One per model session the section used (job/environment.ts). */
  backends: JobStarted[];
  result?: Record<string, unknown>;
  steps: TuneStep[];
  evals: TuneEval[];
  heatmaps: Heatmap[];
  trials: SearchTrial[];
  /** A compare section's table (rows = conditions), rendered generically. */
  comparison?: unknown;
}

export interface ReportSection {
  kind: string;
  section: string;
  /** Its newest finished run, if any. */
  run?: ReportRun;
  /** Its newest run folder when none finished (or the section never ran: undefined). */
  newest?: RunRow;
  /** How many run folders the section has. */
  folders: number;
}

export interface ReportModel {
  file: string;
  generated: string;
  sections: ReportSection[];
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const isRecord = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);

/** The events of a folder's events.jsonl (a torn last line is skipped, as every reader does). */
export function readEvents(dir: string): Array<{ type?: unknown }> {
  let text = '';
  try {
    text = fs.readFileSync(path.join(dir, 'events.jsonl'), 'utf8');
  } catch {
    return [];
  }
  const out: Array<{ type?: unknown }> = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const e = JSON.parse(line) as unknown;
      if (isRecord(e)) out.push(e);
    } catch {
      // torn line
    }
  }
  return out;
}

/** Everything the report shows of one run folder. */
export function readRun(row: RunRow): ReportRun {
  const summary = readJson(path.join(row.dir, 'summary.json'));
  const s = isRecord(summary) ? summary : {};
  const result = readJson(path.join(row.dir, 'result.json'));
  const inputs = readJson(path.join(row.dir, 'inputs.json'));
  let configHash: string | undefined;
  try {
    configHash = crypto
      .createHash('sha256')
      .update(fs.readFileSync(path.join(row.dir, 'config.json')))
      .digest('hex');
  } catch {
    // no config.json
  }
  const events = readEvents(row.dir);
  const started = typeof s['started'] === 'string' ? s['started'] : row.started;
  const finished = typeof s['finished'] === 'string' ? s['finished'] : undefined;
  const seconds = started !== undefined && finished !== undefined ? (Date.parse(finished) - Date.parse(started)) / 1000 : undefined;
  const comparison = readJson(path.join(row.dir, 'comparison.json'));
  return {
    kind: row.kind,
    section: row.section,
    dir: row.dir,
    id: path.basename(row.dir),
    status: row.status,
    headline: typeof s['headline'] === 'string' ? s['headline'] : (row.message ?? ''),
    ...(typeof s['detail'] === 'string' ? { detail: s['detail'] } : {}),
    ...(started !== undefined ? { started } : {}),
    ...(finished !== undefined ? { finished } : {}),
    ...(seconds !== undefined && Number.isFinite(seconds) ? { seconds } : {}),
    ...(configHash !== undefined ? { configHash } : {}),
    ...(isRecord(inputs) && typeof inputs['hash'] === 'string' ? { inputsHash: inputs['hash'] } : {}),
    backends: events.filter((e): e is JobStarted => e.type === 'started'),
    ...(isRecord(result) ? { result } : {}),
    steps: events.filter((e): e is TuneStep => e.type === 'step'),
    evals: events.filter((e): e is TuneEval => e.type === 'eval'),
    heatmaps: events.filter((e): e is Heatmap => e.type === 'heatmap'),
    trials: events.filter((e): e is SearchTrial => e.type === 'trial'),
    ...(comparison !== undefined ? { comparison } : {}),
  };
}

/** The report of `file`'s sections (the named ones, or all): each one's newest finished run. */
export function collectReport(config: RunListConfig, file: string, names: readonly string[] = [], now = new Date()): ReportModel {
  const rows = listRuns(config, names);
  const sections: ReportSection[] = runnableOutputs(config, names).map(({ kind, section }) => {
    const mine = rows.filter((r) => r.kind === kind && r.section === section);
    const done = mine.find((r) => r.status === 'done');
    const newest = mine[0];
    return {
      kind,
      section,
      ...(done ? { run: readRun(done) } : newest ? { newest } : {}),
      folders: mine.length,
    };
  });
  return { file, generated: now.toISOString(), sections };
}
