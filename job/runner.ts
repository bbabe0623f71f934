/**
 * Runs the sections of a validated `.rtune` file (a RunConfig, protocol/contract.ts) on the engine. The runner
 * keeps what sections share — model sessions (loaded once per `model` section), the direction sets and tuned
 * weights earlier sections left — and dispatches each section to its module in job/sections/ (direction, tune,
 * search, eval, export), each of which writes a run folder (run-folder.ts) and streams typed events. Used by
 * `rtune run` and by the worker process.
 */
import * as path from 'node:path';
import { initBackend } from '../engine/backend';
import { openModel, type Session } from '../engine/session';
import { CancelledError, throwIfCancelled } from '../engine/util/cancel';
import type { RunConfig, RunKind, SectionRef } from '../protocol/contract';
import type { JobEvent, RunEnded } from '../protocol/job';
import type { RunSummary } from '../protocol/lsp';
import type { ExtractedDirection, RunOptions, SectionContext, TunedResult } from './context';
import { failureKind } from './failure';
import { planSections } from './plan';
import { RunFolder } from './run-folder';
import { runDirection } from './sections/direction';
import { runEval } from './sections/eval';
import { runExport } from './sections/export';
import { runSearch } from './sections/search';
import { runTune } from './sections/tune';

export type { RunOptions } from './context';
export { resumableTrials } from './resume';

export class Runner implements SectionContext {
  private readonly sessions = new Map<string, Session>();
  readonly directions = new Map<string, ExtractedDirection>();
  readonly tuned = new Map<string, TunedResult>();
  readonly cancel: { signal?: AbortSignal };

  constructor(
    readonly config: RunConfig,
    readonly opts: RunOptions = {},
  ) {
    this.cancel = opts.signal ? { signal: opts.signal } : {};
  }

  dispose(): void {
    for (const s of this.sessions.values()) s.dispose();
    this.sessions.clear();
  }

  openFolder(outputDir: string, section: string, kind: RunKind, config: unknown, opts: { stamp?: boolean } = {}): RunFolder {
    const folder = new RunFolder(outputDir, section, kind, this.opts.file, config, opts);
    this.emit(
      { type: 'run', run: folder.id, section, kind, dir: path.resolve(folder.dir), ...(this.opts.file !== undefined ? { file: this.opts.file } : {}) },
      folder,
    );
    return folder;
  }

  emit(e: JobEvent, folder?: RunFolder): void {
    folder?.event(e);
    this.opts.emit?.(e);
  }

  async session(name: string): Promise<Session> {
    const have = this.sessions.get(name);
    if (have) return have;
    const m = this.config.models[name];
    if (!m) throw new Error(`unknown model section "${name}"`);
    const backend = await initBackend(m.backend === 'auto' && this.opts.backend !== undefined ? this.opts.backend : m.backend, {
      ...this.opts.backendOptions,
      threads: this.opts.threads ?? 1,
    });
    this.emit({ type: 'log', level: 'info', message: `model ${name}: ${m.source.path} on ${backend.device}` });
    // Why better backends were skipped (a software webgpu adapter, tfjs-node missing) and the webgpu limits.
    if (backend.notes.length > 0) this.emit({ type: 'log', level: 'info', message: `backend ${backend.backend}: ${backend.notes.join('; ')}` });
    const s = openModel(m.source.path, m.tokenizer !== undefined ? { tokenizerPath: m.tokenizer } : {});
    this.sessions.set(name, s);
    return s;
  }

  async runSection(ref: SectionRef): Promise<RunSummary | undefined> {
    const c = this.config;
    switch (ref.kind) {
      case 'direction':
        return runDirection(this, c.directions[ref.name] as NonNullable<(typeof c.directions)[string]>);
      case 'tune':
        return runTune(this, c.tunes[ref.name] as NonNullable<(typeof c.tunes)[string]>);
      case 'search':
        return runSearch(this, c.searches[ref.name] as NonNullable<(typeof c.searches)[string]>);
      case 'eval':
        return runEval(this, c.evals[ref.name] as NonNullable<(typeof c.evals)[string]>);
      case 'export':
        return runExport(this, c.exports[ref.name] as NonNullable<(typeof c.exports)[string]>);
      default:
        return undefined;
    }
  }

  async guarded(folder: RunFolder, job: string, body: () => Promise<RunSummary>): Promise<RunSummary> {
    const ended = (s: RunSummary): void => {
      // After finish() the event log is closed: tell watchers only.
      this.opts.emit?.({
        type: 'runEnd',
        run: folder.id,
        section: folder.section,
        kind: folder.kind as RunEnded['kind'],
        status: s.status,
        headline: s.headline,
      });
    };
    try {
      const summary = await body();
      ended(summary);
      return summary;
    } catch (e) {
      const cancelled = e instanceof CancelledError || this.opts.signal?.aborted === true;
      const message = e instanceof Error ? e.message : String(e);
      this.emit({ type: 'failed', job, kind: cancelled ? 'cancelled' : failureKind(e), message }, folder);
      ended(folder.finish(cancelled ? 'cancelled' : 'failed', cancelled ? 'cancelled' : `failed: ${message}`));
      throw e;
    }
  }
}

/** Run the named sections (or all runnable ones) in file order. */
export async function runConfig(config: RunConfig, sections: string[], opts: RunOptions = {}): Promise<RunSummary[]> {
  const chosen = planSections(config, sections, { prerequisites: opts.prerequisites ?? true });
  const runner = new Runner(config, opts);
  const out: RunSummary[] = [];
  try {
    for (const ref of chosen) {
      throwIfCancelled(opts.signal);
      const r = await runner.runSection(ref);
      if (r) out.push(r);
    }
  } finally {
    runner.dispose();
  }
  return out;
}
