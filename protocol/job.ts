/**
 * Typed messages between a job (engine work: perplexity, generation, extraction, tuning, search) and whoever
 * watches it (the CLI, the worker process, the extension). Every event carries `type`; consumers switch on it.
 * This module imports only the contract (type-only): it is shared by the engine, the CLI, the server, the client and the webviews.
 */
import type { FinalStatus, NewlineMode, RunKind } from './contract';
export type { NewlineMode } from './contract';

export const JOB_PROTOCOL_VERSION = 1;

/** Where a job runs: reported once at the start of every job. */
export interface BackendInfo {
  /** tfjs backend name: 'tensorflow' | 'webgpu' | 'wasm' | 'cpu'. */
  backend: string;
  /** Human-readable device, e.g. "CPU (wasm simd, 2 threads)" or "NVIDIA H100 (webgpu/vulkan)". */
  device: string;
  threads: number;
  /** Why better backends were skipped, e.g. "tensorflow: @tensorflow/tfjs-node-gpu is not installed". */
  notes: string[];
}

/** The machine a run folder was written on (job/environment.ts). */
export interface RunMachine {
  host: string;
  /** `os.platform()` and `os.release()`, e.g. "linux 6.8.0". */
  platform: string;
  arch: string;
  cpu: string;
  cores: number;
  memoryBytes: number;
}

/**
 * A job started on a backend. Each run folder records one per model session its section uses (`model`), with the
 * machine and the versions (`rtune`, `node`, `tfjs`), for `rtune report`.
 */
export interface JobStarted {
  type: 'started';
  protocolVersion: number;
  job: string;
  /** The model section whose session this is. */
  model?: string;
  backend: BackendInfo;
  time: string;
  machine?: RunMachine;
  versions?: Record<string, string>;
}

/** Generic progress: `done` of `total` units (`unit` says what is counted: windows, tokens, steps, trials). */
export interface JobProgress {
  type: 'progress';
  job: string;
  done: number;
  total: number;
  unit: string;
  /** Optional running figure to show beside the bar, e.g. the running perplexity. */
  message?: string;
}

export interface JobLog {
  type: 'log';
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface JobResult<T = unknown> {
  type: 'result';
  job: string;
  result: T;
}

export interface JobFailed {
  type: 'failed';
  job: string;
  /** A stable category: 'input' (bad file or config), 'memory', 'numerics', 'cancelled', 'internal'. */
  kind: 'input' | 'memory' | 'numerics' | 'cancelled' | 'internal';
  message: string;
}

/** One optimisation step of a tuning run (streamed at the job's rate; the loss-curve panel plots these). */
export interface TuneStep {
  type: 'step';
  job: string;
  /** Run id (the run folder name), so several runs can be overlaid. */
  run: string;
  step: number;
  epoch: number;
  /** Token loss (cross-entropy on the answer token), projection loss, and the weighted total. */
  tokenLoss: number;
  projectionLoss: number;
  totalLoss: number;
  lr: number;
  gradNorm: number;
  /** Mean cosine with the direction at the target positions, one per tuned layer (in `layers` order). */
  cosine: number[];
  layers: number[];
  tokensPerSecond: number;
}

/** Held-out evaluation during or after tuning. */
export interface TuneEval {
  type: 'eval';
  job: string;
  run: string;
  step: number;
  split: 'heldout' | 'train';
  tokenLoss: number;
  projectionLoss: number;
  totalLoss: number;
}

/**
 * A layers x positions table of values (cosine with the direction, or separation), for the projection heatmap.
 * `values[i][j]` belongs to `rows[i]` (a layer) and `columns[j]` (a token position label or a step).
 */
export interface Heatmap {
  type: 'heatmap';
  job: string;
  run: string;
  /** What the table shows, e.g. "cosine before tuning", "cosine after tuning", "separation (extraction)". */
  title: string;
  rowLabel: string;
  columnLabel: string;
  rows: number[];
  columns: string[];
  values: number[][];
  /** Value range for the colour scale; symmetric [-1, 1] for cosines. */
  min: number;
  max: number;
}

/** One finished block-search trial (the leaderboard panel shows these as they arrive). */
export interface SearchTrial {
  type: 'trial';
  job: string;
  run: string;
  trial: number;
  /** Blocks trained by the token loss and by the projection loss (generic names: q k v o gate up down). */
  tokenBlocks: string[];
  projectionBlocks: string[];
  steps: number;
  initialTokenLoss: number;
  finalTokenLoss: number;
  initialProjectionLoss: number;
  finalProjectionLoss: number;
  /**
   * Held-out A/B rates after the trial: the share of held-out items answered with the tune's target letter (the
   * truthful one for `labels honest`, the lie for `labels dishonest`), and with the other letter.
   */
  targetRate: number;
  otherRate: number;
  sample: string;
  seconds: number;
  /** Successive halving: the rung the trial reached; exhaustive search: 0. */
  rung: number;
}

/**
 * A section's run folder was created (sent before any other event of that section), so watchers know where the
 * run lives: the extension replays `events.jsonl` into panels from it, and marks it failed if the worker dies.
 */
export interface RunOpened {
  type: 'run';
  /** Run id (the folder name); `TuneStep.run` and friends carry the same id. */
  run: string;
  section: string;
  kind: RunKind;
  /** Absolute path of the run folder. */
  dir: string;
  /** Absolute path of the .rtune file, when known. */
  file?: string;
}

/**
 * A section's run finished (its summary.json is written): sent once per `run`, after its last event, so
 * watchers can show the run's final status while the rest of the job goes on. Not written to events.jsonl (the
 * folder's status.json and summary.json hold the same).
 */
export interface RunEnded {
  type: 'runEnd';
  run: string;
  section: string;
  kind: RunOpened['kind'];
  status: FinalStatus;
  headline: string;
}

/**
 * A direction or tune section was not computed: the result of an earlier finished run folder with the same inputs
 * (or the one `--from` named) was loaded instead (job/checkpoint.ts). No `run` event follows for it; watchers may
 * replay that folder's `events.jsonl` (the extension does, so its curves show).
 */
export interface RunReused {
  type: 'reused';
  /** Id (folder name) of the reused run. */
  run: string;
  section: string;
  kind: 'direction' | 'tune';
  /** Absolute path of the reused run folder. */
  dir: string;
}

export type JobEvent =
  | RunOpened
  | RunEnded
  | RunReused
  | JobStarted
  | JobProgress
  | JobLog
  | JobResult
  | JobFailed
  | TuneStep
  | TuneEval
  | Heatmap
  | SearchTrial;

/** How text data was read: `lf` turns CRLF and lone CR into LF (as Python's text mode), `raw` keeps them. */

/** What reading a text file did with its line endings (engine/util/text.ts). */
export interface NewlineReport {
  mode: NewlineMode;
  /** CRLF pairs in the file (replaced by LF in `lf` mode, kept in `raw`). */
  crlf: number;
  /** Lone CRs in the file (likewise). */
  cr: number;
}

/** Result of a sliding-window perplexity job (engine/eval/perplexity.ts). */
export interface PerplexityResult {
  perplexity: number;
  /** Mean NLL per scored token, in nats. */
  nll: number;
  /** Tokens in the whole text (including a leading BOS when the model uses one). */
  tokens: number;
  /** Tokens whose loss entered the result: tokens - 1 (the first token has no prediction). */
  scored_tokens: number;
  windows: number;
  max_length: number;
  stride: number;
  batch: number;
  backend: string;
  device: string;
  model: string;
  data: string;
  /** What was done with the data's line endings. */
  newlines: NewlineReport;
  seconds: number;
  tokens_per_second: number;
  /** Per-window NLL sums and scored-token counts, kept for paired bootstrap comparisons. */
  window_nll: number[];
  window_tokens: number[];
}
