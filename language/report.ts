/**
 * Diagnostics as compiler-style text, `FILE:LINE:COL: error: MESSAGE` followed by the offending line, for the
 * CLI's stderr and the worker's error message (the editor shows the same diagnostics as squiggles instead).
 */
import type { Diagnostic } from './text';

/** One-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

export function formatDiagnostics(file: string, text: string, diagnostics: readonly Diagnostic[]): string {
  const lines = text.split('\n');
  return diagnostics
    .map((d) => {
      const { line, column } = lineColumn(text, d.span.start);
      return `${file}:${line}:${column}: ${d.severity === 'error' ? 'error' : d.severity}: ${d.message}\n  ${lines[line - 1] ?? ''}\n`;
    })
    .join('');
}
