/**
 * The checks before compute for a run: the sections it is about to run (with their prerequisites, as planned),
 * checked by language/preflight.ts — the same function the editor's diagnostics use — before the first section
 * starts, so a bad output folder, a missing column or an unreadable model fails the run at once, with every
 * problem listed as `FILE:LINE:COL: error: MESSAGE`, and no run folder is created. Needs the run's source
 * (`RunOptions.source`: the text and its analysis, from loadRunConfig); a RunConfig run without one (tests that
 * build configs directly) is not checked.
 */
import type { SectionRef } from '../protocol/contract';
import { checkPreflight } from '../language/preflight';
import { formatDiagnostics } from '../language/report';
import type { Diagnostic } from '../language/text';
import type { RunOptions } from './context';

/** A run refused before compute: its message lists every problem with the file, line and fix. */
export class PreflightError extends Error {
  constructor(
    message: string,
    readonly diagnostics: readonly Diagnostic[],
  ) {
    super(message);
    this.name = 'PreflightError';
  }
}

/** The problems of the sections `chosen` would run, as diagnostics of the run's source. */
export function preflightDiagnostics(chosen: readonly SectionRef[], opts: RunOptions): Diagnostic[] {
  const source = opts.source;
  if (source === undefined) return [];
  const wanted = new Set(chosen.map((r) => `${r.kind} ${r.name}`));
  const found: Diagnostic[] = [];
  // Every problem refuses the run, the editor's warnings included (a model that is not there yet).
  const sink = (d: Diagnostic): void => {
    found.push({ ...d, severity: 'error' });
  };
  checkPreflight(source.analysis, sink, (s) => wanted.has(`${s.kind} ${s.name}`));
  return found.sort((x, y) => x.span.start - y.span.start);
}

/** Throws a PreflightError naming every problem of the sections `chosen` would run. */
export function preflight(chosen: readonly SectionRef[], opts: RunOptions): void {
  const found = preflightDiagnostics(chosen, opts);
  if (found.length === 0) return;
  const file = opts.file ?? 'the .rtune file';
  const text = opts.source?.text ?? '';
  throw new PreflightError(
    `${file}: ${found.length === 1 ? 'a problem' : `${found.length} problems`} found before running (nothing was computed); fix and run again:\n${formatDiagnostics(file, text, found).trimEnd()}`,
    found,
  );
}
