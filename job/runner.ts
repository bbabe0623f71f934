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
import { CancelledError } from '../engine/util/cancel';
import type { FinalStatus, RunConfig, RunKind, SectionRef } from '../protocol/contract';
import type { BackendInfo, JobEvent, RunEnded } from '../protocol/job';
import { startedEvent } from './environment';
import { RTUNE_LSP_PROTOCOL_VERSION, type RunSummary } from '../protocol/lsp';
import type { ExtractedDirection, RunOptions, SectionContext, TunedResult } from './context';
import { fromRunFolder, useTuneFrom } from './checkpoint';
import { failureKind } from './failure';
import { prepareHubModels } from './hub-model';
import { planSections, prerequisitesOf } from './plan';
import { preflight } from './preflight';
import { cleanOutputFolder, RunFolder } from './run-folder';
import { runDirection } from './sections/direction';
import { runCompare } from './sections/compare';
import { runEval } from './sections/eval';
import { runExport } from './sections/export';
import { runSearch } from './sections/search';
import { runTune } from './sections/tune';

export type { RunOptions } from './context';
export { resumableTrials } from './resume';

export class Runner implements SectionContext {
  private readonly sessions = new Map<string, Session>();
  /** The backend of each model session, and the folder now open (sections run one at a time), for its `started` events. */
  private readonly backends = new Map<string, BackendInfo>();
  private open: { folder: RunFolder; models: Set<string> } | undefined;
  readonly directions = new Map<string, ExtractedDirection>();
  readonly tuned = new Map<string, TunedResult>();
  readonly evalRuns = new Map<string, string>();
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
    this.open = { folder, models: new Set() };
    // A section that opened its model before its folder: record that session's backend now.
    const model = (config as { model?: unknown } | undefined)?.model;
    if (typeof model === 'string' && this.backends.has(model)) this.recordBackend(model, kind);
    return folder;
  }

  emit(e: JobEvent, folder?: RunFolder): void {
    folder?.event(e);
    this.opts.emit?.(e);
  }

  /** Writes a `started` event (backend, machine, versions) for model session `model` into the open folder, once. */
  private recordBackend(model: string, job: string): void {
    const backend = this.backends.get(model);
    if (!this.open || backend === undefined || this.open.models.has(model)) return;
    this.open.models.add(model);
    this.open.folder.event(startedEvent(job, model, backend));
  }

  async session(name: string): Promise<Session> {
    const have = this.sessions.get(name);
    if (have) {
      this.recordBackend(name, this.open?.folder.kind ?? 'job');
      return have;
    }
    const m = this.config.models[name];
    if (!m) throw new Error(`unknown model section "${name}"`);
    if (m.source.kind === 'hub' && m.source.path === '')
      throw new Error(`model ${name}: hf:${m.source.repo} was not resolved to a cached snapshot before the run`);
    const backend = await initBackend(m.backend === 'auto' && this.opts.backend !== undefined ? this.opts.backend : m.backend, {
      ...this.opts.backendOptions,
      threads: this.opts.threads ?? 1,
    });
    this.emit({ type: 'log', level: 'info', message: `model ${name}: ${m.source.path} on ${backend.device}` });
    // Why better backends were skipped (a software webgpu adapter, tfjs-node missing) and the webgpu limits.
    if (backend.notes.length > 0) this.emit({ type: 'log', level: 'info', message: `backend ${backend.backend}: ${backend.notes.join('; ')}` });
    const s = openModel(m.source.path, m.tokenizer !== undefined ? { tokenizerPath: m.tokenizer } : {});
    this.sessions.set(name, s);
    this.backends.set(name, backend);
    this.recordBackend(name, this.open?.folder.kind ?? 'job');
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
      case 'compare':
        return runCompare(this, c.compares[ref.name] as NonNullable<(typeof c.compares)[string]>);
      default:
        return undefined;
    }
  }

  /**
   * Runs `body` for `folder`. A throw marks the folder failed (or cancelled, after a cancel) and returns that
   * summary: the runner decides what a failure means for the sections after it.
   */
  async guarded(folder: RunFolder, job: string, body: () => Promise<RunSummary>): Promise<RunSummary> {
    const ended = (s: RunSummary): RunSummary => this.ended(folder, s);
    try {
      return ended(await body());
    } catch (e) {
      const cancelled = e instanceof CancelledError || this.opts.signal?.aborted === true;
      const message = e instanceof Error ? e.message : String(e);
      this.emit({ type: 'failed', job, kind: cancelled ? 'cancelled' : failureKind(e), message }, folder);
      return ended(folder.finish(cancelled ? 'cancelled' : 'failed', cancelled ? 'cancelled' : `failed: ${message}`));
    }
  }

  /** A section that is not run because `reason`: a run folder that says so (status `skipped`). */
  skip(ref: SectionRef, reason: string): RunSummary {
    const sec = sectionConfig(this.config, ref);
    const headline = `skipped: ${reason}`;
    if (sec === undefined) return summaryWithoutFolder(ref, 'skipped', headline, this.opts.file);
    const folder = this.openFolder(sec.output, ref.name, ref.kind as RunKind, sec, { stamp: ref.kind === 'export' });
    this.emit({ type: 'log', level: 'warn', message: `${ref.kind} ${ref.name}: ${headline}` }, folder);
    return this.ended(folder, folder.finish('skipped', headline));
  }

  /** Tells watchers a folder ended (after finish() its event log is closed). */
  private ended(folder: RunFolder, s: RunSummary): RunSummary {
    if (this.open?.folder === folder) this.open = undefined;
    this.opts.emit?.({
      type: 'runEnd',
      run: folder.id,
      section: folder.section,
      kind: folder.kind as RunEnded['kind'],
      status: s.status,
      headline: s.headline,
    });
    return s;
  }
}

/** The config of a runnable section (its `output` says where its run folders go). */
function sectionConfig(c: RunConfig, ref: SectionRef): { readonly output: string } | undefined {
  const tables = { direction: c.directions, tune: c.tunes, search: c.searches, eval: c.evals, export: c.exports, compare: c.compares };
  return ref.kind in tables ? tables[ref.kind as RunKind][ref.name] : undefined;
}

/** A summary for a section that got no run folder (not run after a cancel, or its folder could not be made). */
function summaryWithoutFolder(ref: SectionRef, status: FinalStatus, headline: string, file: string | undefined): RunSummary {
  const now = new Date().toISOString();
  return {
    protocolVersion: RTUNE_LSP_PROTOCOL_VERSION,
    section: ref.name,
    kind: ref.kind,
    ...(file !== undefined ? { file } : {}),
    status,
    finished: now,
    headline,
  };
}

const ENDED_AS: Record<FinalStatus, string> = {
  done: 'is done',
  failed: 'failed',
  cancelled: 'was cancelled',
  skipped: 'was skipped',
  interrupted: 'was interrupted',
};

const refKey = (r: SectionRef): string => `${r.kind}\u241f${r.name}`;

/**
 * Run the named sections (or all runnable ones) in file order, and return a summary for every one of them. A
 * section whose prerequisite (plan.ts) did not finish `done` in this run is not run: it gets a `skipped` folder
 * naming the prerequisite. A failed section does not stop independent ones. After a cancel the section running
 * ends `cancelled` (keeping what it finished) and the rest are listed as not run, without folders.
 */
export async function runConfig(config: RunConfig, sections: string[], opts: RunOptions = {}): Promise<RunSummary[]> {
  const from = opts.from !== undefined ? fromRunFolder(config, sections, opts.from) : undefined;
  const chosen = planSections(config, sections, { prerequisites: opts.prerequisites ?? true, ...(from ? { given: [from.tune] } : {}) });
  preflight(chosen, opts, config);
  // Hub models (`hf:`) to their snapshot folders, downloaded when missing; then the model checks see them too.
  const checked = opts;
  ({ config, opts } = await prepareHubModels(config, chosen, opts));
  if (opts !== checked) preflight(chosen, opts, config);
  const runner = new Runner(config, opts);
  const out: RunSummary[] = [];
  const ended = new Map<string, FinalStatus>();
  const aborted = (): boolean => opts.signal?.aborted === true;
  try {
    // Temp files a killed earlier run left in these output folders (an export's .model.tmp-*) go first.
    for (const o of new Set(chosen.map((r) => sectionConfig(config, r)?.output))) {
      if (o === undefined) continue;
      for (const p of cleanOutputFolder(o)) runner.emit({ type: 'log', level: 'info', message: `removed ${p}, left by a run that was killed` });
    }
    if (from && opts.from !== undefined) out.push(await useTuneFrom(runner, from.tune, opts.from));
    for (const ref of chosen) {
      if (aborted()) {
        out.push(summaryWithoutFolder(ref, 'cancelled', 'not run: the run was cancelled', opts.file));
        continue;
      }
      const bad = prerequisitesOf(config, ref).find((p) => ended.has(refKey(p)) && ended.get(refKey(p)) !== 'done');
      let r: RunSummary | undefined;
      try {
        r =
          bad !== undefined
            ? runner.skip(ref, `its prerequisite ${bad.kind} ${bad.name} ${ENDED_AS[ended.get(refKey(bad)) ?? 'failed']}`)
            : await runner.runSection(ref);
      } catch (e) {
        // Only a section's folder can fail outside guarded() (it cannot be created): say so and go on.
        if (e instanceof CancelledError || aborted()) r = summaryWithoutFolder(ref, 'cancelled', 'cancelled', opts.file);
        else r = summaryWithoutFolder(ref, 'failed', `failed: ${e instanceof Error ? e.message : String(e)}`, opts.file);
        runner.emit({ type: 'log', level: 'error', message: `${ref.kind} ${ref.name}: ${r.headline}` });
      }
      if (r) {
        ended.set(refKey(ref), r.status);
        out.push(r);
      }
    }
  } finally {
    runner.dispose();
  }
  return out;
}
