/**
 * The import graph of the source folders, for the architecture tests (deps.test.ts).
 *
 * A small scanner over the TypeScript compiler API rather than a dependency-graph package (madge,
 * dependency-cruiser): `typescript` is already a devDependency, the rules need only a few import forms, and the
 * syntax tree tells what `ts.preProcessFile` does not, whether an import is type-only. Type-only imports are
 * erased by esbuild and tsc, so they put no code into a bundle; the protocol rule and the bundle rules (what the
 * extension loads) depend on that distinction.
 *
 * Recognised: `import … from`, `import '…'`, `import x = require('…')`, `export … from`, `require('…')`,
 * `import('…')` and the type `import('…').T`. A `require` of a computed name (engine/backend.ts picks optional
 * packages from a list) is not followed. Everything in a .d.ts file is type-only.
 */
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import * as ts from 'typescript';

export interface RawImport {
  specifier: string;
  typeOnly: boolean;
  line: number;
}

/** One import of a project file. `target`: the repo-relative file a relative specifier resolves to. */
export interface Edge extends RawImport {
  from: string;
  kind: 'project' | 'package' | 'builtin' | 'unresolved';
  /** Project file (posix, repo-relative) or package name (`@scope/name`, `name`) or built-in module name. */
  target: string;
}

function literalText(node: ts.Node | undefined): string | undefined {
  return node !== undefined && (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) ? node.text : undefined;
}

/** Every import in one file's text. */
export function importsOf(fileName: string, text: string): RawImport[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const declarationFile = fileName.endsWith('.d.ts');
  const out: RawImport[] = [];
  const add = (spec: string | undefined, typeOnly: boolean, node: ts.Node): void => {
    if (spec === undefined) return;
    const line = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    out.push({ specifier: spec, typeOnly: typeOnly || declarationFile, line });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node)) {
      const c = node.importClause;
      const named = c?.namedBindings !== undefined && ts.isNamedImports(c.namedBindings) ? c.namedBindings.elements : undefined;
      const allTypes = c !== undefined && c.name === undefined && named !== undefined && named.length > 0 && named.every((e) => e.isTypeOnly);
      add(literalText(node.moduleSpecifier), c?.isTypeOnly === true || allTypes, node);
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier !== undefined) {
      const named = node.exportClause !== undefined && ts.isNamedExports(node.exportClause) ? node.exportClause.elements : undefined;
      const allTypes = named !== undefined && named.length > 0 && named.every((e) => e.isTypeOnly);
      add(literalText(node.moduleSpecifier), node.isTypeOnly || allTypes, node);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(literalText(node.moduleReference.expression), node.isTypeOnly, node);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      if ((ts.isIdentifier(callee) && callee.text === 'require') || callee.kind === ts.SyntaxKind.ImportKeyword) {
        add(literalText(node.arguments[0]), false, node);
      }
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(literalText(node.argument.literal), true, node);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

const BUILTINS = new Set(builtinModules);

/** Resolves one import of `from` (repo-relative) against the checkout at `root`. */
export function resolveImport(root: string, from: string, raw: RawImport): Edge {
  const spec = raw.specifier;
  if (spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0] as string)) {
    return { ...raw, from, kind: 'builtin', target: spec.replace(/^node:/, '') };
  }
  if (!spec.startsWith('.')) return { ...raw, from, kind: 'package', target: packageName(spec) };
  const base = path.posix.join(path.posix.dirname(from), spec);
  for (const candidate of [`${base}.ts`, `${base}.d.ts`, `${base}/index.ts`, base]) {
    const abs = path.join(root, candidate);
    if (fs.existsSync(abs) && fs.statSync(abs).isFile()) return { ...raw, from, kind: 'project', target: candidate };
  }
  return { ...raw, from, kind: 'unresolved', target: base };
}

/** Repo-relative .ts files under `dir` (posix separators). */
export function tsFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = path.posix.join(rel, entry.name);
      if (entry.isDirectory()) walk(child);
      else if (entry.name.endsWith('.ts')) out.push(child);
    }
  };
  walk(dir);
  return out.sort();
}

/** Top-level folders of the checkout that hold .ts files, other than the ones listed in `except`. */
export function sourceFolders(root: string, except: readonly string[]): string[] {
  return fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && !e.name.startsWith('.') && !except.includes(e.name))
    .map((e) => e.name)
    .filter((d) => tsFiles(root, d).length > 0)
    .sort();
}

export class ImportGraph {
  readonly edges = new Map<string, Edge[]>();

  constructor(
    readonly root: string,
    folders: readonly string[],
  ) {
    for (const folder of folders) {
      for (const file of tsFiles(root, folder)) {
        const raw = importsOf(file, fs.readFileSync(path.join(root, file), 'utf8'));
        this.edges.set(
          file,
          raw.map((r) => resolveImport(root, file, r)),
        );
      }
    }
  }

  get files(): string[] {
    return [...this.edges.keys()];
  }

  /**
   * The files that the runtime imports of `roots` load, each with the chain of files that leads to it from a
   * root (breadth first, so the chain is a shortest one). Type-only imports load nothing.
   */
  runtimeClosure(roots: readonly string[]): Map<string, string[]> {
    const chains = new Map<string, string[]>();
    const queue: string[] = [];
    for (const r of roots) {
      chains.set(r, [r]);
      queue.push(r);
    }
    for (let i = 0; i < queue.length; i++) {
      const file = queue[i] as string;
      for (const e of this.edges.get(file) ?? []) {
        if (e.typeOnly || e.kind !== 'project' || chains.has(e.target)) continue;
        chains.set(e.target, [...(chains.get(file) as string[]), e.target]);
        if (this.edges.has(e.target)) queue.push(e.target);
      }
    }
    return chains;
  }
}

/** The top-level folder of a repo-relative path. */
export function folderOf(file: string): string {
  return file.split('/')[0] as string;
}
