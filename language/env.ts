/**
 * What the pure `.rtune` core needs from its host, injected rather than imported (taplo's `Environment`): file
 * existence, directory listings and model metadata. Node hosts (the language server, the CLI, the worker) use
 * language/node-env.ts, which implements it over `fs` with a cache and is the one file of language/ that imports
 * Node; tests pass an in-memory fake; passing none turns every file and model check off. Also holds the few path
 * helpers the core needs, since the rest of language/ may not import `node:path`.
 * The optional `probe`, `csvHeader` and `weights` answer the cheap checks run before compute (preflight.ts): what
 * is at a path and whether it is writable, a CSV's header row, a model's safetensors headers. A host without them
 * (a test fake) turns those checks off. Non-goals: no reading of whole data files or weights, no async I/O (all
 * checks must answer within a keystroke).
 */

import type { HubCacheStatus } from '../model/hub-id';
import type { ModelInfoResult } from './model-info';

/** What is at a path, for the checks before compute. */
export interface PathProbe {
  /** Undefined when nothing exists there. */
  readonly kind: 'file' | 'dir' | undefined;
  readonly size: number;
  /** A folder this process may create entries in (false for a file or nothing). */
  readonly writable: boolean;
}

/** A CSV's header row and whether any data row follows. */
export type CsvHeaderResult =
  | { readonly ok: true; readonly columns: readonly string[]; /** false when the file holds only a header (or nothing) */ readonly hasRows: boolean }
  | { readonly ok: false; readonly reason: string };

export interface WeightsTensor {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** The safetensors file holding it. */
  readonly file: string;
}

/** The tensors a Hugging Face model folder's safetensors headers declare (one file or a sharded index), no data read. */
export type WeightsResult =
  | { readonly ok: true; readonly tensors: ReadonlyMap<string, WeightsTensor>; readonly files: readonly string[] }
  | { readonly ok: false; readonly file: string; readonly reason: string };

export interface DirEntry {
  readonly name: string;
  readonly isDir: boolean;
}

export interface LanguageEnv {
  /** `file`, `dir`, or undefined when nothing exists at the absolute path. */
  stat(absPath: string): 'file' | 'dir' | undefined;
  /** Entries of a folder, or undefined when it cannot be listed. */
  listDir(absPath: string): readonly DirEntry[] | undefined;
  /** Metadata of the model at a folder (its config.json) or llama2.c `.bin`; hosts cache it by path and mtime. */
  modelInfo(absPath: string): ModelInfoResult;
  /** What is at the absolute path (kind, size, writability). */
  probe?(absPath: string): PathProbe;
  /** The header row of a CSV file; hosts cache it by path and mtime. */
  csvHeader?(absPath: string): CsvHeaderResult;
  /** The safetensors headers of a model folder, validated as the loader does; hosts cache them by path and mtime. */
  weights?(modelDir: string): WeightsResult;
  /**
   * What the local Hugging Face cache holds for a Hub id (`hf:Org/Name`) at a revision; reads the cache only, never
   * the network. A host without it resolves no Hub id (model checks are off for it).
   */
  hub?(repo: string, revision: string): HubCacheStatus;
}

export interface LanguageOptions {
  /** Absolute folder of the .rtune file; relative paths resolve against it. Undefined for unsaved documents. */
  readonly baseDir?: string;
  /** Folder of the installed extension: `builtin:demo` is `<builtinRoot>/examples/demo-model`. */
  readonly builtinRoot?: string;
  readonly env?: LanguageEnv;
  /** Run folders of a file without a top-level `runs` key go here (absolute, or relative to `baseDir`). Default `runs`. */
  readonly defaultRunsDir?: string;
  /**
   * Run the checks before compute (preflight.ts) on every section as diagnostics: default true. Jobs turn this
   * off and check only the sections they run (job/preflight.ts).
   */
  readonly preflight?: boolean;
}

/** Where the built-in demo model lives inside the extension. */
export const BUILTIN_DEMO_RELATIVE = 'examples/demo-model';
export const BUILTIN_DEMO = 'builtin:demo';

export function isAbsolutePath(p: string): boolean {
  return p.startsWith('/') || /^[A-Za-z]:[\\/]/.test(p) || p.startsWith('\\\\');
}

/** Resolves `.` and `..` segments; keeps the root of absolute paths; uses `/` separators. */
export function normalizePath(p: string): string {
  const unified = p.replace(/\\/g, '/');
  const drive = /^[A-Za-z]:/.exec(unified)?.[0] ?? '';
  const rest = unified.slice(drive.length);
  const absolute = rest.startsWith('/');
  const out: string[] = [];
  for (const part of rest.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!absolute) out.push('..');
      continue;
    }
    out.push(part);
  }
  const body = out.join('/');
  if (absolute) return `${drive}/${body}`;
  return drive + (body === '' ? '.' : body);
}

export function joinPath(base: string, relative: string): string {
  if (isAbsolutePath(relative)) return normalizePath(relative);
  return normalizePath(`${base}/${relative}`);
}

export function dirnamePath(p: string): string {
  const n = normalizePath(p);
  const i = n.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return n.slice(0, i);
}

export function basenamePath(p: string): string {
  const n = normalizePath(p);
  return n.slice(n.lastIndexOf('/') + 1);
}

/** Expands `~/` with the host's home when known; otherwise leaves the path alone. */
export function resolveUserPath(raw: string, baseDir: string | undefined): string | undefined {
  if (isAbsolutePath(raw)) return normalizePath(raw);
  if (baseDir === undefined) return undefined;
  return joinPath(baseDir, raw);
}
