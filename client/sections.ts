/**
 * The runnable sections of a `.rtune` document, for the quick pick shown when a run command comes from the
 * palette without a section. Uses the language parser only (no model loading, no file access), so it works on
 * a file with errors: the run itself reports them.
 */
import { analyze } from '../language/analysis';
import type { RtuneSectionKind } from '../protocol/lsp';

export interface RunnableSection {
  name: string;
  kind: RtuneSectionKind;
  /** Zero-based line of the section header. */
  line: number;
  /** For eval sections: which parts it has. */
  parts: ('perplexity' | 'ab' | 'steering')[];
}

export function runnableSections(text: string): RunnableSection[] {
  const a = analyze(text);
  const out: RunnableSection[] = [];
  for (const s of a.sections) {
    if (s.kind === 'model' || s.kind === 'prompts') continue;
    const parts: RunnableSection['parts'] = [];
    if (s.kind === 'eval') for (const p of ['perplexity', 'ab', 'steering'] as const) if (s.values.has(p)) parts.push(p);
    const line = text.slice(0, s.headerSpan.start).split('\n').length - 1;
    out.push({ name: s.name, kind: s.kind, line, parts });
  }
  return out;
}

/**
 * Which sections a command may run: kinds it accepts and, for eval commands, the part the section must have;
 * `fresh`: its directions and tunes are computed again, not reused from finished runs (`rtune run --fresh`).
 */
export const COMMAND_SECTIONS: Readonly<
  Record<string, { kinds: RtuneSectionKind[]; part?: RunnableSection['parts'][number]; title: string; fresh?: boolean }>
> = {
  'rtune.runTuning': { kinds: ['tune'], title: 'Run Tuning' },
  'rtune.runBlockSearch': { kinds: ['search'], title: 'Run Block Search' },
  'rtune.computePerplexity': { kinds: ['eval'], part: 'perplexity', title: 'Compute Perplexity' },
  'rtune.extractDirection': { kinds: ['direction'], title: 'Extract Direction' },
  'rtune.runEvaluation': { kinds: ['eval'], part: 'ab', title: 'Run A/B Evaluation' },
  'rtune.compareSteering': { kinds: ['eval'], part: 'steering', title: 'Compare Steering' },
  'rtune.runExport': { kinds: ['export'], title: 'Export' },
  'rtune.runFresh': { kinds: ['direction', 'tune', 'search', 'eval', 'export'], title: 'Run Fresh', fresh: true },
};

export function sectionsFor(command: string, sections: readonly RunnableSection[]): RunnableSection[] {
  const spec = COMMAND_SECTIONS[command];
  if (!spec) return [];
  return sections.filter((s) => spec.kinds.includes(s.kind) && (spec.part === undefined || s.parts.includes(spec.part)));
}
