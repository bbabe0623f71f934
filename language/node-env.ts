/**
 * The Node implementation of language/'s LanguageEnv: file existence, directory listings and model metadata,
 * over `fs`. Model metadata reads only `config.json` of an HF folder or the 28-byte header of a llama2.c `.bin`
 * (never weights), and is cached by path and mtime so a keystroke never re-reads it; stat and listing results
 * are cached briefly (`ttlMs`) because diagnostics run on every edit. The language server, the CLI, the worker
 * and tests use it; nothing else in language/ imports it, so the core itself never touches the file system.
 * For the checks before compute it also answers `probe` (kind, size, writability; cached like stats), `csvHeader`
 * (the first 64 KiB of a CSV) and `weights` (the safetensors headers of a model folder, parsed and validated by
 * model/safetensors-header.ts exactly as the loader does); the last two are cached by path, mtime and size.
 * Non-goals: no watching (the cache simply expires), no async I/O (all answers are needed within a keystroke).
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { SafetensorsError, parseSafetensorsHeader, safetensorsHeaderLength } from '../model/safetensors-header';
import { parseCsvHead } from './csv-header';
import type { CsvHeaderResult, DirEntry, LanguageEnv, PathProbe, WeightsResult, WeightsTensor } from './env';
import type { HubCacheStatus } from '../model/hub-id';
import { LLAMA2C_HEADER_BYTES, ModelInfoResult, ParsedModelInfo, modelInfoFromConfigJson, modelInfoFromLlama2cHeader } from './model-info';

interface Timed<T> {
  readonly at: number;
  readonly value: T;
}

export interface NodeEnvOptions {
  /** How long stat and directory answers are reused. Default 2000 ms. */
  readonly ttlMs?: number;
  readonly now?: () => number;
  /**
   * Reads the Hugging Face cache for a Hub id (hub/cache.ts `lookupHubCache` with the host's settings); the host
   * injects it, as language/ may not import hub/. Without it, Hub ids are not resolved.
   */
  readonly hub?: (repo: string, revision: string) => HubCacheStatus;
}

export interface NodeEnv extends LanguageEnv {
  /** Forget cached stats and listings (model metadata stays cached by mtime). */
  invalidate(): void;
  /** Number of times a model file was actually read (for tests of the cache). */
  readonly modelReads: number;
  /** Number of times a CSV head or a safetensors header was actually read (for tests of the cache). */
  readonly dataReads: number;
}

/** How much of a CSV is read for its header. */
const CSV_HEAD_BYTES = 64 * 1024;

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function probePath(p: string): PathProbe {
  const st = statKind(p);
  if (st === undefined) return { kind: undefined, size: 0, writable: false };
  let writable = false;
  if (st.kind === 'dir') {
    try {
      fs.accessSync(p, fs.constants.W_OK | fs.constants.X_OK);
      writable = true;
    } catch {
      writable = false;
    }
  }
  return { kind: st.kind, size: st.size, writable };
}

function readCsvHead(file: string, size: number): CsvHeaderResult {
  try {
    const bytes = readHeader(file, Math.min(size, CSV_HEAD_BYTES));
    const head = parseCsvHead(new TextDecoder('utf-8').decode(bytes), size <= CSV_HEAD_BYTES);
    return { ok: true, columns: head.columns, hasRows: head.hasRows };
  } catch (e) {
    return { ok: false, reason: `cannot read ${file}: ${errorText(e)}` };
  }
}

function readAt(fd: number, position: number, length: number): Uint8Array {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const n = fs.readSync(fd, buf, done, length - done, position + done);
    if (n === 0) break;
    done += n;
  }
  return new Uint8Array(buf.buffer, buf.byteOffset, done);
}

function readTensorHeader(file: string, into: Map<string, WeightsTensor>, only?: ReadonlySet<string>): void {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const length = safetensorsHeaderLength(readAt(fd, 0, 8), size, file);
    const header = parseSafetensorsHeader(readAt(fd, 8, length), size, file);
    for (const [name, t] of header.tensors) if (only === undefined || only.has(name)) into.set(name, { dtype: t.dtype, shape: t.shape, file });
  } finally {
    fs.closeSync(fd);
  }
}

/** The safetensors headers of a model folder: `model.safetensors`, or every shard of `model.safetensors.index.json`. */
function readWeights(dir: string): WeightsResult {
  const single = path.join(dir, 'model.safetensors');
  const index = path.join(dir, 'model.safetensors.index.json');
  const tensors = new Map<string, WeightsTensor>();
  let current = single;
  try {
    if (statKind(single)?.kind === 'file') {
      readTensorHeader(single, tensors);
      return { ok: true, tensors, files: [single] };
    }
    if (statKind(index)?.kind !== 'file') {
      return { ok: false, file: dir, reason: `${dir}: no weights found: looked for model.safetensors and model.safetensors.index.json` };
    }
    current = index;
    const parsed: unknown = JSON.parse(fs.readFileSync(index, 'utf8'));
    const map = (parsed as { weight_map?: unknown } | null)?.weight_map;
    if (typeof map !== 'object' || map === null || Array.isArray(map)) return { ok: false, file: index, reason: `${index}: has no "weight_map" object` };
    const byShard = new Map<string, Set<string>>();
    for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
      if (typeof shard !== 'string') return { ok: false, file: index, reason: `${index}: "weight_map"."${name}" is not a file name` };
      byShard.set(shard, (byShard.get(shard) ?? new Set()).add(name));
    }
    const files: string[] = [index];
    for (const [shard, names] of byShard) {
      current = path.join(dir, shard);
      if (statKind(current)?.kind !== 'file') {
        return { ok: false, file: current, reason: `${current}: shard file is missing; ${index} maps ${names.size} tensor(s) to it` };
      }
      readTensorHeader(current, tensors, names);
      const lacking = [...names].find((n) => !tensors.has(n));
      if (lacking !== undefined)
        return { ok: false, file: current, reason: `${current}: tensor "${lacking}" is listed for this shard in ${index} but is not in the shard` };
      files.push(current);
    }
    return { ok: true, tensors, files };
  } catch (e) {
    return {
      ok: false,
      file: e instanceof SafetensorsError ? e.file : current,
      reason: e instanceof SafetensorsError ? e.message : `${current}: ${errorText(e)}`,
    };
  }
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
  const probes = new Map<string, Timed<PathProbe>>();
  const csvs = new Map<string, { readonly key: string; readonly result: CsvHeaderResult }>();
  const weights = new Map<string, { readonly key: string; readonly watched: readonly string[]; readonly result: WeightsResult }>();
  let modelReads = 0;
  let dataReads = 0;
  const stamp = (p: string): string => {
    const st = statKind(p);
    return st === undefined ? '-' : `${st.mtimeMs}:${st.size}`;
  };

  const fresh = <T>(t: Timed<T> | undefined): t is Timed<T> => t !== undefined && now() - t.at < ttl;

  const env: NodeEnv = {
    get modelReads() {
      return modelReads;
    },
    get dataReads() {
      return dataReads;
    },
    invalidate() {
      stats.clear();
      listings.clear();
      probes.clear();
    },
    probe(absPath) {
      const hit = probes.get(absPath);
      if (fresh(hit)) return hit.value;
      const value = probePath(absPath);
      probes.set(absPath, { at: now(), value });
      return value;
    },
    csvHeader(absPath) {
      const st = statKind(absPath);
      if (st === undefined || st.kind !== 'file') return { ok: false, reason: `${absPath}: not a file` };
      const key = `${st.mtimeMs}:${st.size}`;
      const cached = csvs.get(absPath);
      if (cached !== undefined && cached.key === key) return cached.result;
      dataReads++;
      const result = readCsvHead(absPath, st.size);
      csvs.set(absPath, { key, result });
      return result;
    },
    weights(modelDir) {
      // Cached under the stamps (mtime, size) of every file the last read looked at: both weight entry points and
      // each shard (or the file that failed), so a re-download or a new shard is read again.
      const cached = weights.get(modelDir);
      if (cached !== undefined && cached.key === cached.watched.map(stamp).join('|')) return cached.result;
      dataReads++;
      const result = readWeights(modelDir);
      const watched = [
        path.join(modelDir, 'model.safetensors'),
        path.join(modelDir, 'model.safetensors.index.json'),
        ...(result.ok ? result.files : [result.file]),
      ];
      weights.set(modelDir, { key: watched.map(stamp).join('|'), watched, result });
      return result;
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
    ...(options.hub !== undefined ? { hub: options.hub } : {}),
  };
  return env;
}
