/**
 * The Node implementation of language/'s LanguageEnv: file existence, directory listings and model metadata,
 * over `fs`. Model metadata reads only `config.json` of an HF folder or the 28-byte header of a llama2.c `.bin`
 * (never weights), and is cached by path and mtime so a keystroke never re-reads it; stat and listing results
 * are cached briefly (`ttlMs`) because diagnostics run on every edit. The language server, the CLI, the worker
 * and tests use it; nothing else in language/ imports it, so the core itself never touches the file system.
 * Non-goals: no watching (the cache simply expires), no async I/O (all answers are needed within a keystroke).
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DirEntry, LanguageEnv } from './env';
import { LLAMA2C_HEADER_BYTES, ModelInfoResult, ParsedModelInfo, modelInfoFromConfigJson, modelInfoFromLlama2cHeader } from './model-info';

interface Timed<T> {
  readonly at: number;
  readonly value: T;
}

export interface NodeEnvOptions {
  /** How long stat and directory answers are reused. Default 2000 ms. */
  readonly ttlMs?: number;
  readonly now?: () => number;
}

export interface NodeEnv extends LanguageEnv {
  /** Forget cached stats and listings (model metadata stays cached by mtime). */
  invalidate(): void;
  /** Number of times a model file was actually read (for tests of the cache). */
  readonly modelReads: number;
}

function statKind(p: string): { kind: 'file' | 'dir'; mtimeMs: number; size: number } | undefined {
  try {
    const st = fs.statSync(p);
    return { kind: st.isDirectory() ? 'dir' : 'file', mtimeMs: st.mtimeMs, size: st.size };
  } catch {
    return undefined;
  }
}

function readHeader(file: string, bytes: number): Uint8Array {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const n = fs.readSync(fd, buf, 0, bytes, 0);
    return new Uint8Array(buf.buffer, buf.byteOffset, n);
  } finally {
    fs.closeSync(fd);
  }
}

export function createNodeEnv(options: NodeEnvOptions = {}): NodeEnv {
  const ttl = options.ttlMs ?? 2000;
  const now = options.now ?? Date.now;
  const stats = new Map<string, Timed<'file' | 'dir' | undefined>>();
  const listings = new Map<string, Timed<readonly DirEntry[] | undefined>>();
  const models = new Map<string, { readonly key: string; readonly result: ModelInfoResult }>();
  let modelReads = 0;

  const fresh = <T>(t: Timed<T> | undefined): t is Timed<T> => t !== undefined && now() - t.at < ttl;

  const env: NodeEnv = {
    get modelReads() {
      return modelReads;
    },
    invalidate() {
      stats.clear();
      listings.clear();
    },
    stat(absPath) {
      const hit = stats.get(absPath);
      if (fresh(hit)) return hit.value;
      const value = statKind(absPath)?.kind;
      stats.set(absPath, { at: now(), value });
      return value;
    },
    listDir(absPath) {
      const hit = listings.get(absPath);
      if (fresh(hit)) return hit.value;
      let value: readonly DirEntry[] | undefined;
      try {
        value = fs.readdirSync(absPath, { withFileTypes: true }).map((d) => ({ name: d.name, isDir: d.isDirectory() }));
      } catch {
        value = undefined;
      }
      listings.set(absPath, { at: now(), value });
      return value;
    },
    modelInfo(absPath) {
      const st = statKind(absPath);
      if (st === undefined) return { ok: false, missing: true, reason: `nothing at ${absPath}` };
      const file = st.kind === 'dir' ? path.join(absPath, 'config.json') : absPath;
      const fileStat = st.kind === 'dir' ? statKind(file) : st;
      if (fileStat === undefined) return { ok: false, missing: false, reason: `the folder has no config.json (${file})` };
      const key = `${fileStat.mtimeMs}:${fileStat.size}`;
      const cached = models.get(file);
      if (cached !== undefined && cached.key === key) return cached.result;
      modelReads++;
      let parsed: ParsedModelInfo;
      try {
        parsed =
          st.kind === 'dir'
            ? modelInfoFromConfigJson(fs.readFileSync(file, 'utf8'))
            : modelInfoFromLlama2cHeader(readHeader(file, LLAMA2C_HEADER_BYTES), fileStat.size);
      } catch (e) {
        parsed = { ok: false, reason: `cannot read ${file}: ${e instanceof Error ? e.message : String(e)}` };
      }
      const result: ModelInfoResult = parsed.ok ? { ok: true, info: parsed.info, file } : { ok: false, missing: false, reason: parsed.reason };
      models.set(file, { key, result });
      return result;
    },
  };
  return env;
}
