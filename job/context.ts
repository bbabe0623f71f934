/**
 * What a section module gets from the runner: the RunConfig, the shared model sessions, the results earlier
 * sections left in memory (direction sets, tuned weights), run folders and events. One interface, so each
 * section kind (job/sections/*.ts) is a plain function of it. Non-goals: no behaviour here.
 */
import type { HubSettings } from '../hub/cache';
import type { DirectionSet } from '../engine/method/direction-set';
import type { StatementRow } from '../engine/method/prompts';
import type { Session } from '../engine/session';
import type { BackendOptions, BackendPreference } from '../engine/backend';
import type { AnalysisCore } from '../language/lower';
import type { RunConfig, RunKind } from '../protocol/contract';
import type { JobEvent } from '../protocol/job';
import type { RunSummary } from '../protocol/lsp';
import type { RunFolder } from './run-folder';

export interface RunOptions {
  /** Absolute path of the .rtune file (for run summaries). */
  file?: string;
  emit?: (e: JobEvent) => void;
  signal?: AbortSignal;
  /** wasm threads (default 1). */
  threads?: number;
  /** Backend for model sections that say `backend auto` (the editor's `rtune.backend` setting, the CLI's `--backend`). */
  backend?: BackendPreference;
  /** Backend settings other than threads (from the CLI's or the worker's environment: RTUNE_WEBGPU, RTUNE_DAWN_FLAGS). */
  backendOptions?: Omit<BackendOptions, 'threads'>;
  /** Also run what the named sections stand on (their direction, tune): default true. */
  prerequisites?: boolean;
  /** The `.rtune` text and its analysis (loadRunConfig): the sections to run are checked before compute (job/preflight.ts). */
  source?: { readonly text: string; readonly analysis: AnalysisCore };
  /**
   * Compute every direction and tune of the run again. Otherwise a direction or tune whose newest finished run
   * folder with the same inputs hash exists is loaded from it (job/checkpoint.ts), whether it was named, pulled in
   * as a prerequisite or part of a whole-file run.
   */
  fresh?: boolean;
  /** A tune run folder whose checkpoint the named eval/export sections use instead of running their tune (`--from`). */
  from?: string;
  /** Where the Hugging Face cache is and how to reach the Hub (`hf:` models; hub/cache.ts). Default: from the environment. */
  hub?: HubSettings;
  /** The fetch Hub requests use (tests); default the global one. */
  hubFetch?: typeof fetch;
}

/** A direction section's result kept for the sections after it: its vectors and the metadata it was written with. */
export interface ExtractedDirection extends DirectionSet {
  readonly metadata: Readonly<Record<string, string>>;
}

/** A tune's result kept for the sections after it. */
export interface TunedResult {
  /** The model section it tuned. */
  model: string;
  /** HF name → trained values (memory layout). */
  weights: Map<string, Float32Array>;
  /** Statements held out of training (early stopping and evaluation). */
  heldout: StatementRow[];
  /** The prompt set it trained on. */
  prompts: string;
  /** Anchor offsets it trained (the positions of the direction it used). */
  positions: readonly number[];
  /** Layers it trained. */
  layers: readonly number[];
}

export interface SectionContext {
  readonly config: RunConfig;
  readonly opts: RunOptions;
  /** `{ signal }` when the run can be cancelled, else `{}`: spread into engine options. */
  readonly cancel: { signal?: AbortSignal };
  readonly directions: Map<string, ExtractedDirection>;
  readonly tuned: Map<string, TunedResult>;
  /** Eval name → the run folder it wrote in this run (what a compare reads). */
  readonly evalRuns: Map<string, string>;
  session(model: string): Promise<Session>;
  /** Create a section's run folder and announce it (a `run` event) before anything else is streamed. */
  openFolder(outputDir: string, section: string, kind: RunKind, config: unknown, opts?: { stamp?: boolean }): RunFolder;
  emit(e: JobEvent, folder?: RunFolder): void;
  /** Run `body` for `folder`; a throw marks the folder failed (or cancelled) and that summary is returned. */
  guarded(folder: RunFolder, job: string, body: () => Promise<RunSummary>): Promise<RunSummary>;
}

/** A layer selection resolved against the model's layer count. */
export function layersOf(sel: readonly number[] | 'all', nLayers: number): number[] {
  return sel === 'all' ? Array.from({ length: nLayers }, (_, i) => i) : [...sel];
}
