/**
 * What the panels show, owned by the extension (webview/README.md): every run's full loss series, the heatmaps,
 * the search trials, and each run's status and progress. Job events go in; webview messages come out (deltas to
 * post now, and a snapshot for every panel that posts `ready`). A finished run is replayed from its folder's
 * `events.jsonl` with `loadRunFolder`, so panels survive hiding, reloads and "Open Run…".
 * Pure apart from `loadRunFolder` (which reads files); no `vscode`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runStatusOf } from '../job/run-folder';
import type { JobEvent } from '../protocol/job';
import {
  extensionMessage,
  heatmapFromJobEvent,
  heatmapKey,
  pointFromJobEvent,
  progressFromJobEvent,
  trialFromJobEvent,
  trialKey,
  type ExtensionMessage,
  type HeatmapData,
  type RunSeries,
  type RunStatus,
  type SeriesPoint,
  type TrialData,
} from '../protocol/webview';

/** Title of the layers × steps heatmap built from the tuning steps' cosines. */
export const COSINE_TITLE = 'cosine with the direction during tuning (layer × step)';

export interface RunInfo {
  run: string;
  section: string;
  kind: string;
  dir: string;
  status: RunStatus;
  message?: string;
  progress?: { done: number; total: number; unit: string; message?: string };
  /** Last step's figures, for the status bar. */
  last?: { step: number; totalLoss: number };
}

/** "honest 07:01:31" from a run id like 20261127T070131Z-honest. */
export function runLabel(run: string, section: string): string {
  const m = /^\d{8}T(\d{2})(\d{2})(\d{2})Z/.exec(run);
  return m ? `${section} ${m[1]}:${m[2]}:${m[3]}` : run;
}

export class RunState {
  private readonly series = new Map<string, { label: string; points: SeriesPoint[] }>();
  private readonly heatmaps = new Map<string, HeatmapData>();
  private readonly trials = new Map<string, TrialData>();
  readonly runs = new Map<string, RunInfo>();
  /** The run the stream is currently in (events other than `run` carry a job name, not always the run id). */
  private current: string | undefined;

  get currentRun(): RunInfo | undefined {
    return this.current !== undefined ? this.runs.get(this.current) : undefined;
  }

  /** Applies one job event; returns the webview messages that bring an open panel up to date. */
  apply(e: JobEvent): ExtensionMessage[] {
    switch (e.type) {
      case 'run': {
        this.current = e.run;
        this.runs.set(e.run, { run: e.run, section: e.section, kind: e.kind, dir: e.dir, status: 'running' });
        if (e.kind === 'tune') {
          // A new curve: a snapshot carries its label (an append would show the bare run id).
          this.series.set(e.run, { label: runLabel(e.run, e.section), points: [] });
          return [this.snapshot()];
        }
        return [];
      }
      case 'runEnd':
        return this.setStatus(e.run, e.status, e.headline);
      case 'step':
      case 'eval': {
        let s = this.series.get(e.run);
        if (!s) this.series.set(e.run, (s = { label: runLabel(e.run, e.run), points: [] }));
        const p = pointFromJobEvent(e);
        s.points.push(p);
        const info = this.runs.get(e.run);
        const out = [extensionMessage({ type: 'append', run: e.run, points: [p] })];
        if (e.type === 'step') {
          if (info) info.last = { step: e.step, totalLoss: e.totalLoss };
          const h = this.recordCosines(e.run, e.step, e.layers, e.cosine);
          // The table grows with every step; post it every few steps (and at the end, from setStatus), not every one.
          if (h && (h.columns.length <= 20 || h.columns.length % 10 === 0)) out.push(extensionMessage({ type: 'heatmap', heatmap: h }));
        }
        return out;
      }
      case 'heatmap': {
        const h = heatmapFromJobEvent(e);
        this.heatmaps.set(heatmapKey(h), h);
        return [extensionMessage({ type: 'heatmap', heatmap: h })];
      }
      case 'trial': {
        const t = trialFromJobEvent(e);
        this.trials.set(trialKey(t), t);
        return [extensionMessage({ type: 'trials', trials: [t] })];
      }
      case 'progress': {
        const info = this.currentRun;
        if (!info) return [];
        info.progress = { done: e.done, total: e.total, unit: e.unit, ...(e.message !== undefined ? { message: e.message } : {}) };
        return this.series.has(info.run) ? [extensionMessage(progressFromJobEvent(e, info.run))] : [];
      }
      case 'failed': {
        const info = this.currentRun;
        if (!info) return [];
        return this.setStatus(info.run, e.kind === 'cancelled' ? 'cancelled' : 'failed', e.message);
      }
      default:
        return [];
    }
  }

  /** Sets a run's final status (from its summary, or after a worker crash). */
  setStatus(run: string, status: RunStatus, message?: string): ExtensionMessage[] {
    const info = this.runs.get(run);
    if (info) {
      info.status = status;
      if (message !== undefined) info.message = message;
    }
    if (!this.series.has(run)) return [];
    const out = [extensionMessage({ type: 'runStatus', run, status, ...(message !== undefined ? { message } : {}) })];
    const h = this.heatmaps.get(heatmapKey({ run, title: COSINE_TITLE }));
    if (h) out.push(extensionMessage({ type: 'heatmap', heatmap: h }));
    return out;
  }

  /** Adds one step's per-layer cosines to the run's layers × steps table; returns the updated heatmap. */
  private recordCosines(run: string, step: number, layers: readonly number[], cosine: readonly number[]): HeatmapData | undefined {
    if (layers.length === 0 || cosine.length !== layers.length) return undefined;
    // The heatmap object is updated in place (a column per step), so a long run costs O(1) per step; it is
    // serialised when posted.
    const key = heatmapKey({ run, title: COSINE_TITLE });
    let h = this.heatmaps.get(key);
    if (!h || h.rows.join() !== layers.join()) {
      h = {
        type: 'heatmap',
        job: 'tune',
        run,
        title: COSINE_TITLE,
        rowLabel: 'layer',
        columnLabel: 'step',
        rows: [...layers],
        columns: [],
        values: layers.map(() => []),
        min: -1,
        max: 1,
      };
      this.heatmaps.set(key, h);
    }
    const label = String(step);
    const col = h.columns[h.columns.length - 1] === label ? h.columns.length - 1 : h.columns.push(label) - 1;
    layers.forEach((_, i) => {
      const v = cosine[i] as number;
      (h.values[i] as (number | null)[])[col] = Number.isFinite(v) ? v : null;
    });
    return h;
  }

  /** The full state, for a panel that just posted `ready`. */
  snapshot(): ExtensionMessage {
    const runs: RunSeries[] = [...this.series].map(([run, s]) => ({ run, label: s.label, status: this.runs.get(run)?.status ?? 'done', points: s.points }));
    return extensionMessage({ type: 'snapshot', runs, heatmaps: [...this.heatmaps.values()], trials: [...this.trials.values()] });
  }

  get counts(): { runs: number; points: number; heatmaps: number; trials: number } {
    let points = 0;
    for (const s of this.series.values()) points += s.points.length;
    return { runs: this.series.size, points, heatmaps: this.heatmaps.size, trials: this.trials.size };
  }

  /** Forgets one run (before it is replayed again from disk). */
  forget(run: string): void {
    this.series.delete(run);
    this.runs.delete(run);
    for (const [k, h] of this.heatmaps) if (h.run === run) this.heatmaps.delete(k);
    for (const [k, t] of this.trials) if (t.run === run) this.trials.delete(k);
  }
}

/**
 * Replays a run folder into `state`: its events (a torn last line from a crash is skipped), then its status as
 * every reader reads it (`runStatusOf`, job/run-folder.ts: the summary when there is one, and `interrupted` for a
 * folder still saying `running` whose writer is gone). Returns the run id, or throws an Error naming the folder
 * and what is missing.
 */
export function loadRunFolder(state: RunState, dir: string): string {
  const eventsFile = path.join(dir, 'events.jsonl');
  let text: string;
  try {
    text = fs.readFileSync(eventsFile, 'utf8');
  } catch {
    throw new Error(`${dir} is not an rtune run folder: it has no readable events.jsonl`);
  }
  const run = path.basename(dir);
  state.forget(run);
  let sawRun = false;
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let e: JobEvent;
    try {
      e = JSON.parse(line) as JobEvent;
    } catch {
      continue;
    }
    if (typeof e !== 'object' || e === null || typeof (e as { type?: unknown }).type !== 'string') continue;
    if (e.type === 'run') sawRun = true;
    state.apply(e);
  }
  if (!sawRun) {
    // A folder written before runs announced themselves: its steps made a series keyed by their run id already.
    state.runs.set(run, { run, section: path.basename(path.dirname(dir)), kind: 'unknown', dir, status: 'interrupted' });
  }
  const { status, message } = runStatusOf(dir);
  state.setStatus(run, status, message);
  return run;
}
