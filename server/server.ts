/**
 * The rtune language server as one routing table (taplo's create_server): capabilities, then every request and
 * notification bound to its handler in handlers/*.ts. Handlers are thin adapters over language/; this file
 * only wires them. `startServer` works over any Connection, so tests could also drive it in memory.
 * Non-goals: no process concerns (main.ts), no feature logic.
 */

import {
  CodeLensRefreshRequest,
  Connection,
  DidChangeWatchedFilesNotification,
  InitializeParams,
  InitializeResult,
  TextDocumentSyncKind,
} from 'vscode-languageserver/node';
import { InlineResultsParams, InlineResultsRequest, ResultsChangedNotification, ResultsChangedParams, RtuneInitializationOptions } from '../protocol/lsp';
import { ServerContext } from './context';
import { DocumentStore } from './documents';
import { onCodeLens } from './handlers/codelens';
import { onCompletion } from './handlers/completion';
import { DiagnosticsScheduler, publishDiagnostics } from './handlers/diagnostics';
import { onCodeAction, onDefinition, onFormatting } from './handlers/edits';
import { onHover } from './handlers/hover';
import { onDocumentSymbol, onFoldingRanges } from './handlers/outline';
import { onInlayHints, onInlineResults, onResultsChanged } from './handlers/results';
import { NodeEnv, createNodeEnv } from '../language/node-env';
import { hubCacheLookup } from '../hub/cache';
import { ResultsReader } from './results-reader';

export interface ServerOptions {
  /** Default extension root when the client does not send one (`builtin:demo` lives under it). */
  readonly extensionRoot: string | undefined;
  readonly env?: NodeEnv;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function readInitOptions(raw: unknown): RtuneInitializationOptions {
  if (!isRecord(raw)) return {};
  return {
    extensionRoot: typeof raw['extensionRoot'] === 'string' ? raw['extensionRoot'] : undefined,
    inlineResults: typeof raw['inlineResults'] === 'boolean' ? raw['inlineResults'] : undefined,
    runsFolder: typeof raw['runsFolder'] === 'string' && raw['runsFolder'] !== '' ? raw['runsFolder'] : undefined,
  };
}

export function startServer(connection: Connection, options: ServerOptions): void {
  const env = options.env ?? createNodeEnv({ hub: hubCacheLookup() });
  let ctx: ServerContext | undefined;
  let canRefreshLenses = false;
  let canRefreshHints = false;
  let canWatchFiles = false;

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    const init = readInitOptions(params.initializationOptions);
    const store = new DocumentStore(env, init.extensionRoot ?? options.extensionRoot, init.runsFolder);
    ctx = { store, results: new ResultsReader(), inlineResults: init.inlineResults ?? true, log: (m) => connection.console.error(m) };
    canRefreshLenses = params.capabilities.workspace?.codeLens?.refreshSupport === true;
    canRefreshHints = params.capabilities.workspace?.inlayHint?.refreshSupport === true;
    canWatchFiles = params.capabilities.workspace?.didChangeWatchedFiles?.dynamicRegistration === true;
    bindDocuments(store);
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental },
        hoverProvider: true,
        completionProvider: { triggerCharacters: ['/', '"', '[', ','] },
        codeLensProvider: { resolveProvider: false },
        documentSymbolProvider: true,
        foldingRangeProvider: true,
        documentFormattingProvider: true,
        definitionProvider: true,
        codeActionProvider: { codeActionKinds: ['quickfix'] },
        inlayHintProvider: true,
      },
      serverInfo: { name: 'rtune-language-server', version: '0.1.0' },
    };
  });

  connection.onInitialized(() => {
    if (canWatchFiles) {
      void connection.client.register(DidChangeWatchedFilesNotification.type, {
        // Everything a diagnostic reads: configs, weights and their headers, tokenizers, data, run summaries.
        watchers: [{ globPattern: '**/{*.json,*.bin,*.safetensors,merges.txt,vocab.bpe,*.csv,*.txt,*.raw}' }],
      });
    }
  });

  const refreshAll = (): void => {
    if (ctx === undefined) return;
    for (const uri of ctx.store.openUris()) scheduler.schedule(uri);
    if (canRefreshLenses) void connection.sendRequest(CodeLensRefreshRequest.type);
    if (canRefreshHints) void connection.languages.inlayHint.refresh();
  };

  const scheduler = new DiagnosticsScheduler((uri) => {
    if (ctx !== undefined) publishDiagnostics(ctx, connection, uri);
  });

  const bindDocuments = (store: DocumentStore): void => {
    store.documents.onDidChangeContent((e) => scheduler.schedule(e.document.uri));
    store.documents.onDidClose((e) => {
      store.invalidate(e.document.uri);
      void connection.sendDiagnostics({ uri: e.document.uri, diagnostics: [] });
    });
    store.documents.listen(connection);
  };

  // The routing table: every capability above is served by exactly one line here.
  const withCtx =
    <P, R>(fallback: R, handler: (c: ServerContext, p: P) => R) =>
    (p: P): R =>
      ctx === undefined ? fallback : handler(ctx, p);
  connection.onHover(withCtx(null, onHover));
  connection.onCompletion(withCtx([], onCompletion));
  connection.onCodeLens(withCtx([], onCodeLens));
  connection.onDocumentSymbol(withCtx([], onDocumentSymbol));
  connection.onFoldingRanges(withCtx([], onFoldingRanges));
  connection.onDocumentFormatting(withCtx([], onFormatting));
  connection.onDefinition(withCtx(null, onDefinition));
  connection.onCodeAction(withCtx([], onCodeAction));
  connection.languages.inlayHint.on(withCtx([], onInlayHints));
  connection.onRequest(
    InlineResultsRequest.method,
    withCtx({ results: [] }, (c, p: InlineResultsParams) => onInlineResults(c, p)),
  );
  connection.onNotification(ResultsChangedNotification.method, (p: ResultsChangedParams) => {
    if (ctx === undefined) return;
    onResultsChanged(ctx, p);
    refreshAll();
  });
  connection.onDidChangeWatchedFiles(() => {
    if (ctx === undefined) return;
    env.invalidate();
    ctx.results.invalidate();
    ctx.store.invalidate();
    refreshAll();
  });

  connection.listen();
}
