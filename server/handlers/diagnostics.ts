/**
 * Diagnostics handler: publishes the analysis's diagnostics for a document; `DiagnosticsScheduler` coalesces
 * bursts of edits into one validation per document per event-loop turn (no fixed debounce delay, so a single
 * edit is answered immediately). Non-goals: no pull diagnostics.
 */

import type { Connection } from 'vscode-languageserver/node';
import { toLspDiagnostic } from '../convert';
import { ServerContext, safely } from '../context';

export function publishDiagnostics(ctx: ServerContext, connection: Connection, uri: string): void {
  const diagnostics = safely(ctx, 'diagnostics', [], () => {
    const a = ctx.store.get(uri);
    return a === undefined ? [] : a.analysis.diagnostics.map((d) => toLspDiagnostic(a.doc, d));
  });
  const version = ctx.store.documents.get(uri)?.version;
  void connection.sendDiagnostics({ uri, version, diagnostics });
}

export class DiagnosticsScheduler {
  private readonly pending = new Set<string>();
  private scheduled = false;

  constructor(private readonly run: (uri: string) => void) {}

  schedule(uri: string): void {
    this.pending.add(uri);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const uris = [...this.pending];
      this.pending.clear();
      for (const u of uris) this.run(u);
    });
  }
}
