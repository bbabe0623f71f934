/**
 * Completion handler: maps language/features/completion items to LSP items (kinds, snippets, markdown docs and
 * the replace range of the partly typed word). Fails soft. Non-goals: no filtering or ranking (the editor does it).
 */

import { CompletionItem, CompletionItemKind, CompletionParams, InsertTextFormat } from 'vscode-languageserver/node';
import { CompletionKind, complete } from '../../language/features/completion';
import { toRange } from '../convert';
import { ServerContext, safely } from '../context';

const KIND: Readonly<Record<CompletionKind, CompletionItemKind>> = {
  section: CompletionItemKind.Module,
  key: CompletionItemKind.Property,
  'block-key': CompletionItemKind.Struct,
  value: CompletionItemKind.Value,
  enum: CompletionItemKind.EnumMember,
  reference: CompletionItemKind.Reference,
  file: CompletionItemKind.File,
  folder: CompletionItemKind.Folder,
  snippet: CompletionItemKind.Snippet,
};

export function onCompletion(ctx: ServerContext, params: CompletionParams): CompletionItem[] {
  return safely(ctx, 'completion', [], () => {
    const a = ctx.store.get(params.textDocument.uri);
    if (a === undefined) return [];
    return complete(a.analysis, a.doc.offsetAt(params.position)).map((item) => ({
      label: item.label,
      kind: KIND[item.kind],
      detail: item.detail,
      documentation: item.documentation !== undefined ? { kind: 'markdown', value: item.documentation } : undefined,
      insertTextFormat: item.snippet ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
      textEdit: { range: toRange(a.doc, item.replace), newText: item.insertText },
      sortText: item.sortText,
    }));
  });
}
