/**
 * What every cross-field rule module shares: the diagnostic sink, where to report (a key's value, its key, or the
 * section header), and the "which model?" check of sections that run on a model.
 */
import { BlockValues } from './block-values';
import type { AnalysisCore, SectionInfo } from './lower';
import { Diagnostic, Severity, Span, span } from './text';

export type Sink = (d: Diagnostic) => void;

export const PLACEHOLDERS = ['statement', 'persona', 'label', 'option_a', 'option_b'];
export const MAX_EXHAUSTIVE_TRIALS = 1000;

/** The span of a key's value (or its key, or the owner's header) for reporting. */
export function at(values: BlockValues, key: string, fallback: Span): Span {
  const e = values.entryOf(key);
  if (e === undefined) return fallback;
  return e.value !== undefined ? span(e.value.start, e.value.end) : span(e.key.start, e.key.end);
}

export function keySpan(values: BlockValues, key: string, fallback: Span): Span {
  const e = values.entryOf(key);
  return e !== undefined ? span(e.key.start, e.key.end) : fallback;
}

export function report(sink: Sink, s: Span, message: string, severity: Severity = 'error'): void {
  sink({ code: 'rule', severity, span: s, message });
}

export function checkNeedsModel(a: AnalysisCore, s: SectionInfo, sink: Sink): void {
  if (a.modelOf(s) !== undefined) return;
  const models = a.sectionsOf('model');
  if (s.values.has('model')) return; // an unresolved reference was reported already
  if (models.length === 0) report(sink, s.headerSpan, `\`${s.kind} ${s.name}\` needs a model: add a \`model <name> { path ... }\` section`);
  else report(sink, s.headerSpan, `which model? The file has ${models.length} model sections (${models.map((m) => m.name).join(', ')}): add \`model <name>\``);
}
