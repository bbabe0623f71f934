/**
 * CodeLens handler: a run lens per runnable section (arguments `RunSectionArgs`: uri, section, kind, range), an
 * information lens per model section (its architecture, or why model-aware checks are off), and the newest
 * finished result per section (`rtune.openRun`). Fails soft.
 */

import type { CodeLens, CodeLensParams } from 'vscode-languageserver/node';
import { OpenRunArgs, RtuneCommands, RunSectionArgs } from '../../protocol/lsp';
import { codeLenses } from '../../language/features/codelens';
import { resultTitle } from '../../language/features/results';
import { describeModel } from '../../language/model-info';
import { toRange } from '../convert';
import { ServerContext, safely } from '../context';

export function onCodeLens(ctx: ServerContext, params: CodeLensParams): CodeLens[] {
  return safely(ctx, 'codeLens', [], () => {
    const uri = params.textDocument.uri;
    const a = ctx.store.get(uri);
    if (a === undefined) return [];
    const out: CodeLens[] = [];
    for (const lens of codeLenses(a.analysis)) {
      const args: RunSectionArgs = {
        uri,
        section: lens.section.name,
        kind: lens.section.kind,
        range: toRange(a.doc, { start: lens.section.entry.start, end: lens.section.entry.end }),
      };
      out.push({ range: toRange(a.doc, lens.span), command: { title: lens.title, command: lens.command, arguments: [args] } });
    }
    for (const [, model] of a.analysis.models) {
      const r = model.result;
      const title =
        r === undefined
          ? undefined
          : r.ok
            ? describeModel(r.info)
            : r.missing
              ? `model not found: ${model.path ?? model.raw ?? ''} (checks that need the model are off)`
              : undefined;
      if (title !== undefined) out.push({ range: toRange(a.doc, model.section.headerSpan), command: { title, command: '' } });
    }
    if (ctx.inlineResults) {
      for (const r of ctx.results.read(a.analysis, a.filePath)) {
        const args: OpenRunArgs = { uri, section: r.section.name, runDir: r.found.runDir };
        out.push({
          range: toRange(a.doc, r.section.headerSpan),
          command: { title: resultTitle(r.found.summary), command: RtuneCommands.openRun, arguments: [args] },
        });
      }
    }
    return out;
  });
}
