/**
 * Reads finished runs' `summary.json` files for the inline-results protocol. For each runnable section it looks
 * in the section's output folder for `<run id>/summary.json` (and a `summary.json` directly inside), caching each
 * summary by mtime and each folder listing until `invalidate()` (called on `rtune/resultsChanged` and when
 * watched files change) or for a few seconds. Reads from disk, so results survive a window reload. A folder with
 * no summary whose writer is gone (common/run-status.ts `readRunState`, the one rule every reader uses) is shown
 * as `interrupted`, named by the `run` event its events.jsonl opens with.
 * Non-goals: no watching of its own, no knowledge of how runs are executed.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { readRunState } from '../common/run-status';
import { RTUNE_LSP_PROTOCOL_VERSION, RUN_SUMMARY_FILE, RunSummary } from '../protocol/lsp';
import type { Analysis } from '../language/analysis';
import { FoundSummary, latestFor, parseRunSummary, resultFolders } from '../language/features/results';
import type { SectionInfo } from '../language/lower';

export interface SectionResult {
  readonly section: SectionInfo;
  readonly found: FoundSummary;
}

export class ResultsReader {
  private readonly listings = new Map<string, { at: number; runDirs: string[] }>();
  private readonly summaries = new Map<string, { mtimeMs: number; summary: RunSummary | undefined }>();

  constructor(
    private readonly ttlMs = 3000,
    private readonly now: () => number = Date.now,
  ) {}

  invalidate(dir?: string): void {
    if (dir === undefined) {
      this.listings.clear();
      this.summaries.clear();
      return;
    }
    const prefix = path.resolve(dir);
    for (const key of [...this.listings.keys()]) if (key.startsWith(prefix) || prefix.startsWith(key)) this.listings.delete(key);
    for (const key of [...this.summaries.keys()]) if (key.startsWith(prefix)) this.summaries.delete(key);
  }

  private runDirs(dir: string): string[] {
    const hit = this.listings.get(dir);
    if (hit !== undefined && this.now() - hit.at < this.ttlMs) return hit.runDirs;
    let runDirs: string[] = [];
    try {
      runDirs = fs
        .readdirSync(dir, { withFileTypes: true })
        .filter((d) => d.isDirectory())
        .map((d) => path.join(dir, d.name));
      runDirs.push(dir);
    } catch {
      runDirs = [];
    }
    this.listings.set(dir, { at: this.now(), runDirs });
    return runDirs;
  }

  private summary(runDir: string): RunSummary | undefined {
    const file = path.join(runDir, RUN_SUMMARY_FILE);
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(file).mtimeMs;
    } catch {
      return interruptedSummary(runDir);
    }
    const hit = this.summaries.get(file);
    if (hit !== undefined && hit.mtimeMs === mtimeMs) return hit.summary;
    let summary: RunSummary | undefined;
    try {
      summary = parseRunSummary(fs.readFileSync(file, 'utf8'));
    } catch {
      summary = undefined;
    }
    this.summaries.set(file, { mtimeMs, summary });
    return summary;
  }

  /** The newest result of every runnable section of the analysed file that has one. */
  read(analysis: Analysis, filePath: string | undefined): SectionResult[] {
    const out: SectionResult[] = [];
    for (const folder of resultFolders(analysis)) {
      const found: FoundSummary[] = [];
      for (const runDir of this.runDirs(folder.dir)) {
        const summary = this.summary(runDir);
        if (summary !== undefined) found.push({ runDir, summary });
      }
      const latest = latestFor(folder.section, found, filePath);
      if (latest !== undefined) out.push({ section: folder.section, found: latest });
    }
    return out;
  }
}

/** The summary of a run folder whose writer died before it finished (no summary.json), or undefined. */
export function interruptedSummary(runDir: string): RunSummary | undefined {
  const state = readRunState(runDir);
  if (state.status !== 'interrupted' || state.from !== 'status') return undefined;
  let first: unknown;
  try {
    const text = fs.readFileSync(path.join(runDir, 'events.jsonl'), 'utf8');
    first = JSON.parse(text.slice(0, text.indexOf('\n') >= 0 ? text.indexOf('\n') : text.length));
  } catch {
    return undefined;
  }
  const e = first as { type?: unknown; section?: unknown; kind?: unknown; file?: unknown };
  const summary = parseRunSummary(
    JSON.stringify({
      protocolVersion: RTUNE_LSP_PROTOCOL_VERSION,
      section: e.section,
      kind: e.kind,
      ...(typeof e.file === 'string' ? { file: e.file } : {}),
      status: 'interrupted',
      started: state.started,
      finished: state.updated ?? state.started,
      headline: state.message ?? 'interrupted',
      detail: `${state.message ?? 'interrupted'}; the run folder ${runDir} holds what it wrote before.`,
    }),
  );
  return e.type === 'run' ? summary : undefined;
}
