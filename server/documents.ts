/**
 * Open documents and their analyses: one `analyze()` per document version, memoised, so diagnostics, hover,
 * completion and CodeLens after an edit share a single parse and lowering. The environment (file checks, model
 * metadata) and the extension root are fixed for the server's lifetime; the per-document options (the folder of
 * the file) come from the document URI. Non-goals: no LSP wiring (server.ts), no disk reads of its own.
 */

import * as path from 'node:path';
import { TextDocuments } from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { Analysis, analyze } from '../language/analysis';
import type { LanguageEnv } from '../language/env';
import { uriToPath } from './convert';

export interface Analyzed {
  readonly doc: TextDocument;
  readonly analysis: Analysis;
  /** File-system path of the document, when it is saved on disk. */
  readonly filePath: string | undefined;
}

export class DocumentStore {
  readonly documents = new TextDocuments(TextDocument);
  private readonly cache = new Map<string, { version: number; analyzed: Analyzed }>();

  constructor(
    private readonly env: LanguageEnv,
    private readonly builtinRoot: string | undefined,
    private readonly defaultRunsDir?: string,
  ) {}

  /** The analysis of the current version of `uri`, or undefined when the document is not open. */
  get(uri: string): Analyzed | undefined {
    const doc = this.documents.get(uri);
    if (doc === undefined) return undefined;
    const hit = this.cache.get(uri);
    if (hit !== undefined && hit.version === doc.version) return hit.analyzed;
    const filePath = uriToPath(uri);
    const analysis = analyze(doc.getText(), {
      baseDir: filePath !== undefined ? path.dirname(filePath) : undefined,
      builtinRoot: this.builtinRoot,
      env: this.env,
      ...(this.defaultRunsDir !== undefined ? { defaultRunsDir: this.defaultRunsDir } : {}),
    });
    const analyzed = { doc, analysis, filePath };
    this.cache.set(uri, { version: doc.version, analyzed });
    return analyzed;
  }

  /** Drops cached analyses (after files on disk changed). */
  invalidate(uri?: string): void {
    if (uri === undefined) this.cache.clear();
    else this.cache.delete(uri);
  }

  openUris(): string[] {
    return this.documents.keys();
  }
}
