/**
 * The entry point of the `.rtune` core: `analyze(text, options)` parses (with the schema's section keywords for
 * recovery) and lowers a document, returning everything the editor features and the CLI need: the tree, all
 * diagnostics, the section table, resolved models and, when the file is valid, the frozen RunConfig.
 * `loadRunConfig` is the strict form for jobs. Non-goals: caching (the server caches per document version).
 */

import type { RunConfig } from './config';
import type { LanguageOptions } from './env';
import { Analysis, lower } from './lower';
import { parse } from './parser';
import { SECTION_KINDS } from './schema';
import type { Diagnostic } from './text';

export type { Analysis, ResolvedModel, SectionInfo } from './lower';

const SECTION_KEYWORDS: ReadonlySet<string> = new Set(SECTION_KINDS);

export function analyze(text: string, options: LanguageOptions = {}): Analysis {
  return lower(parse(text, { sectionKeywords: SECTION_KEYWORDS }), options);
}

/**
 * Parses and validates for a run: the config (with the analysis, for the checks before compute of the sections
 * the run selects: job/preflight.ts), or every error (warnings do not block a run). The checks before compute
 * are left to the run, which knows which sections it runs.
 */
export function loadRunConfig(text: string, options: LanguageOptions): { config: RunConfig; analysis: Analysis } | { errors: readonly Diagnostic[] } {
  const a = analyze(text, { ...options, preflight: false });
  if (a.config !== undefined) return { config: a.config, analysis: a };
  return { errors: a.diagnostics.filter((d) => d.severity === 'error') };
}
