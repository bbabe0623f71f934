/**
 * The `.rtune` syntax tree: a value type with exact offset spans, produced by parser.ts and read by lowering and
 * every editor feature. One node shape covers sections, nested blocks and plain settings: an `Entry` is a key,
 * an optional label (the section name in `tune honest { ... }`) and a value. The tree may be incomplete (missing
 * values, unclosed blocks); consumers check for `undefined`. Non-goals: no meaning (that is schema.ts and
 * lower.ts), no mutation after parsing.
 */

import { Token } from './lexer';
import { Diagnostic, Span } from './text';

export interface StringValue extends Span {
  readonly kind: 'string';
  readonly token: Token;
  readonly value: string;
}

export interface NumberValue extends Span {
  readonly kind: 'number';
  readonly token: Token;
  readonly value: number;
  readonly isInteger: boolean;
}

/** A bare word: booleans, enum values, references, block names, `builtin:demo`, unquoted paths. */
export interface WordValue extends Span {
  readonly kind: 'word';
  readonly token: Token;
  readonly value: string;
}

/** `from..to`, inclusive at both ends. Either side may be missing in broken text. */
export interface RangeValue extends Span {
  readonly kind: 'range';
  readonly from: NumberValue | undefined;
  readonly to: NumberValue | undefined;
  readonly operator: Token;
}

export interface ListValue extends Span {
  readonly kind: 'list';
  readonly items: readonly Value[];
  readonly open: Token;
  readonly close: Token | undefined;
}

export interface BlockValue extends Span {
  readonly kind: 'block';
  readonly entries: readonly Entry[];
  readonly open: Token;
  readonly close: Token | undefined;
}

export type ScalarValue = StringValue | NumberValue | WordValue;
export type Value = ScalarValue | RangeValue | ListValue | BlockValue;

/** `key value`, `key { ... }` or `key label { ... }`. */
export interface Entry extends Span {
  readonly kind: 'entry';
  readonly key: Token;
  readonly label: Token | undefined;
  readonly value: Value | undefined;
}

export interface Document {
  readonly text: string;
  readonly tokens: readonly Token[];
  readonly entries: readonly Entry[];
  /** Syntax errors only; meaning is checked by lower(). */
  readonly diagnostics: readonly Diagnostic[];
}

/** The label text of an entry: the section name (strings lose their quotes). */
export function labelText(entry: Entry): string | undefined {
  if (entry.label === undefined) return undefined;
  return entry.label.kind === 'string' ? entry.label.value : entry.label.text;
}

/** Calls `visit` for every entry, depth first, with the chain of enclosing entries. */
export function walkEntries(entries: readonly Entry[], visit: (entry: Entry, parents: readonly Entry[]) => void, parents: readonly Entry[] = []): void {
  for (const e of entries) {
    visit(e, parents);
    if (e.value !== undefined && e.value.kind === 'block') walkEntries(e.value.entries, visit, [...parents, e]);
  }
}
