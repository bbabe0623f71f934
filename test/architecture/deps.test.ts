/**
 * The module boundaries of docs/architecture.md, checked over every import of the source folders (scan.ts).
 * Each failure lists the offending imports as `file:line → target` with the rule it breaks; move the code (or
 * the helper it needs) to a folder the importer may use, or change the rule here and in docs/architecture.md
 * together.
 */
import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { REPO_ROOT } from '../helpers';
import { folderOf, ImportGraph, importsOf, sourceFolders, type Edge } from './scan';

/** Folders that are not shipped code: they may import anything. */
const UNRULED = ['scripts', 'test', 'examples', 'node_modules', 'out', 'dist'];

const isEditorPackage = (p: string): boolean =>
  p === 'vscode' || p.startsWith('vscode-languageserver') || p === 'vscode-languageclient' || p === 'vscode-jsonrpc';
const notEditor = (p: string): boolean => !isEditorPackage(p);

interface FolderRule {
  /** Project folders its files may import (their own folder always). */
  folders: readonly string[];
  /** npm packages its files may import. */
  packages: (name: string, e: Edge) => boolean;
  /** Which of its files may import Node built-ins. */
  builtins: (file: string) => boolean;
  /** Only type-only imports (of the allowed folders) are allowed. */
  typeOnly?: boolean;
  why: string;
}

const RULES: Record<string, FolderRule> = {
  protocol: {
    folders: [],
    packages: () => false,
    builtins: () => false,
    why: 'protocol/ is the vocabulary every process shares (the contract of enumerations and RunConfig types, messages): other protocol files only',
  },
  model: {
    folders: ['protocol'],
    packages: () => false,
    builtins: () => false,
    why: 'model/ describes models (config.json, llama2.c headers, parameter blocks) for both the language and the engine: no tfjs, no Node, no editor',
  },
  common: {
    folders: [],
    packages: () => false,
    builtins: () => true,
    why: 'common/ holds dependency-free helpers (Node built-ins only) that engine/, job/ and the extension share',
  },
  engine: {
    folders: ['protocol', 'common', 'model'],
    packages: notEditor,
    builtins: () => true,
    why: 'the engine knows nothing about editors, the language or the processes that drive it',
  },
  language: {
    folders: ['protocol', 'model'],
    packages: notEditor,
    builtins: (f) => f === 'language/node-env.ts',
    why: 'the language core is pure (hosts inject a LanguageEnv); only language/node-env.ts, its Node host, touches the file system',
  },
  hub: {
    folders: ['model', 'protocol', 'common'],
    packages: (p) => p === '@huggingface/hub',
    builtins: () => true,
    why: 'hub/ is the Hugging Face cache (read by the language server too) and the download client: the model description, common/ and @huggingface/hub only',
  },
  job: {
    folders: ['model', 'engine', 'language', 'protocol', 'common', 'hub'],
    packages: notEditor,
    builtins: () => true,
    why: 'job/ runs a RunConfig for the CLI and the worker and knows nothing about editors',
  },
  worker: {
    folders: ['model', 'job', 'engine', 'language', 'protocol', 'common', 'hub'],
    packages: notEditor,
    builtins: () => true,
    why: 'the compute worker runs jobs like the CLI does; it is not part of the language server or the extension',
  },
  cli: {
    folders: ['model', 'job', 'engine', 'language', 'protocol', 'common', 'hub', 'report'],
    packages: notEditor,
    builtins: () => true,
    why: 'the `rtune` command must not depend on the language server or the extension',
  },
  // server/lsp-modules.d.ts holds the type shims of every LSP package, the client's included.
  server: {
    folders: ['language', 'protocol', 'common', 'model', 'hub'],
    packages: (p, e) => p.startsWith('vscode-languageserver') || p === 'vscode-jsonrpc' || (p === 'vscode-languageclient' && e.from.endsWith('.d.ts')),
    builtins: () => true,
    why: 'the language server is thin LSP handlers over language/; jobs run in the worker',
  },
  client: {
    folders: ['protocol', 'language', 'job', 'webview', 'common', 'report'],
    packages: (p) => p === 'vscode' || p === 'vscode-languageclient',
    builtins: () => true,
    why: 'the extension host runs only client/: it talks to the server over LSP and forks the worker for jobs',
  },
  report: {
    folders: ['protocol', 'common', 'language', 'webview'],
    packages: () => false,
    builtins: () => true,
    why: "report/ reads run folders and writes report files for the CLI and the extension host alike: no engine, no job/, no editor; it draws with the panels' pure modules",
  },
  webview: {
    folders: ['protocol'],
    packages: (p) => p === 'uplot' || p === '@vscode-elements/elements',
    builtins: () => false,
    why: 'panels run in a browser: protocol/ and their browser libraries only',
  },
};

/**
 * What a folder's files may not load even indirectly, because it would end up in that process's bundle:
 * `banned` folders, and any npm package that `packages` rejects.
 */
const BUNDLES: Array<{ roots: string; banned: readonly string[]; allowedFiles?: readonly string[]; packages?: (p: string) => boolean; why: string }> = [
  {
    roots: 'client',
    banned: ['engine', 'server', 'cli', 'worker', 'webview'],
    // The report (report/) draws with the panels' pure modules; none of them touches the DOM.
    allowedFiles: [
      'webview/html.ts',
      'webview/common/format.ts',
      'webview/heatmap/color-scale.ts',
      'webview/heatmap/layout.ts',
      'webview/loss-curves/decimate.ts',
      'webview/leaderboard/columns.ts',
    ],
    packages: (p) => p === 'vscode' || p === 'vscode-languageclient',
    why: 'client/ is bundled into dist/extension.js, which runs in the extension host and must not carry the compute engine',
  },
  {
    roots: 'server',
    banned: ['engine', 'job', 'worker', 'client', 'cli'],
    packages: (p) => p !== '@huggingface/hub',
    why: 'server/ is bundled into dist/server.js, the language server, which must not load the compute engine nor the Hub client (it reads the cache, hub/cache.ts, and never downloads)',
  },
  { roots: 'cli', banned: ['server', 'client', 'worker'], why: 'the `rtune` command must not carry the language server or the extension' },
  { roots: 'worker', banned: ['server', 'client', 'cli'], why: 'dist/worker.js must not carry the language server or the extension' },
];

const graph = new ImportGraph(
  REPO_ROOT,
  Object.keys(RULES).filter((f) => fs.existsSync(path.join(REPO_ROOT, f))),
);

function at(e: Edge): string {
  return `${e.from}:${e.line} → ${e.target}`;
}

function report(title: string, problems: string[]): string {
  return `${title}:\n  ${problems.join('\n  ')}`;
}

describe('module boundaries (docs/architecture.md)', () => {
  it('the scanner sees every import form and tells type-only imports apart', () => {
    const text = [
      "import * as fs from 'node:fs';",
      "import type { A } from './types';",
      "import { type B, type C } from './types2';",
      "import { type D, e } from './mixed';",
      "import './side-effect.css';",
      "import x = require('cjs-package');",
      "export { f } from './reexport';",
      "export type { G } from './type-reexport';",
      "export * from '@scope/pkg/sub';",
      "const y = require('required');",
      "void import('dynamic');",
      "let z: import('./type-query').Z;",
      'const name = "computed"; require(name);',
    ].join('\n');
    const got = importsOf('x/file.ts', text).map((i) => `${i.line}:${i.specifier}:${i.typeOnly ? 'type' : 'code'}`);
    assert.deepEqual(got, [
      '1:node:fs:code',
      '2:./types:type',
      '3:./types2:type',
      '4:./mixed:code',
      '5:./side-effect.css:code',
      '6:cjs-package:code',
      '7:./reexport:code',
      '8:./type-reexport:type',
      '9:@scope/pkg/sub:code',
      '10:required:code',
      '11:dynamic:code',
      '12:./type-query:type',
    ]);
    assert.ok(importsOf('x/shim.d.ts', "declare module 'm' { export * from 'n'; }").every((i) => i.typeOnly));
  });

  it('every top-level source folder has a rule', () => {
    const missing = sourceFolders(REPO_ROOT, UNRULED).filter((f) => !(f in RULES));
    assert.deepEqual(missing, [], `add a rule for ${missing.join(', ')} to RULES in test/architecture/deps.test.ts and a row to docs/architecture.md`);
  });

  it('every relative import resolves to a file', () => {
    const bad = graph.files
      .flatMap((f) => graph.edges.get(f) ?? [])
      .filter((e) => e.kind === 'unresolved')
      .map(at);
    assert.deepEqual(bad, [], report('imports of missing files', bad));
  });

  for (const [folder, rule] of Object.entries(RULES)) {
    it(`${folder}/ imports only what it may`, () => {
      const problems: string[] = [];
      for (const file of graph.files.filter((f) => folderOf(f) === folder)) {
        for (const e of graph.edges.get(file) ?? []) {
          let wrong: string | undefined;
          if (rule.typeOnly && !(e.typeOnly && e.kind === 'project' && folderOf(e.target) === folder)) wrong = 'a non-type or non-protocol import';
          else if (e.kind === 'builtin' && !rule.builtins(file)) wrong = 'a Node built-in';
          else if (e.kind === 'package' && !rule.packages(e.target, e)) wrong = 'a package it may not use';
          else if (e.kind === 'project' && folderOf(e.target) !== folder && !rule.folders.includes(folderOf(e.target)))
            wrong = `a file of ${folderOf(e.target)}/`;
          if (wrong !== undefined) problems.push(`${at(e)} (${wrong})`);
        }
      }
      const allowed = rule.folders.length > 0 ? rule.folders.map((f) => `${f}/`).join(', ') : 'no other folder';
      assert.deepEqual(problems, [], report(`${rule.why}. ${folder}/ may import ${allowed}`, problems));
    });
  }

  for (const b of BUNDLES) {
    it(`${b.roots}/ does not load ${b.banned.map((f) => `${f}/`).join(', ')} even indirectly`, () => {
      const chains = graph.runtimeClosure(graph.files.filter((f) => folderOf(f) === b.roots));
      const problems: string[] = [];
      const forbidden = (f: string): boolean => b.banned.includes(folderOf(f)) && !(b.allowedFiles ?? []).includes(f);
      for (const [file, chain] of chains) {
        // Report where a chain first enters forbidden code, not everything behind that point.
        if (forbidden(file)) {
          if (!forbidden(chain[chain.length - 2] as string)) problems.push(chain.join(' → '));
          continue;
        }
        for (const e of graph.edges.get(file) ?? []) {
          if (b.packages && e.kind === 'package' && !e.typeOnly && !b.packages(e.target)) problems.push(`${chain.join(' → ')} → ${e.target}`);
        }
      }
      assert.deepEqual(problems, [], report(b.why, problems));
    });
  }

  it('the language core does not load its Node host (language/node-env.ts is for hosts only)', () => {
    const core = graph.files.filter((f) => folderOf(f) === 'language' && f !== 'language/node-env.ts');
    const bad = [...graph.runtimeClosure(core)].filter(([f]) => f === 'language/node-env.ts').map(([, chain]) => chain.join(' → '));
    assert.deepEqual(bad, [], report('the extension and the panels load language/ and must not get file-system code with it', bad));
  });

  it('engine/ reads no process.env (the CLI and the worker pass settings in)', () => {
    const reads: string[] = [];
    for (const file of graph.files.filter((f) => folderOf(f) === 'engine')) {
      const sf = ts.createSourceFile(file, fs.readFileSync(path.join(REPO_ROOT, file), 'utf8'), ts.ScriptTarget.Latest, true);
      const visit = (n: ts.Node): void => {
        if (ts.isPropertyAccessExpression(n) && n.name.text === 'env' && ts.isIdentifier(n.expression) && n.expression.text === 'process') {
          reads.push(`${file}:${sf.getLineAndCharacterOfPosition(n.getStart(sf)).line + 1}`);
        }
        ts.forEachChild(n, visit);
      };
      visit(sf);
    }
    assert.deepEqual(reads, [], report('engine settings come from its callers (initBackend options); read the variable in cli/ or worker/', reads));
  });
});
