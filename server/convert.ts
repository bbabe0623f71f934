/**
 * Conversions between language/'s offset world and LSP's line/character world, plus the URI ↔ path mapping.
 * Only the server converts; language/ never sees LSP types. Non-goals: no feature logic.
 */

import { fileURLToPath, pathToFileURL } from 'node:url';
import { Diagnostic as LspDiagnostic, DiagnosticSeverity, Range } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import type { Diagnostic, Severity, Span } from '../language/text';

export function toRange(doc: TextDocument, s: Span): Range {
  const length = doc.getText().length;
  const start = Math.max(0, Math.min(length, s.start));
  const end = Math.max(start, Math.min(length, s.end));
  return { start: doc.positionAt(start), end: doc.positionAt(end) };
}

const SEVERITY: Readonly<Record<Severity, DiagnosticSeverity>> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  info: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};

export function toLspDiagnostic(doc: TextDocument, d: Diagnostic): LspDiagnostic {
  return { range: toRange(doc, d.span), severity: SEVERITY[d.severity], code: d.code, source: 'rtune', message: d.message };
}

/** The file-system path of a `file:` URI, or undefined for other schemes (unsaved documents). */
export function uriToPath(uri: string): string | undefined {
  if (!uri.startsWith('file:')) return undefined;
  try {
    return fileURLToPath(uri);
  } catch {
    return undefined;
  }
}

export function pathToUri(p: string): string {
  return pathToFileURL(p).toString();
}
