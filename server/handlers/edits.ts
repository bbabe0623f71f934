/**
 * Formatting (one whole-document edit, none when already formatted), go to definition (sections and files) and
 * quick fixes (the `fixes` language/ attaches to diagnostics, e.g. "did you mean"). Fail soft.
 * Non-goals: no range formatting, no refactorings.
 */

import type { CodeAction, CodeActionParams, DocumentFormattingParams, Location, DefinitionParams, TextEdit } from 'vscode-languageserver/node';
import { definition } from '../../language/features/definition';
import { formatDocument } from '../../language/features/format';
import { pathToUri, toLspDiagnostic, toRange } from '../convert';
import { ServerContext, safely } from '../context';

export function onFormatting(ctx: ServerContext, params: DocumentFormattingParams): TextEdit[] {
  return safely(ctx, 'formatting', [], () => {
    const a = ctx.store.get(params.textDocument.uri);
    if (a === undefined) return [];
    const text = a.doc.getText();
    const formatted = formatDocument(a.analysis.document);
    return formatted === text ? [] : [{ range: toRange(a.doc, { start: 0, end: text.length }), newText: formatted }];
  });
}

export function onDefinition(ctx: ServerContext, params: DefinitionParams): Location | null {
  return safely(ctx, 'definition', null, () => {
    const uri = params.textDocument.uri;
    const a = ctx.store.get(uri);
    if (a === undefined) return null;
    const d = definition(a.analysis, a.doc.offsetAt(params.position));
    if (d === undefined) return null;
    if (d.kind === 'section') return { uri, range: toRange(a.doc, d.target) };
    return { uri: pathToUri(d.path), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } };
  });
}

export function onCodeAction(ctx: ServerContext, params: CodeActionParams): CodeAction[] {
  return safely(ctx, 'codeAction', [], () => {
    const uri = params.textDocument.uri;
    const a = ctx.store.get(uri);
    if (a === undefined) return [];
    const start = a.doc.offsetAt(params.range.start);
    const end = a.doc.offsetAt(params.range.end);
    const out: CodeAction[] = [];
    for (const d of a.analysis.diagnostics) {
      if (d.fixes === undefined || d.span.end < start || d.span.start > end) continue;
      for (const fix of d.fixes) {
        out.push({
          title: fix.title,
          kind: 'quickfix',
          diagnostics: [toLspDiagnostic(a.doc, d)],
          isPreferred: d.fixes.length === 1,
          edit: { changes: { [uri]: [{ range: toRange(a.doc, fix.edit.span), newText: fix.edit.newText }] } },
        });
      }
    }
    return out;
  });
}
