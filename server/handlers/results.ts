/**
 * Inline results: the `rtune/inlineResults` request, the `rtune/resultsChanged` notification and inlay hints
 * that show each section's newest finished result at the end of its header line. Fail soft.
 */

import type { InlayHint, InlayHintParams } from 'vscode-languageserver/node';
import { InlineResultsParams, InlineResultsResponse, ResultsChangedParams } from '../../protocol/lsp';
import { resultTitle } from '../../language/features/results';
import { toRange } from '../convert';
import { ServerContext, safely } from '../context';

export function onInlineResults(ctx: ServerContext, params: InlineResultsParams): InlineResultsResponse {
  return safely(ctx, 'inlineResults', { results: [] }, () => {
    const a = ctx.store.get(params.uri);
    if (a === undefined) return { results: [] };
    return {
      results: ctx.results.read(a.analysis, a.filePath).map((r) => ({
        section: r.section.name,
        kind: r.section.kind,
        range: toRange(a.doc, r.section.headerSpan),
        status: r.found.summary.status,
        headline: r.found.summary.headline,
        detail: r.found.summary.detail,
        metrics: r.found.summary.metrics,
        finished: r.found.summary.finished,
        runDir: r.found.runDir,
      })),
    };
  });
}

/** Forgets cached summaries; the caller then asks the client to refresh lenses and hints. */
export function onResultsChanged(ctx: ServerContext, params: ResultsChangedParams): void {
  safely(ctx, 'resultsChanged', undefined, () => ctx.results.invalidate(params.runDir));
}

export function onInlayHints(ctx: ServerContext, params: InlayHintParams): InlayHint[] {
  return safely(ctx, 'inlayHint', [], () => {
    if (!ctx.inlineResults) return [];
    const a = ctx.store.get(params.textDocument.uri);
    if (a === undefined) return [];
    const text = a.doc.getText();
    return ctx.results.read(a.analysis, a.filePath).map((r) => {
      let lineEnd = r.section.headerSpan.end;
      while (lineEnd < text.length && text[lineEnd] !== '\n' && text[lineEnd] !== '\r') lineEnd++;
      const position = toRange(a.doc, { start: lineEnd, end: lineEnd }).start;
      return { position, label: resultTitle(r.found.summary), paddingLeft: true, tooltip: r.found.summary.detail ?? r.found.runDir };
    });
  });
}
