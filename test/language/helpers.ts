/**
 * Test helpers for the `.rtune` core: caret-marked fixtures (`‸` marks a cursor, `⟦…⟧` marks expected spans,
 * in the spirit of yaml-language-server's caretPosition), paths of the repository, the examples and the
 * fixture models, and a one-call `check(text)` that analyses with the real Node environment.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { Analysis, analyze } from '../../language/analysis';
import type { LanguageOptions } from '../../language/env';
import type { Diagnostic, Span } from '../../language/text';
import { createNodeEnv } from '../../language/node-env';

/** The repository root (tests run from out/test/language/). */
export const repoRoot = path.resolve(__dirname, '..', '..', '..');
export const fixturesDir = path.join(repoRoot, 'test', 'language', 'fixtures');
export const examplesDir = path.join(repoRoot, 'examples');
export const sharedData = path.resolve(repoRoot, '../shared/data');

export const env = createNodeEnv();

export interface Marked {
  readonly text: string;
  /** Offsets of `‸` markers, in order. */
  readonly carets: number[];
  /** Spans of `⟦…⟧` markers, in order. */
  readonly spans: Span[];
}

/** Strips `‸` and `⟦ ⟧` markers and records where they were. */
export function marked(source: string): Marked {
  let text = '';
  const carets: number[] = [];
  const spans: Span[] = [];
  const open: number[] = [];
  for (const ch of source) {
    if (ch === '‸') carets.push(text.length);
    else if (ch === '⟦') open.push(text.length);
    else if (ch === '⟧') spans.push({ start: open.pop() ?? 0, end: text.length });
    else text += ch;
  }
  spans.sort((a, b) => a.start - b.start);
  return { text, carets, spans };
}

/**
 * Analyses `text` as if it were a file in the fixtures folder, with the real file system. The fixture models are
 * config.json only (no weights, no tokenizer), so the checks before compute are off unless a test turns them on
 * (`{ preflight: true }`, test/language/preflight.test.ts).
 */
export function check(text: string, options: Partial<LanguageOptions> = {}): Analysis {
  return analyze(text, { baseDir: fixturesDir, builtinRoot: path.join(fixturesDir, 'root'), env, preflight: false, ...options });
}

export function readExample(name: string): string {
  return fs.readFileSync(path.join(examplesDir, name), 'utf8');
}

/** `code@start-end` strings, for readable assertion failures. */
export function summarize(diags: readonly Diagnostic[], text: string): string[] {
  return diags.map((d) => `${d.code}:${JSON.stringify(text.slice(d.span.start, d.span.end))}: ${d.message}`);
}

/** A minimal valid preamble: one model (the fixture demo model) and a contrastive prompt set. */
export const PREAMBLE = `model demo {
  path builtin:demo
}
prompts contrast {
  data "facts.csv"
  template "{persona} {statement} Answer: {label}"
  positive { persona "honest" }
  negative { persona "liar" }
}
prompts train {
  data "facts.csv"
  template "{statement} Answer:"
}
direction honesty {
  prompts contrast
}
`;
