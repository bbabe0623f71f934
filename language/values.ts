/**
 * Lowers one syntax value against its schema type: checks the shape, the allowed values and the numeric range,
 * reports `type`/`range`/`enum` diagnostics with "did you mean" fixes, and returns a typed `Lowered` value.
 * Also lowers schema defaults, which are `.rtune` source text parsed by the real parser, so a default can never
 * mean something different from the same text written in a file. Non-goals: references, files and models
 * (lower.ts and model-checks.ts), cross-field rules (rules.ts).
 */

import { Value } from './ast';
import { ARCHITECTURE_FAMILIES, ArchitectureFamily, BLOCK_ALIASES, BLOCK_NAMES, BlockName, aliasFamilies, isBlockName } from '../model/blocks';
import { parse } from './parser';
import { EnumValueSpec, KeySpec, ValueType, describeType } from './schema';
import { Diagnostic, Span, didYouMean, humanList } from './text';

/** A layer, offset or block item with where it was written, for later model-aware checks. */
export interface Item<T> {
  readonly value: T;
  readonly span: Span;
}

export interface BlockItem extends Item<readonly BlockName[]> {
  readonly word: string;
  /**
   * The family whose naming `word` uses, for architecture-specific spellings (the first in ARCHITECTURE_FAMILIES
   * order when several share it; model-checks.ts re-reads the word in the model's own family).
   */
  readonly family: ArchitectureFamily | undefined;
}

export type Lowered =
  | { readonly kind: 'string'; readonly value: string }
  | { readonly kind: 'path'; readonly value: string }
  | { readonly kind: 'number'; readonly value: number }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'enum'; readonly value: string }
  /** `value` is the first name; `values` every name in order (one unless the type is `many`). */
  | { readonly kind: 'ref'; readonly value: string; readonly values: readonly string[]; readonly items: readonly Item<string>[] }
  | { readonly kind: 'layers'; readonly value: readonly number[] | 'all'; readonly items: readonly Item<number>[] }
  | { readonly kind: 'offsets'; readonly value: readonly number[] }
  | { readonly kind: 'blocks'; readonly value: readonly BlockName[] | 'all'; readonly items: readonly BlockItem[] }
  | { readonly kind: 'numbers'; readonly value: readonly number[] }
  | { readonly kind: 'enums'; readonly value: readonly string[] }
  | { readonly kind: 'block' };

type Sink = (d: Diagnostic) => void;

function shown(v: Value): string {
  switch (v.kind) {
    case 'string':
      return `"${v.value.length > 30 ? v.value.slice(0, 30) + '…' : v.value}"`;
    case 'number':
    case 'word':
      return v.token.text;
    case 'range':
      return 'a range';
    case 'list':
      return 'a list';
    case 'block':
      return 'a block';
  }
}

function typeError(sink: Sink, key: string, type: ValueType, v: Value): undefined {
  return void sink({ code: 'type', severity: 'error', span: v, message: `\`${key}\` expects ${describeType(type)}; found ${shown(v)}` });
}

function rangeText(min: number | undefined, max: number | undefined, exMin = false, exMax = false): string {
  const parts: string[] = [];
  if (min !== undefined) parts.push(`${exMin ? '>' : '>='} ${min}`);
  if (max !== undefined) parts.push(`${exMax ? '<' : '<='} ${max}`);
  return parts.join(' and ');
}

function checkNumber(sink: Sink, key: string, n: number, s: Span, min?: number, max?: number, exMin = false, exMax = false): boolean {
  const low = min !== undefined && (exMin ? n <= min : n < min);
  const high = max !== undefined && (exMax ? n >= max : n > max);
  if (!Number.isFinite(n) || low || high) {
    sink({ code: 'range', severity: 'error', span: s, message: `\`${key}\` must be ${rangeText(min, max, exMin, exMax)}; found ${n}` });
    return false;
  }
  return true;
}

function enumError(sink: Sink, key: string, values: readonly EnumValueSpec[], v: Value): undefined {
  const names = values.map((e) => e.name);
  const word = v.kind === 'word' || v.kind === 'string' ? v.value : '';
  const guess = word !== '' ? didYouMean(word, names) : undefined;
  return void sink({
    code: 'enum',
    severity: 'error',
    span: v,
    message: `\`${key}\` must be ${humanList(names)}; found ${shown(v)}${guess !== undefined ? `. Did you mean \`${guess}\`?` : ''}`,
    fixes: guess !== undefined ? [{ title: `Change to '${guess}'`, edit: { span: { start: v.start, end: v.end }, newText: guess } }] : undefined,
  });
}

/** Flattens a single value or a list into its items. */
function itemsOf(v: Value): readonly Value[] {
  return v.kind === 'list' ? v.items : [v];
}

/** Integers from an int, an inclusive range or a list of those. */
function lowerIntSet(sink: Sink, key: string, type: ValueType, v: Value, min: number, max: number | undefined): Item<number>[] | undefined {
  const out: Item<number>[] = [];
  let ok = true;
  for (const item of itemsOf(v)) {
    if (item.kind === 'number' && Number.isInteger(item.value)) {
      if (checkNumber(sink, key, item.value, item, min, max)) out.push({ value: item.value, span: item });
      else ok = false;
    } else if (item.kind === 'range') {
      if (item.from === undefined || item.to === undefined) {
        ok = false;
        continue;
      }
      const a = item.from.value;
      const b = item.to.value;
      if (!Number.isInteger(a) || !Number.isInteger(b)) {
        typeError(sink, key, type, item);
        ok = false;
      } else if (a > b) {
        sink({
          code: 'range',
          severity: 'error',
          span: item,
          message: `range ${a}..${b} runs backwards: write ${b}..${a}`,
          fixes: [{ title: `Change to ${b}..${a}`, edit: { span: { start: item.start, end: item.end }, newText: `${b}..${a}` } }],
        });
        ok = false;
      } else if (checkNumber(sink, key, a, item.from, min, max) && checkNumber(sink, key, b, item.to, min, max)) {
        if (b - a > 100000) {
          sink({ code: 'range', severity: 'error', span: item, message: `range ${a}..${b} is too long` });
          ok = false;
        } else for (let i = a; i <= b; i++) out.push({ value: i, span: item });
      } else ok = false;
    } else {
      typeError(sink, key, type, item);
      ok = false;
    }
  }
  if (v.kind === 'list' && v.items.length === 0) {
    sink({ code: 'type', severity: 'error', span: v, message: `\`${key}\` needs at least one value` });
    return undefined;
  }
  return ok ? out : undefined;
}

function sortedUnique(ns: readonly number[]): number[] {
  return [...new Set(ns)].sort((a, b) => a - b);
}

const ALL_BLOCK_WORDS: readonly string[] = [...new Set([...BLOCK_NAMES, ...ARCHITECTURE_FAMILIES.flatMap((f) => Object.keys(BLOCK_ALIASES[f]))])];

function lowerBlockWord(word: string, s: Span): BlockItem | string {
  if (isBlockName(word)) return { word, value: [word], span: s, family: undefined };
  const own = aliasFamilies(word)[0];
  if (own !== undefined) return { word, value: own.blocks, span: s, family: own.family };
  if (word === 'c_proj') return '`c_proj` is ambiguous in GPT-2: write `attn.c_proj` (o) or `mlp.c_proj` (down)';
  const guess = didYouMean(word, ALL_BLOCK_WORDS);
  return `unknown block \`${word}\`; blocks are ${BLOCK_NAMES.join(' ')} (or architecture names such as v_proj, attn.c_attn)${guess !== undefined ? `. Did you mean \`${guess}\`?` : ''}`;
}

/** Lowers `v` for the key `spec`, reporting problems to `sink`. Undefined when the value is unusable. */
export function lowerValue(spec: KeySpec, v: Value, sink: Sink): Lowered | undefined {
  const type = spec.type;
  const key = spec.name;
  switch (type.kind) {
    case 'string':
      if (v.kind !== 'string') return typeError(sink, key, type, v);
      return { kind: 'string', value: v.value };
    case 'path':
      if (v.kind !== 'string' && v.kind !== 'word') return typeError(sink, key, type, v);
      if (v.value.trim() === '') {
        sink({ code: 'type', severity: 'error', span: v, message: `\`${key}\` needs a non-empty path` });
        return undefined;
      }
      return { kind: 'path', value: v.value };
    case 'int':
    case 'number':
      if (v.kind !== 'number' || (type.kind === 'int' && !Number.isInteger(v.value))) return typeError(sink, key, type, v);
      if (type.kind === 'int' && !checkNumber(sink, key, v.value, v, type.min, type.max)) return undefined;
      if (type.kind === 'number' && !checkNumber(sink, key, v.value, v, type.min, type.max, type.exclusiveMin, type.exclusiveMax)) return undefined;
      return { kind: 'number', value: v.value };
    case 'bool':
      if (v.kind === 'word' && (v.value === 'true' || v.value === 'false')) return { kind: 'bool', value: v.value === 'true' };
      if (v.kind === 'word' && (v.value === 'yes' || v.value === 'no' || v.value === 'on' || v.value === 'off')) {
        const fixed = v.value === 'yes' || v.value === 'on' ? 'true' : 'false';
        sink({
          code: 'type',
          severity: 'error',
          span: v,
          message: `\`${key}\` expects true or false; found ${v.value}`,
          fixes: [{ title: `Change to ${fixed}`, edit: { span: { start: v.start, end: v.end }, newText: fixed } }],
        });
        return undefined;
      }
      return typeError(sink, key, type, v);
    case 'enum':
      if (v.kind !== 'word') return v.kind === 'string' ? enumError(sink, key, type.values, v) : typeError(sink, key, type, v);
      if (!type.values.some((e) => e.name === v.value)) return enumError(sink, key, type.values, v);
      return { kind: 'enum', value: v.value };
    case 'ref': {
      if (v.kind === 'word') return { kind: 'ref', value: v.value, values: [v.value], items: [{ value: v.value, span: v }] };
      if (v.kind !== 'list' || type.many !== true) return typeError(sink, key, type, v);
      const items: Item<string>[] = [];
      for (const item of v.items) {
        if (item.kind !== 'word') return typeError(sink, key, type, item);
        items.push({ value: item.value, span: item });
      }
      const first = items[0];
      if (first === undefined) {
        sink({ code: 'type', severity: 'error', span: v, message: `\`${key}\` needs at least one \`${type.section}\` name` });
        return undefined;
      }
      const names = items.map((i) => i.value);
      const twice = names.find((n, i) => names.indexOf(n) !== i);
      if (twice !== undefined) {
        sink({ code: 'type', severity: 'error', span: v, message: `\`${key}\` names \`${twice}\` twice; list each ${type.section} section once` });
        return undefined;
      }
      return { kind: 'ref', value: first.value, values: names, items };
    }
    case 'layers': {
      if (v.kind === 'word' && v.value === 'all' && type.allowAll) return { kind: 'layers', value: 'all', items: [] };
      const items = lowerIntSet(sink, key, type, v, 0, undefined);
      return items === undefined ? undefined : { kind: 'layers', value: sortedUnique(items.map((i) => i.value)), items };
    }
    case 'offsets': {
      const items = lowerIntSet(sink, key, type, v, type.min, type.max);
      return items === undefined ? undefined : { kind: 'offsets', value: sortedUnique(items.map((i) => i.value)) };
    }
    case 'blocks': {
      if (v.kind === 'word' && v.value === 'all') return { kind: 'blocks', value: 'all', items: [] };
      const items: BlockItem[] = [];
      let ok = true;
      for (const item of itemsOf(v)) {
        if (item.kind !== 'word') {
          typeError(sink, key, type, item);
          ok = false;
          continue;
        }
        const r = lowerBlockWord(item.value, item);
        if (typeof r === 'string') {
          const guess = didYouMean(item.value, ALL_BLOCK_WORDS);
          sink({
            code: 'enum',
            severity: 'error',
            span: item,
            message: r,
            fixes: guess !== undefined ? [{ title: `Change to '${guess}'`, edit: { span: { start: item.start, end: item.end }, newText: guess } }] : undefined,
          });
          ok = false;
        } else items.push(r);
      }
      if (v.kind === 'list' && v.items.length === 0) {
        sink({ code: 'type', severity: 'error', span: v, message: `\`${key}\` needs at least one block (or \`all\`)` });
        return undefined;
      }
      if (!ok) return undefined;
      const set = new Set(items.flatMap((i) => i.value));
      return { kind: 'blocks', value: BLOCK_NAMES.filter((b) => set.has(b)), items };
    }
    case 'numbers': {
      const out: number[] = [];
      let ok = true;
      for (const item of itemsOf(v)) {
        if (item.kind !== 'number') {
          typeError(sink, key, type, item);
          ok = false;
        } else if (checkNumber(sink, key, item.value, item, type.min, type.max, false, type.exclusiveMax)) out.push(item.value);
        else ok = false;
      }
      if (ok && type.length !== undefined && out.length !== type.length) {
        sink({ code: 'type', severity: 'error', span: v, message: `\`${key}\` needs exactly ${type.length} numbers; found ${out.length}` });
        return undefined;
      }
      if (ok && out.length === 0) {
        sink({ code: 'type', severity: 'error', span: v, message: `\`${key}\` needs at least one number` });
        return undefined;
      }
      return ok ? { kind: 'numbers', value: out } : undefined;
    }
    case 'enums': {
      const out: string[] = [];
      let ok = true;
      for (const item of itemsOf(v)) {
        if (item.kind !== 'word' || !type.values.some((e) => e.name === item.value)) {
          enumError(sink, key, type.values, item);
          ok = false;
        } else if (!out.includes(item.value)) out.push(item.value);
      }
      return ok ? { kind: 'enums', value: out } : undefined;
    }
    case 'block':
      if (v.kind !== 'block') return typeError(sink, key, type, v);
      return { kind: 'block' };
  }
}

const defaultCache = new WeakMap<KeySpec, Lowered | null>();

/** The key's default, lowered; undefined when the key has no textual default. Throws nothing. */
export function loweredDefault(spec: KeySpec): Lowered | undefined {
  const cached = defaultCache.get(spec);
  if (cached !== undefined) return cached ?? undefined;
  let result: Lowered | undefined;
  if (spec.default !== undefined) {
    const entry = parse(`${spec.name} ${spec.default}\n`).entries[0];
    if (entry?.value !== undefined) result = lowerValue(spec, entry.value, () => undefined);
  }
  defaultCache.set(spec, result ?? null);
  return result;
}

/** Problems with the schema's own defaults (a test asserts there are none). */
export function checkDefault(spec: KeySpec): Diagnostic[] {
  const out: Diagnostic[] = [];
  if (spec.default === undefined) return out;
  const doc = parse(`${spec.name} ${spec.default}\n`);
  out.push(...doc.diagnostics);
  const entry = doc.entries[0];
  if (entry?.value === undefined) return out;
  lowerValue(spec, entry.value, (d) => out.push(d));
  return out;
}
