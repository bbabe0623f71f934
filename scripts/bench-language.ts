/**
 * Benchmark of the `.rtune` language server (a script, not a test; timings are printed, never asserted).
 * Spawns the shipped server (dist/server.js, else out/server/main.js) over stdio and measures:
 *   - time from an incremental edit to the diagnostics of that version, on a 2,000-line file (target < 50 ms);
 *   - hover and completion round-trip latency on that file (target < 10 ms);
 *   - the server's resident memory after opening 50 files;
 * plus the in-process cost of analyze() and the pure features for comparison.
 * Usage: node scripts/build.mjs && npx tsc -p tsconfig.test.json && node out/scripts/bench-language.js
 */

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CompletionRequest,
  DidChangeTextDocumentNotification,
  DidOpenTextDocumentNotification,
  ExitNotification,
  HoverRequest,
  InitializeRequest,
  InitializedNotification,
  PublishDiagnosticsNotification,
  PublishDiagnosticsParams,
  ShutdownRequest,
  StreamMessageReader,
  StreamMessageWriter,
  createProtocolConnection,
} from 'vscode-languageserver-protocol/node';
import { analyze } from '../language/analysis';
import { complete } from '../language/features/completion';
import { hover } from '../language/features/hover';
import { createNodeEnv } from '../language/node-env';

const root = path.resolve(__dirname, '..', '..');
const examples = path.join(root, 'examples');

/** A file of at least `lines` lines: the demo experiment repeated with unique section names, absolute data paths. */
function bigFile(lines: number): string {
  const demo = fs
    .readFileSync(path.join(examples, 'demo.rtune'), 'utf8')
    .replace(/"data\//g, `"${examples}/data/`)
    .replace(/^(version|runs) .*\n/gm, '');
  const body = demo.slice(demo.indexOf('prompts contrast'));
  const names = ['contrast', 'quiz', 'honesty', 'honest', 'check', 'release'];
  let out = `version 1\nmodel demo {\n  path builtin:demo\n}\n`;
  for (let copy = 0; out.split('\n').length < lines; copy++) {
    let chunk = body.replace('search blocks {', `search blocks${copy} {`);
    for (const n of names) chunk = chunk.replace(new RegExp(`\\b${n}\\b`, 'g'), `${n}${copy}`);
    out += `\n${chunk}`;
  }
  return out;
}

function stats(samples: number[]): { median: number; p95: number } {
  const s = [...samples].sort((a, b) => a - b);
  return { median: s[Math.floor(s.length / 2)], p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] };
}

function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m !== null ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  const bundle = path.join(root, 'dist', 'server.js');
  const entry = fs.existsSync(bundle) ? bundle : path.join(root, 'out', 'server', 'main.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-bench-'));
  const text = bigFile(2000);
  const nLines = text.split('\n').length;
  const rows: [string, string, string][] = [];

  // In-process baseline.
  const env = createNodeEnv();
  const opts = { baseDir: dir, builtinRoot: root, env };
  analyze(text, opts);
  const t: number[] = [];
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    analyze(text, opts);
    t.push(performance.now() - t0);
  }
  const a = analyze(text, opts);
  const errors = a.diagnostics.filter((d) => d.severity === 'error').length;
  const offset = text.indexOf('lr_projection');
  const h: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < 200; i++) {
    let t0 = performance.now();
    hover(a, offset + 2);
    h.push(performance.now() - t0);
    t0 = performance.now();
    complete(a, text.indexOf('  batch 4') + 2);
    c.push(performance.now() - t0);
  }
  rows.push([
    `analyze() of ${nLines} lines, in process`,
    `${stats(t).median.toFixed(1)} ms`,
    `p95 ${stats(t).p95.toFixed(1)} ms; ${a.diagnostics.length} diagnostics (${errors} errors)`,
  ]);
  rows.push(['hover(), in process', `${stats(h).median.toFixed(3)} ms`, `p95 ${stats(h).p95.toFixed(3)} ms`]);
  rows.push(['complete(), in process', `${stats(c).median.toFixed(3)} ms`, `p95 ${stats(c).p95.toFixed(3)} ms`]);

  // Over stdio.
  const child = spawn(process.execPath, [entry, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  if (child.stdout === null || child.stdin === null) throw new Error('no stdio');
  const conn = createProtocolConnection(new StreamMessageReader(child.stdout), new StreamMessageWriter(child.stdin));
  const waiting = new Map<string, { version: number; resolve: (p: PublishDiagnosticsParams) => void }>();
  conn.onNotification(PublishDiagnosticsNotification.type, (p) => {
    const w = waiting.get(p.uri);
    if (w !== undefined && p.version === w.version) {
      waiting.delete(p.uri);
      w.resolve(p);
    }
  });
  conn.listen();
  await conn.sendRequest(InitializeRequest.type, {
    processId: process.pid,
    rootUri: pathToFileURL(dir).toString(),
    capabilities: {},
    initializationOptions: { extensionRoot: root },
  });
  await conn.sendNotification(InitializedNotification.type, {});
  const diagnosticsOf = (uri: string, version: number): Promise<PublishDiagnosticsParams> => new Promise((resolve) => waiting.set(uri, { version, resolve }));

  const uri = pathToFileURL(path.join(dir, 'big.rtune')).toString();
  let version = 1;
  const opened = diagnosticsOf(uri, version);
  let t0 = performance.now();
  await conn.sendNotification(DidOpenTextDocumentNotification.type, { textDocument: { uri, languageId: 'rtune', version, text } });
  await opened;
  rows.push([`open a ${nLines}-line file → diagnostics`, `${(performance.now() - t0).toFixed(1)} ms`, 'first analysis, cold caches']);

  const lines = text.split('\n');
  const batchLine = lines.findIndex((l) => l.trim() === 'batch 4');
  const edits: number[] = [];
  for (let i = 0; i < 40; i++) {
    version++;
    const done = diagnosticsOf(uri, version);
    const digit = String(1 + (i % 9));
    t0 = performance.now();
    await conn.sendNotification(DidChangeTextDocumentNotification.type, {
      textDocument: { uri, version },
      contentChanges: [{ range: { start: { line: batchLine, character: 8 }, end: { line: batchLine, character: 9 } }, text: digit }],
    });
    await done;
    edits.push(performance.now() - t0);
  }
  const e = stats(edits);
  rows.push([`edit → diagnostics, ${nLines} lines (target < 50 ms)`, `${e.median.toFixed(1)} ms`, `p95 ${e.p95.toFixed(1)} ms over ${edits.length} edits`]);

  const position = { line: lines.findIndex((l) => l.includes('lr_projection')), character: 6 };
  const hovers: number[] = [];
  const completions: number[] = [];
  for (let i = 0; i < 100; i++) {
    t0 = performance.now();
    await conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position });
    hovers.push(performance.now() - t0);
    t0 = performance.now();
    await conn.sendRequest(CompletionRequest.type, { textDocument: { uri }, position: { line: batchLine, character: 2 } });
    completions.push(performance.now() - t0);
  }
  rows.push(['hover round trip (target < 10 ms)', `${stats(hovers).median.toFixed(2)} ms`, `p95 ${stats(hovers).p95.toFixed(2)} ms`]);
  rows.push(['completion round trip (target < 10 ms)', `${stats(completions).median.toFixed(2)} ms`, `p95 ${stats(completions).p95.toFixed(2)} ms`]);

  const before = rssMb(child.pid);
  const sources = ['demo.rtune', 'gpt2.rtune', 'llama.rtune'].map((f) => fs.readFileSync(path.join(examples, f), 'utf8'));
  for (let i = 0; i < 50; i++) {
    const u = pathToFileURL(path.join(examples, `bench-${i}.rtune`)).toString();
    const done = diagnosticsOf(u, 1);
    await conn.sendNotification(DidOpenTextDocumentNotification.type, {
      textDocument: { uri: u, languageId: 'rtune', version: 1, text: sources[i % sources.length] },
    });
    await done;
  }
  const afterOpen = rssMb(child.pid);
  rows.push([
    'server RSS after opening 50 more files',
    afterOpen !== undefined ? `${afterOpen.toFixed(1)} MB` : 'n/a',
    before !== undefined ? `was ${before.toFixed(1)} MB with the 2,000-line file open` : '',
  ]);

  await conn.sendRequest(ShutdownRequest.type);
  await conn.sendNotification(ExitNotification.type);
  conn.dispose();
  fs.rmSync(dir, { recursive: true, force: true });

  const w0 = Math.max(...rows.map((r) => r[0].length));
  const w1 = Math.max(...rows.map((r) => r[1].length));
  console.log(`rtune language server benchmark (${entry.replace(root + path.sep, '')}, Node ${process.version}, ${os.cpus().length} CPUs)\n`);
  console.log(`${'measure'.padEnd(w0)}  ${'median'.padEnd(w1)}  notes`);
  console.log(`${'-'.repeat(w0)}  ${'-'.repeat(w1)}  -----`);
  for (const [m, v, n] of rows) console.log(`${m.padEnd(w0)}  ${v.padEnd(w1)}  ${n}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
