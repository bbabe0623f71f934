/**
 * Document symbols and folding ranges handlers over language/features/symbols, mapping symbol kinds to LSP's.
 * Fail soft. Non-goals: no workspace symbols.
 */

import { DocumentSymbol, DocumentSymbolParams, FoldingRange, FoldingRangeKind, FoldingRangeParams, SymbolKind } from 'vscode-languageserver/node';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { OutlineSymbol, foldingRanges, outline } from '../../language/features/symbols';
import { toRange } from '../convert';
import { ServerContext, safely } from '../context';

const KIND: Readonly<Record<OutlineSymbol['kind'], SymbolKind>> = { section: SymbolKind.Module, block: SymbolKind.Object, key: SymbolKind.Property };

function toSymbol(doc: TextDocument, s: OutlineSymbol): DocumentSymbol {
  return {
    name: s.name,
    detail: s.detail,
    kind: KIND[s.kind],
    range: toRange(doc, s.span),
    selectionRange: toRange(doc, s.selection),
    children: s.children.map((c) => toSymbol(doc, c)),
  };
}

export function onDocumentSymbol(ctx: ServerContext, params: DocumentSymbolParams): DocumentSymbol[] {
  return safely(ctx, 'documentSymbol', [], () => {
    const a = ctx.store.get(params.textDocument.uri);
    return a === undefined ? [] : outline(a.analysis.document).map((s) => toSymbol(a.doc, s));
  });
}

export function onFoldingRanges(ctx: ServerContext, params: FoldingRangeParams): FoldingRange[] {
  return safely(ctx, 'foldingRange', [], () => {
    const a = ctx.store.get(params.textDocument.uri);
    if (a === undefined) return [];
    return foldingRanges(a.analysis.document).map((f) => ({
      startLine: f.startLine,
      endLine: f.endLine,
      kind: f.kind === 'comment' ? FoldingRangeKind.Comment : FoldingRangeKind.Region,
    }));
  });
}
