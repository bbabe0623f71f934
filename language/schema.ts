/**
 * The one schema of the `.rtune` language: every section and key with its type, allowed values or range,
 * default, one-paragraph doc and example. It is the single source of truth: validation and lowering
 * (lower.ts, values.ts), hover, completion, the TextMate grammar's keyword lists (textmate.ts) and
 * docs/language.md (docs.ts) are all derived from it, and tests fail when any of them drifts. Defaults are
 * written as `.rtune` source text and parsed by the real parser, so documented and effective defaults cannot
 * differ. The tables themselves live in schema-sections/*.ts; this file holds the types and lookups.
 * Non-goals: cross-field rules (rules.ts) and model-aware checks (model-checks.ts) are code, documented here
 * only as prose in each section's `rules`.
 */

import { COMPARE_SECTION } from './schema-sections/compare';
import { EVAL_SECTION, EXPORT_SECTION } from './schema-sections/eval-export';
import { DIRECTION_SECTION, MODEL_SECTION, PROMPTS_SECTION } from './schema-sections/model-prompts-direction';
import { SEARCH_SECTION } from './schema-sections/search';
import { TUNE_SECTION } from './schema-sections/tune';
import type { SectionKind } from './config';
import { snippetText } from './snippet';

export type { SectionKind } from './config';

export interface EnumValueSpec {
  readonly name: string;
  readonly doc: string;
}

export type ValueType =
  | { readonly kind: 'string'; readonly placeholders?: readonly string[] }
  | {
      readonly kind: 'path';
      /** `file` and `dir` must exist; `model` may be a folder, a `.bin`, or `builtin:demo`; `output` need not exist. */
      readonly target: 'file' | 'dir' | 'model' | 'output';
      readonly extensions?: readonly string[];
    }
  | { readonly kind: 'int'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'number'; readonly min?: number; readonly max?: number; readonly exclusiveMin?: boolean; readonly exclusiveMax?: boolean }
  | { readonly kind: 'bool' }
  | { readonly kind: 'enum'; readonly values: readonly EnumValueSpec[] }
  /** `many`: a name or a list of names (`[a, b]`), in order, each naming a section of that kind. */
  | { readonly kind: 'ref'; readonly section: SectionKind; readonly many?: boolean }
  /** A layer index, an inclusive range `11..17`, a list of those, or `all`. */
  | { readonly kind: 'layers'; readonly allowAll: boolean }
  /** Token offsets relative to the anchor: an integer, a range `-3..0` or a list of those. */
  | { readonly kind: 'offsets'; readonly min: number; readonly max: number }
  /** Parameter block names (model/blocks.ts), or `all`. */
  | { readonly kind: 'blocks' }
  | { readonly kind: 'numbers'; readonly min?: number; readonly max?: number; readonly exclusiveMax?: boolean; readonly length?: number }
  | { readonly kind: 'enums'; readonly values: readonly EnumValueSpec[] }
  | { readonly kind: 'block'; readonly keys: readonly KeySpec[] };

export interface KeySpec {
  readonly name: string;
  readonly type: ValueType;
  /** One paragraph. */
  readonly doc: string;
  /** A complete `key value` line (or a block) that is valid on its own. */
  readonly example: string;
  /** The default as `.rtune` source text; parsed and lowered exactly like a written value. */
  readonly default?: string;
  /** When the default depends on other settings: what it is, in words. */
  readonly defaultDoc?: string;
  readonly required?: boolean;
  /**
   * Set when the key is read by the language alone, never by a run (the engine, the job runner): why. Every other
   * key is consumed by runs, and test/sync/key-checks.ts names the behaviour test that shows it (the sync test fails
   * on a key with neither).
   */
  readonly editorOnly?: string;
}

export interface SectionSpec {
  readonly kind: SectionKind;
  /** One paragraph. */
  readonly doc: string;
  readonly keys: readonly KeySpec[];
  /** A complete, valid section used as the completion snippet (`${1:name}` style placeholders allowed). */
  readonly snippet: string;
  /** Cross-field rules checked for this section, in words (rules.ts implements them). */
  readonly rules: readonly string[];
}

export const ROOT_KEYS: readonly KeySpec[] = [
  {
    name: 'version',
    type: { kind: 'int', min: 1, max: 1 },
    default: '1',
    doc: 'Version of the `.rtune` language the file is written in. Only 1 exists; the key lets later versions change meaning without silently misreading old files.',
    editorOnly: 'the language reads it to refuse files of another version; the RunConfig a run receives is always version 1.',
    example: 'version 1',
  },
  {
    name: 'runs',
    type: { kind: 'path', target: 'output' },
    default: '"runs"',
    doc: "Folder where runs are written, relative to this file. Each runnable section writes into `<runs>/<section name>/<run id>/` unless it sets its own `output`, and the editor reads finished runs' `summary.json` from there to show results inline.",
    example: 'runs "runs"',
  },
];

export const SECTIONS: readonly SectionSpec[] = [
  MODEL_SECTION,
  PROMPTS_SECTION,
  DIRECTION_SECTION,
  TUNE_SECTION,
  SEARCH_SECTION,
  EVAL_SECTION,
  EXPORT_SECTION,
  COMPARE_SECTION,
];

export const SECTION_KINDS: readonly SectionKind[] = SECTIONS.map((s) => s.kind);

const sectionByKind = new Map<string, SectionSpec>(SECTIONS.map((s) => [s.kind, s]));

export function sectionSpec(kind: string): SectionSpec | undefined {
  return sectionByKind.get(kind);
}

export function isSectionKind(word: string): word is SectionKind {
  return sectionByKind.has(word);
}

export function findKey(keys: readonly KeySpec[], name: string): KeySpec | undefined {
  return keys.find((k) => k.name === name);
}

/**
 * The key spec reached by a path of entry keys from the top of the file, e.g. ['tune', 'optimizer', 'lr_token'].
 * A top-level section kind yields a synthetic block spec holding that section's keys.
 */
export function keyAtPath(path: readonly string[]): KeySpec | undefined {
  if (path.length === 0) return undefined;
  const section = sectionSpec(path[0]);
  let current: KeySpec | undefined = section !== undefined ? sectionAsKey(section) : findKey(ROOT_KEYS, path[0]);
  for (const name of path.slice(1)) {
    if (current === undefined || current.type.kind !== 'block') return undefined;
    current = findKey(current.type.keys, name);
  }
  return current;
}

/** A section seen as a block-valued key, so nested lookups treat both alike. */
export function sectionAsKey(section: SectionSpec): KeySpec {
  return { name: section.kind, type: { kind: 'block', keys: section.keys }, doc: section.doc, example: snippetText(section.snippet) };
}

/** Every key name anywhere in the schema (for the grammar and for "did you mean" across blocks). */
export function allKeyNames(): string[] {
  const names = new Set<string>(ROOT_KEYS.map((k) => k.name));
  const visit = (keys: readonly KeySpec[]): void => {
    for (const k of keys) {
      names.add(k.name);
      if (k.type.kind === 'block') visit(k.type.keys);
    }
  };
  for (const s of SECTIONS) visit(s.keys);
  return [...names].sort();
}

/** Every enum value anywhere in the schema. */
export function allEnumValues(): string[] {
  const values = new Set<string>();
  const visit = (keys: readonly KeySpec[]): void => {
    for (const k of keys) {
      if (k.type.kind === 'enum' || k.type.kind === 'enums') for (const v of k.type.values) values.add(v.name);
      if (k.type.kind === 'block') visit(k.type.keys);
    }
  };
  for (const s of SECTIONS) visit(s.keys);
  return [...values].sort();
}

function formatBound(n: number): string {
  return Math.abs(n) >= 1e4 || (Math.abs(n) < 1e-3 && n !== 0) ? n.toExponential().replace('e+', 'e') : String(n);
}

/** A short human description of a type, for hover, messages and docs. */
export function describeType(type: ValueType): string {
  switch (type.kind) {
    case 'string':
      return type.placeholders !== undefined ? `string (placeholders ${type.placeholders.map((p) => `{${p}}`).join(' ')})` : 'string';
    case 'path':
      if (type.target === 'model') return 'model path: a folder with config.json, a llama2.c .bin, or builtin:demo';
      if (type.target === 'output') return 'folder path (created when needed)';
      return `${type.target === 'dir' ? 'folder' : 'file'} path${type.extensions !== undefined ? ` (${type.extensions.join(', ')})` : ''}`;
    case 'int':
    case 'number': {
      const noun = type.kind === 'int' ? 'integer' : 'number';
      const lo = type.min !== undefined ? `${type.kind === 'number' && type.exclusiveMin === true ? '>' : '>='} ${formatBound(type.min)}` : undefined;
      const hi = type.max !== undefined ? `${type.kind === 'number' && type.exclusiveMax === true ? '<' : '<='} ${formatBound(type.max)}` : undefined;
      const bounds = [lo, hi].filter((b): b is string => b !== undefined);
      return bounds.length > 0 ? `${noun}, ${bounds.join(' and ')}` : noun;
    }
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${type.values.map((v) => v.name).join(' | ')}`;
    case 'enums':
      return `list of ${type.values.map((v) => v.name).join(' | ')}`;
    case 'ref':
      return `name of a \`${type.section}\` section${type.many === true ? ', or a list of them' : ''}`;
    case 'layers':
      return `layers: an index, a range like 11..17 (inclusive), a list of those${type.allowAll ? ', or all' : ''}`;
    case 'offsets':
      return `token offsets from the anchor: an integer, a range like -3..0, or a list (each ${type.min}..${type.max})`;
    case 'blocks':
      return 'list of parameter blocks (q k v o gate up down attn_norm mlp_norm, or architecture names), or all';
    case 'numbers': {
      const count = type.length !== undefined ? `${type.length} ` : '';
      const range = type.min !== undefined || type.max !== undefined ? ` (each ${type.min ?? '-∞'}..${type.max ?? '∞'})` : '';
      return `list of ${count}numbers${range}`;
    }
    case 'block':
      return 'block { ... }';
  }
}
