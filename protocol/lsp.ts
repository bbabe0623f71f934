/**
 * Custom messages between the rtune language server and its client (the VS Code extension), under the
 * `rtune/` method namespace, plus the command ids and arguments the server puts on CodeLenses and the shape of
 * the `summary.json` a finished run leaves on disk (read back by the server to show results inline, so they
 * survive a reload). Like protocol/job.ts, this module imports only the contract: method names are plain constants and
 * the client wraps them in `RequestType`/`NotificationType` (or passes the string to `sendRequest`).
 * Non-goals: no behaviour lives here, and the lowered run configuration is not part of the wire protocol
 * (the worker parses the .rtune file itself through language/).
 */
import type { FinalStatus, SectionKind } from './contract';

export const RTUNE_LSP_PROTOCOL_VERSION = 1;

/** A zero-based LSP position (line, UTF-16 character). */
export interface LspPosition {
  line: number;
  character: number;
}

/** A half-open LSP range. */
export interface LspRange {
  start: LspPosition;
  end: LspPosition;
}

/** The kinds of top-level section a `.rtune` file can hold. */
export type RtuneSectionKind = SectionKind;

/** Command ids on the server's CodeLenses. The client registers every one of them. */
export const RtuneCommands = {
  /** "Run Tuning" on a `tune` section. */
  runTuning: 'rtune.runTuning',
  /** "Run block search" on a `search` section. */
  runBlockSearch: 'rtune.runBlockSearch',
  /** "Compute perplexity" on an `eval` section that has a `perplexity` block. */
  computePerplexity: 'rtune.computePerplexity',
  /** "Extract direction" on a `direction` section. */
  extractDirection: 'rtune.extractDirection',
  /** "Run A/B evaluation" on an `eval` section that has an `ab` block. */
  runEvaluation: 'rtune.runEvaluation',
  /** "Compare steering" on an `eval` section that has a `steering` block. */
  compareSteering: 'rtune.compareSteering',
  /** "Export" on an `export` section. */
  runExport: 'rtune.runExport',
  /** Clicking an inline result: open that run's folder or report panel. Arguments: `OpenRunArgs`. */
  openRun: 'rtune.openRun',
} as const;

export type RtuneCommandId = (typeof RtuneCommands)[keyof typeof RtuneCommands];

/** The single argument of every run command (`arguments: [RunSectionArgs]` on the CodeLens). */
export interface RunSectionArgs {
  /** The document URI as the client sent it. */
  uri: string;
  /** The section's name, e.g. `honest` for `tune honest { ... }`. */
  section: string;
  /** The section's kind, e.g. `tune`. */
  kind: RtuneSectionKind;
  /** The whole section, from its keyword to its closing brace. */
  range: LspRange;
}

/** Argument of `rtune.openRun`. */
export interface OpenRunArgs {
  uri: string;
  section: string;
  /** Absolute path of the run folder that holds `summary.json`. */
  runDir: string;
}

// ---------------------------------------------------------------------------------------------------------
// Inline results.
//
// Every run writes `<output>/<run-id>/summary.json` when it ends (atomically: temp file + rename), where
// `<output>` is the section's output folder (its `output` key, default `<runs>/<section name>`; `runs` is a
// top-level key, default `runs` next to the .rtune file). The server reads the newest summary per section
// (by `finished`) and shows its `headline` as a CodeLens and an inlay hint on the section's header line.
// ---------------------------------------------------------------------------------------------------------

/** File name of a run summary inside a run folder. */
export const RUN_SUMMARY_FILE = 'summary.json';

/** The contents of `summary.json` written by every finished, failed or cancelled run. */
export interface RunSummary {
  /** Equal to RTUNE_LSP_PROTOCOL_VERSION when written. */
  protocolVersion: number;
  /** Section name and kind that produced the run. */
  section: string;
  kind: RtuneSectionKind;
  /** Absolute path of the .rtune file, when known. Summaries of other files are ignored. */
  file?: string;
  status: FinalStatus;
  /** ISO 8601 times. */
  started?: string;
  finished: string;
  /** One line for the editor, e.g. "perplexity 25.31 → 25.90 (+2.3%, 95% CI +1.1..+3.4%)". */
  headline: string;
  /** Optional longer text (markdown) shown on hover. */
  detail?: string;
  /** Named scalar results, e.g. { "perplexity_base": 25.31, "perplexity_tuned": 25.9 }. */
  metrics?: Record<string, number>;
  /** Absolute path of the finished run folder whose result this section reused instead of running (job/checkpoint.ts). */
  reusedFrom?: string;
}

/** One result attached to a section of an open document. */
export interface InlineResult {
  section: string;
  kind: RtuneSectionKind;
  /** The section header line (keyword and name). */
  range: LspRange;
  status: RunSummary['status'];
  headline: string;
  detail?: string;
  metrics?: Record<string, number>;
  finished: string;
  /** Absolute path of the run folder. */
  runDir: string;
}

/** Client → server request: the newest result of every section of a document. */
export const InlineResultsRequest = { method: 'rtune/inlineResults' } as const;

export interface InlineResultsParams {
  uri: string;
}

export interface InlineResultsResponse {
  results: InlineResult[];
}

/**
 * Client → server notification: a run finished (or a run folder changed), so cached summaries are stale. The
 * server forgets what it read under `runDir` (or everything when absent) and asks the client to refresh its
 * CodeLenses and inlay hints (`workspace/codeLens/refresh`, `workspace/inlayHint/refresh`).
 */
export const ResultsChangedNotification = { method: 'rtune/resultsChanged' } as const;

export interface ResultsChangedParams {
  /** The .rtune document the run came from, if known. */
  uri?: string;
  /** The run folder that changed, if known. */
  runDir?: string;
}

/** Options the client may pass in `initializationOptions`. All optional. */
export interface RtuneInitializationOptions {
  /**
   * Folder of the installed extension: `builtin:demo` resolves to `<extensionRoot>/examples/demo-model`.
   * Default: the folder above the server bundle that holds the extension's package.json.
   */
  extensionRoot?: string;
  /** Show inline results (CodeLens and inlay hints). Default true. */
  inlineResults?: boolean;
  /**
   * Absolute folder for run folders of files without a top-level `runs` key (the `rtune.runsFolder` setting).
   * Default: `runs` next to the .rtune file.
   */
  runsFolder?: string;
}
