/**
 * The language server driven over real stdio LSP, as shipped: spawns `node dist/server.js --stdio` (built by
 * `node scripts/build.mjs`; falls back to the tsc output out/server/main.js when that is newer) and talks JSON-RPC
 * through vscode-languageserver-protocol's client side: initialize, open, diagnostics, incremental edits,
 * hover, completion, CodeLens (run lenses and inline results from a summary.json on disk), the custom
 * `rtune/inlineResults` request and `rtune/resultsChanged` notification, symbols, folding, formatting,
 * definition, quick fixes, inlay hints, shutdown and exit. No sleeps: every wait is on a message.
 */

import { strict as assert } from 'node:assert';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import {
  CodeActionRequest,
  CodeLens,
  CodeLensRefreshRequest,
  CompletionList,
  CompletionRequest,
  DefinitionRequest,
  DidChangeTextDocumentNotification,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  DidOpenTextDocumentNotification,
  DocumentFormattingRequest,
  DocumentSymbol,
  DocumentSymbolRequest,
  ExitNotification,
  FoldingRangeRequest,
  HoverRequest,
  InitializeRequest,
  InitializedNotification,
  InlayHintRefreshRequest,
  InlayHintRequest,
  Location,
  MarkupContent,
  ProtocolConnection,
  PublishDiagnosticsNotification,
  PublishDiagnosticsParams,
  ShutdownRequest,
  CodeLensRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { InlineResultsRequest, InlineResultsResponse, ResultsChangedNotification, RtuneCommands, RunSectionArgs } from '../../protocol/lsp';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const fixtures = path.join(repoRoot, 'test', 'language', 'fixtures');

function serverEntry(): string {
  const bundle = path.join(repoRoot, 'dist', 'server.js');
  const compiled = path.join(repoRoot, 'out', 'server', 'main.js');
  if (fs.existsSync(bundle) && (!fs.existsSync(compiled) || fs.statSync(bundle).mtimeMs >= fs.statSync(compiled).mtimeMs)) return bundle;
  return compiled;
}

function within<T>(promise: Promise<T>, what: string, ms = 10000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

const DOC = `runs "runs"
model demo {
  path builtin:demo
}
prompts train {
  data "${path.join(fixtures, 'facts.csv')}"
  template "{statement} Answer:"
}
tune honest {
  prompts train
  layers 1..2
  bach 4
}
eval check {
  tuned honest
  perplexity { data "${path.join(fixtures, 'text.txt')}"  max_length 64  stride 32 }
}
`;

describe('language server over stdio', () => {
  let child: ChildProcess;
  let conn: ProtocolConnection;
  let workDir: string;
  let uri: string;
  let version = 1;
  const diagnostics = new Map<string, PublishDiagnosticsParams[]>();
  const waiters: { uri: string; test: (p: PublishDiagnosticsParams) => boolean; resolve: (p: PublishDiagnosticsParams) => void }[] = [];
  let refreshes = 0;
  let onRefresh: (() => void) | undefined;
  let stderr = '';

  const waitForDiagnostics = (test: (p: PublishDiagnosticsParams) => boolean): Promise<PublishDiagnosticsParams> => {
    const seen = diagnostics.get(uri) ?? [];
    const last = seen[seen.length - 1];
    if (last !== undefined && test(last)) return Promise.resolve(last);
    return within(new Promise((resolve) => waiters.push({ uri, test, resolve })), 'diagnostics');
  };

  const edit = (startLine: number, startChar: number, endLine: number, endChar: number, text: string): void => {
    version++;
    void conn.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ range: { start: { line: startLine, character: startChar }, end: { line: endLine, character: endChar } }, text }],
    });
  };

  before(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-lsp-'));
    uri = pathToFileURL(path.join(workDir, 'experiment.rtune')).toString();
    child = spawn(process.execPath, [serverEntry(), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    if (child.stdout === null || child.stdin === null) throw new Error('no stdio');
    conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
    conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
      diagnostics.set(p.uri, [...(diagnostics.get(p.uri) ?? []), p]);
      for (const w of [...waiters]) {
        if (w.uri === p.uri && w.test(p)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(p);
        }
      }
    });
    conn.onRequest(CodeLensRefreshRequest.type, () => {
      refreshes++;
      onRefresh?.();
    });
    conn.onRequest(InlayHintRefreshRequest.type, () => undefined);
    conn.listen();
    const init = await within(
      conn.sendRequest(InitializeRequest.type, {
        processId: process.pid,
        rootUri: pathToFileURL(workDir).toString(),
        capabilities: { workspace: { codeLens: { refreshSupport: true }, inlayHint: { refreshSupport: true } } },
        // The repository as the extension: builtin:demo is examples/demo-model, with weights and tokenizer (the checks before compute read them).
        initializationOptions: { extensionRoot: repoRoot },
      }),
      'initialize',
    );
    assert.equal(
      init.capabilities.textDocumentSync !== undefined && typeof init.capabilities.textDocumentSync === 'object'
        ? init.capabilities.textDocumentSync.change
        : undefined,
      2,
      'incremental sync',
    );
    await conn.sendNotification(InitializedNotification.type, {});
  });

  after(async () => {
    if (conn !== undefined) {
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      await within(conn.sendRequest(ShutdownRequest.type), 'shutdown');
      await conn.sendNotification(ExitNotification.type);
      const code = await within(exited, 'exit');
      assert.equal(code, 0, stderr);
      conn.dispose();
    }
    fs.rmSync(workDir, { recursive: true, force: true });
  });

  it('publishes diagnostics on open and updates them after incremental edits', async () => {
    await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'rtune', version, text: DOC } });
    const first = await waitForDiagnostics((p) => p.diagnostics.length > 0);
    assert.deepEqual(
      first.diagnostics.map((d) => `${d.code} ${d.range.start.line}:${d.range.start.character}-${d.range.end.character}`),
      ['unknown-key 11:2-6'],
    );
    const message = first.diagnostics[0].message;
    assert.match(typeof message === 'string' ? message : message.value, /Did you mean `batch`/);
    edit(11, 2, 11, 6, 'batch');
    await waitForDiagnostics((p) => p.version === version && p.diagnostics.length === 0);
    edit(10, 9, 10, 13, '9'); // layers 1..2 → layers 9 (the demo model has 4 layers)
    const depth = await waitForDiagnostics((p) => p.version === version && p.diagnostics.length > 0);
    assert.deepEqual(
      depth.diagnostics.map((d) => d.code),
      ['layer-depth'],
    );
    edit(10, 9, 10, 10, '1..2');
    await waitForDiagnostics((p) => p.version === version && p.diagnostics.length === 0);
  });

  it('answers hover with schema docs and model facts', async () => {
    const key = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 11, character: 3 } });
    assert.match((key?.contents as MarkupContent).value, /\*\*tune › batch\*\*/);
    const model = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 2, character: 10 } });
    assert.match((model?.contents as MarkupContent).value, /Llama\*\* · 4 layers · hidden 64/);
  });

  it('completes keys and values', async () => {
    edit(12, 0, 12, 0, '  flip \n');
    const values = (await conn.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: { line: 12, character: 7 } })) as CompletionList | null;
    const list = Array.isArray(values) ? values : (values?.items ?? []);
    assert.deepEqual(
      list.map((i) => i.label),
      ['true', 'false'],
    );
    edit(12, 0, 13, 0, '');
    const keys = await conn.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: { line: 12, character: 0 } });
    const keyList = Array.isArray(keys) ? keys : (keys?.items ?? []);
    assert.ok(keyList.some((i) => i.label === 'optimizer') && !keyList.some((i) => i.label === 'batch'));
  });

  it('provides run lenses with { uri, section, kind, range } and shows finished results from disk', async () => {
    const lenses = (await conn.sendRequest(CodeLensRequest.type, { textDocument: { uri } })) ?? [];
    const run = lenses.filter((l: CodeLens) => l.command?.command.startsWith('rtune.run') || l.command?.command === RtuneCommands.computePerplexity);
    assert.deepEqual(
      run.map((l) => l.command?.title),
      ['Run Tuning', 'Compute perplexity'],
    );
    const args = run[0].command?.arguments?.[0] as RunSectionArgs;
    assert.equal(args.uri, uri);
    assert.equal(args.section, 'honest');
    assert.equal(args.kind, 'tune');
    assert.deepEqual(args.range.start, { line: 8, character: 0 });
    assert.ok(
      lenses.some((l) => l.command?.title.startsWith('Llama · 4 layers')),
      'model lens',
    );

    const runDir = path.join(workDir, 'runs', 'check', '2026-11-27T10-00-00');
    fs.mkdirSync(runDir, { recursive: true });
    fs.writeFileSync(
      path.join(runDir, 'summary.json'),
      JSON.stringify({
        protocolVersion: 1,
        section: 'check',
        kind: 'eval',
        status: 'done',
        finished: '2026-11-27T10:01:00Z',
        headline: 'perplexity 25.31 → 25.90 (+2.3%)',
      }),
    );
    const refreshed = new Promise<void>((resolve) => (onRefresh = resolve));
    await conn.sendNotification(ResultsChangedNotification.method, { uri, runDir });
    await within(refreshed, 'codeLens refresh');
    assert.ok(refreshes >= 1);
    const after2 = (await conn.sendRequest(CodeLensRequest.type, { textDocument: { uri } })) ?? [];
    const result = after2.find((l) => l.command?.command === RtuneCommands.openRun);
    assert.equal(result?.command?.title, '✓ perplexity 25.31 → 25.90 (+2.3%)');
    assert.equal(result?.range.start.line, 13);
    const inline = await conn.sendRequest<InlineResultsResponse>(InlineResultsRequest.method, { uri });
    assert.deepEqual(
      inline.results.map((r) => [r.section, r.status, r.runDir]),
      [['check', 'done', runDir]],
    );
    const hints =
      (await conn.sendRequest(InlayHintRequest.type, {
        textDocument: { uri },
        range: { start: { line: 0, character: 0 }, end: { line: 30, character: 0 } },
      })) ?? [];
    assert.deepEqual(
      hints.map((h) => [h.position.line, h.label]),
      [[13, '✓ perplexity 25.31 → 25.90 (+2.3%)']],
    );
  });

  it('lists symbols, folds, formats, jumps to definitions and offers quick fixes', async () => {
    const symbols = ((await conn.sendRequest(DocumentSymbolRequest.type, { textDocument: { uri } })) ?? []) as DocumentSymbol[];
    assert.deepEqual(
      symbols.map((s) => s.name),
      ['runs', 'model demo', 'prompts train', 'tune honest', 'eval check'],
    );
    const folds = (await conn.sendRequest(FoldingRangeRequest.type, { textDocument: { uri } })) ?? [];
    assert.ok(folds.some((f) => f.startLine === 8 && f.endLine === 11));
    const edits = (await conn.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } })) ?? [];
    assert.equal(edits.length, 0, 'already formatted');
    edit(10, 0, 10, 2, '      ');
    await waitForDiagnostics((p) => p.version === version);
    const fixes = (await conn.sendRequest(DocumentFormattingRequest.type, { textDocument: { uri }, options: { tabSize: 2, insertSpaces: true } })) ?? [];
    assert.equal(fixes.length, 1);
    assert.match(fixes[0].newText, /\n {2}layers 1..2\n/);
    const def = (await conn.sendRequest(DefinitionRequest.type, { textDocument: { uri }, position: { line: 14, character: 9 } })) as Location | null;
    assert.deepEqual(def?.range.start, { line: 8, character: 5 });
    edit(14, 8, 14, 14, 'honset');
    const broken = await waitForDiagnostics((p) => p.version === version && p.diagnostics.length > 0);
    const actions =
      (await conn.sendRequest(CodeActionRequest.type, {
        textDocument: { uri },
        range: broken.diagnostics[0].range,
        context: { diagnostics: broken.diagnostics },
      })) ?? [];
    const titles = actions.map((a) => ('title' in a ? a.title : ''));
    assert.deepEqual(titles, ["Change to 'honest'"]);
  });

  it('reports the checks before compute on their keys, and sees a fixed file after a watched-file change', async () => {
    const other = pathToFileURL(path.join(workDir, 'preflight.rtune')).toString();
    const csv = path.join(workDir, 'header-only.csv');
    fs.writeFileSync(csv, 'statement,label\n');
    fs.writeFileSync(path.join(workDir, 'afile'), 'not a folder\n');
    const text = `model demo {\n  path builtin:demo\n}\nprompts train {\n  data "header-only.csv"\n  template "{statement} Answer:"\n}\ntune honest {\n  prompts train\n  layers 1..2\n  output "afile"\n}\n`;
    const next = (test: (p: PublishDiagnosticsParams) => boolean): Promise<PublishDiagnosticsParams> => {
      const last = (diagnostics.get(other) ?? []).slice(-1)[0];
      if (last !== undefined && test(last)) return Promise.resolve(last);
      return within(new Promise((resolve) => waiters.push({ uri: other, test, resolve })), 'preflight diagnostics');
    };
    await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri: other, languageId: 'rtune', version: 1, text } });
    const first = await next((p) => p.diagnostics.length > 0);
    const shown = first.diagnostics.map((d) => `${d.code} ${d.range.start.line}:${d.range.start.character}-${d.range.end.character}`);
    assert.deepEqual(shown, ['preflight 4:7-24', 'preflight 10:9-16']);
    const texts = first.diagnostics.map((d) => (typeof d.message === 'string' ? d.message : d.message.value));
    assert.match(texts[0] ?? '', /header-only\.csv has a header but no rows; add statements/);
    assert.match(texts[1] ?? '', /afile is a file, not a folder; set `output` to a folder you can write to/);
    // The CSV gets rows on disk: the file watcher's notice makes the server read it again (its mtime changed).
    fs.writeFileSync(csv, 'statement,label\nWater is wet.,1\nFire is cold.,0\n');
    await conn.sendNotification(DidChangeWatchedFilesNotification.type, { changes: [{ uri: pathToFileURL(csv).toString(), type: FileChangeType.Changed }] });
    const fixed = await next((p) => p.diagnostics.length === 1);
    assert.equal(fixed.diagnostics[0]?.range.start.line, 10);
  });

  it('fails soft: requests on unknown documents and odd positions return empty answers', async () => {
    const other = pathToFileURL(path.join(workDir, 'never-opened.rtune')).toString();
    assert.equal(await conn.sendRequest(HoverRequest.type, { textDocument: { uri: other }, position: { line: 0, character: 0 } }), null);
    const far = await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 9999, character: 9999 } });
    assert.equal(far, null);
  });
});
