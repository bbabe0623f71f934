/**
 * Hover handler: LSP position → offset → language/features/hover → markdown. Fails soft (null on any error).
 * Non-goals: no hover logic here; everything it shows comes from the schema and the Analysis.
 */

import type { Hover, HoverParams } from 'vscode-languageserver/node';
import { hover } from '../../language/features/hover';
import { toRange } from '../convert';
import { ServerContext, safely } from '../context';

export function onHover(ctx: ServerContext, params: HoverParams): Hover | null {
  return safely(ctx, 'hover', null, () => {
    const a = ctx.store.get(params.textDocument.uri);
    if (a === undefined) return null;
    const h = hover(a.analysis, a.doc.offsetAt(params.position));
    return h === undefined ? null : { contents: { kind: 'markdown', value: h.markdown }, range: toRange(a.doc, h.span) };
  });
}
