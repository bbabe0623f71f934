/**
 * What a direction or tune section's result depends on, as one hash: its run folder records it (`inputs.json`), and
 * a later run reuses that folder's result when the hash is the same (job/checkpoint.ts). The inputs are every key
 * of the section and of the model and prompts sections it uses (except `name` and `output`), with file paths
 * replaced by what the files hold: the prompts CSV by its sha256, the model by each of its files (config,
 * weights, tokenizer) — sha256 up to 64 MiB, size and modification time above — and the direction a section
 * stands on by the sha256 of its vectors. The model's `backend` counts as requested: a section that says `auto`
 * counts the run's backend preference (the CLI's --backend, the editor's rtune.backend), since backends round
 * differently; the device that answered does not count, nor does the time.
 * Non-goals: hashing engine code (a changed rtune version does not invalidate a run folder).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DirectionSet } from '../engine/method/direction-set';
import type { Backend, DirectionConfig, ModelConfig, PromptSetConfig, RunConfig, TuneConfig } from '../protocol/contract';

export const INPUTS_FILE = 'inputs.json';
export const INPUTS_FORMAT = 'rtune-inputs/1';

/** The content of `inputs.json`: the hash and the parts it was computed from (so a changed input can be named). */
export interface InputsRecord {
  format: typeof INPUTS_FORMAT;
  kind: 'direction' | 'tune';
  section: string;
  /** sha256 of the canonical JSON of `parts`. */
  hash: string;
  /** sha256 of the model's files and tokenizer alone (not its backend): what `--from` compares to accept a run folder for a model. */
  modelHash: string;
  parts: Record<string, unknown>;
}

/** Files above this size are identified by size and modification time instead of their sha256. */
const HASH_LIMIT = 64 * 2 ** 20;
const hashCache = new Map<string, string>();

/** JSON with object keys sorted, so equal values always give equal text. */
export function canonicalJson(v: unknown): string {
  if (v === undefined) return 'null';
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(v as Record<string, unknown>)
    .filter(([, x]) => x !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
}

export function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** sha256 of a file's bytes (cached by path, size and modification time). */
export function fileSha256(file: string): string {
  const st = fs.statSync(file);
  const key = `${path.resolve(file)}\u241f${st.size}\u241f${st.mtimeMs}`;
  let h = hashCache.get(key);
  if (h === undefined) {
    h = sha256(fs.readFileSync(file));
    hashCache.set(key, h);
  }
  return h;
}

/** What a file holds: its sha256, or (above 64 MiB) its size and modification time. Missing: null. */
export function fileIdentity(file: string): Record<string, unknown> | null {
  const st = fs.statSync(file, { throwIfNoEntry: false });
  if (!st?.isFile()) return null;
  return st.size <= HASH_LIMIT ? { sha256: fileSha256(file) } : { size: st.size, mtimeMs: st.mtimeMs };
}

/** The files a model section reads: every regular file of an HF folder, or a llama2.c `.bin` and the tokenizer files beside it. */
function modelFiles(m: ModelConfig): Record<string, unknown> {
  const src = m.source.path;
  const st = fs.statSync(src, { throwIfNoEntry: false });
  const out: Record<string, unknown> = {};
  if (st?.isDirectory()) {
    for (const n of fs.readdirSync(src).sort()) if (!n.startsWith('.') && !/^readme/i.test(n)) out[n] = fileIdentity(path.join(src, n));
    for (const [k, v] of Object.entries(out)) if (v === null) delete out[k];
  } else if (st?.isFile()) {
    out[path.basename(src)] = fileIdentity(src);
    const dir = path.dirname(src);
    for (const n of fs.readdirSync(dir).sort()) if (/^(tokenizer\.bin|tok\d+\.bin)$/.test(n)) out[n] = fileIdentity(path.join(dir, n));
  }
  return out;
}

/** A model section as inputs: its keys, with its path and tokenizer replaced by what the files hold; `backend` is the run's preference for `backend auto`. */
export function modelPart(m: ModelConfig, backend?: Backend): Record<string, unknown> {
  return {
    source: m.source.kind,
    ...(m.source.kind === 'hub' ? { hub: { repo: m.source.repo, revision: m.source.revision, commit: m.source.commit ?? null } } : {}),
    backend: m.backend === 'auto' ? (backend ?? 'auto') : m.backend,
    files: modelFiles(m),
    tokenizer: m.tokenizer !== undefined ? fileIdentity(m.tokenizer) : null,
  };
}

/** A prompt set as inputs: its keys, with the CSV path replaced by the file's sha256. */
export function promptsPart(p: PromptSetConfig): Record<string, unknown> {
  const { name: _name, data, ...rest } = p;
  return { ...rest, data: fileIdentity(data) };
}

/** sha256 of a direction set's layers, positions and vector bytes. */
export function directionSetHash(d: Pick<DirectionSet, 'layers' | 'offsets' | 'vectors'>): string {
  const h = createHash('sha256');
  h.update(canonicalJson({ layers: d.layers, offsets: d.offsets }));
  for (const l of [...d.vectors.keys()].sort((a, b) => a - b)) {
    h.update(`layer ${l}\n`);
    for (const v of d.vectors.get(l) ?? []) h.update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  }
  return h.digest('hex');
}

/** The model's identity alone (its files and tokenizer, not the backend): what `--from` compares. */
function modelHashOfPart(part: Record<string, unknown>): string {
  return sha256(canonicalJson({ files: part['files'], tokenizer: part['tokenizer'] }));
}

function record(kind: InputsRecord['kind'], section: string, parts: Record<string, unknown>): InputsRecord {
  return {
    format: INPUTS_FORMAT,
    kind,
    section,
    hash: sha256(canonicalJson(parts)),
    modelHash: modelHashOfPart(parts['model'] as Record<string, unknown>),
    parts,
  };
}

type Directions = ReadonlyMap<string, Pick<DirectionSet, 'layers' | 'offsets' | 'vectors'>>;

function withoutNameAndOutput<T extends { name: string; output: string }>(c: T): Omit<T, 'name' | 'output'> {
  const { name: _n, output: _o, ...rest } = c;
  return rest;
}

/**
 * A direction section's inputs, or undefined when they cannot be known yet (the direction it projects out has not
 * run: the section then fails with its own message).
 */
export function directionInputs(config: RunConfig, d: DirectionConfig, directions: Directions, backend?: Backend): InputsRecord | undefined {
  const m = config.models[d.model];
  // A random control reads no prompts: its inputs are its keys and the model.
  const p = d.method === 'random' ? undefined : d.prompts !== undefined ? config.prompts[d.prompts] : undefined;
  const other = d.projectOut !== undefined ? directions.get(d.projectOut) : undefined;
  if (!m || (!p && d.method !== 'random') || (d.projectOut !== undefined && !other)) return undefined;
  return record('direction', d.name, {
    format: INPUTS_FORMAT,
    kind: 'direction',
    section: withoutNameAndOutput(d),
    model: modelPart(m, backend),
    prompts: p ? promptsPart(p) : null,
    projectOut: other ? directionSetHash(other) : null,
  });
}

/** A tune section's inputs, or undefined when its direction has not run (the section then fails with its own message). */
export function tuneInputs(config: RunConfig, t: TuneConfig, directions: Directions, backend?: Backend): InputsRecord | undefined {
  const m = config.models[t.model];
  const p = config.prompts[t.prompts];
  const dir = t.direction !== undefined ? directions.get(t.direction) : undefined;
  if (!m || !p || (t.direction !== undefined && !dir)) return undefined;
  return record('tune', t.name, {
    format: INPUTS_FORMAT,
    kind: 'tune',
    section: withoutNameAndOutput(t),
    model: modelPart(m, backend),
    prompts: promptsPart(p),
    direction: dir ? directionSetHash(dir) : null,
  });
}

/**
 * `compute()`, or undefined when it throws (a file it reads is missing or unreadable): the section then runs and
 * reports that problem itself, with its own message, and nothing is reused.
 */
export function knownInputs(compute: () => InputsRecord | undefined): InputsRecord | undefined {
  try {
    return compute();
  } catch {
    return undefined;
  }
}

/** A model section's model hash, as `InputsRecord.modelHash` has it. */
export function modelHashOf(m: ModelConfig): string {
  return modelHashOfPart(modelPart(m));
}

/** The top-level parts (and keys of the section's own config) that differ between two records: what changed. */
export function changedInputs(a: InputsRecord, b: InputsRecord): string[] {
  const out: string[] = [];
  for (const k of new Set([...Object.keys(a.parts), ...Object.keys(b.parts)])) {
    const x = a.parts[k];
    const y = b.parts[k];
    if (canonicalJson(x) === canonicalJson(y)) continue;
    if (k === 'section' && x !== null && y !== null && typeof x === 'object' && typeof y === 'object') {
      const xs = x as Record<string, unknown>;
      const ys = y as Record<string, unknown>;
      for (const j of new Set([...Object.keys(xs), ...Object.keys(ys)])) if (canonicalJson(xs[j]) !== canonicalJson(ys[j])) out.push(j);
    } else out.push(k);
  }
  return out;
}

/** Reads a run folder's `inputs.json`; undefined when absent or not an inputs record. */
export function readInputs(dir: string): InputsRecord | undefined {
  try {
    const r = JSON.parse(fs.readFileSync(path.join(dir, INPUTS_FILE), 'utf8')) as Partial<InputsRecord>;
    return r.format === INPUTS_FORMAT && typeof r.hash === 'string' ? (r as InputsRecord) : undefined;
  } catch {
    return undefined;
  }
}
