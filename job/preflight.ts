/**
 * The checks before compute for a run: the sections it is about to run (with their prerequisites, as planned),
 * checked by language/preflight.ts — the same function the editor's diagnostics use — before the first section
 * starts, so a bad output folder, a missing column or an unreadable model fails the run at once, with every
 * problem listed as `FILE:LINE:COL: error: MESSAGE`, and no run folder is created. Needs the run's source
 * (`RunOptions.source`: the text and its analysis, from loadRunConfig); a RunConfig run without one (tests that
 * build configs directly) is not checked.
 */
import * as fs from 'node:fs';
import { parseStatementsCsv } from '../engine/method/prompts';
import type { AnalysisCore } from '../language/lower';
import type { RunConfig, SectionRef } from '../protocol/contract';
import { checkPreflight } from '../language/preflight';
import { span } from '../language/text';
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
export function preflightDiagnostics(chosen: readonly SectionRef[], opts: RunOptions, config?: RunConfig): Diagnostic[] {
  const source = opts.source;
  if (source === undefined) return [];
  const wanted = new Set(chosen.map((r) => `${r.kind} ${r.name}`));
  const found: Diagnostic[] = [];
  // Every problem refuses the run, the editor's warnings included (a model that is not there yet).
  const sink = (d: Diagnostic): void => {
    found.push({ ...d, severity: 'error' });
  };
  checkPreflight(source.analysis, sink, (s) => wanted.has(`${s.kind} ${s.name}`));
  if (config !== undefined) orderProblems(chosen, config, source.analysis, sink);
  return found.sort((x, y) => x.span.start - y.span.start);
}

/** Throws a PreflightError naming every problem of the sections `chosen` would run. */
export function preflight(chosen: readonly SectionRef[], opts: RunOptions, config?: RunConfig): void {
  const found = preflightDiagnostics(chosen, opts, config);
  if (found.length === 0) return;
  const file = opts.file ?? 'the .rtune file';
  const text = opts.source?.text ?? '';
  throw new PreflightError(
    `${file}: ${found.length === 1 ? 'a problem' : `${found.length} problems`} found before running (nothing was computed); fix and run again:\n${formatDiagnostics(file, text, found).trimEnd()}`,
    found,
  );
}

/**
 * Every row's option order in the CSVs of the prompt sets with an `order_column` that the run reads: a value other
 * than TF or FT is reported on the `order_column` key, naming the CSV line (the whole file is read; the editor
 * reads headers only, so this is a run-time check).
 */
function orderProblems(chosen: readonly SectionRef[], config: RunConfig, a: AnalysisCore, sink: (d: Diagnostic) => void): void {
  const names = new Set<string>();
  const add = (n: string | readonly string[] | undefined): void => {
    for (const x of n === undefined ? [] : typeof n === 'string' ? [n] : n) names.add(x);
  };
  for (const r of chosen) {
    if (r.kind === 'direction') add(config.directions[r.name]?.prompts);
    if (r.kind === 'tune') add(config.tunes[r.name]?.prompts);
    if (r.kind === 'eval') {
      const e = config.evals[r.name];
      for (const n of [e?.ab?.prompts, e?.steering?.prompts, e?.projection?.prompts, e?.generate?.prompts]) add(n);
    }
  }
  for (const n of names) {
    const p = config.prompts[n];
    if (p?.orderColumn === undefined || !fs.existsSync(p.data)) continue;
    try {
      parseStatementsCsv(fs.readFileSync(p.data, 'utf8'), p.data, { text: p.textColumn, label: p.labelColumn, order: p.orderColumn });
    } catch (e) {
      const entry = a.section('prompts', n)?.values.entryOf('order_column');
      const at = entry?.value ?? entry?.key;
      if (at === undefined) continue;
      sink({ code: 'preflight', severity: 'error', span: span(at.start, at.end), message: e instanceof Error ? e.message : String(e) });
    }
  }
}
