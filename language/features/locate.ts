/**
 * Finds what is at an offset: the chain of enclosing entries and blocks, the token under the cursor, and
 * whether the cursor is where a key, a section name or a value belongs. Hover, completion and go to definition
 * all start here. Works on broken trees: an unclosed block extends to the next top-level entry or the end.
 * Non-goals: no schema lookups beyond turning entry chains into key paths.
 */

import { BlockValue, Document, Entry, ListValue, Value } from '../ast';
import { Token } from '../lexer';

/** A block the cursor is inside: the entry that opened it and the span of its body. */
export interface Enclosing {
  readonly entry: Entry;
  readonly block: BlockValue;
  readonly bodyStart: number;
  readonly bodyEnd: number;
}

export interface Location {
  /** Blocks around the offset, outermost first. Empty at the top level. */
  readonly blocks: readonly Enclosing[];
  /** Key path of the innermost block, e.g. ['tune', 'optimizer']; empty at the top level. */
  readonly path: readonly string[];
  /** The significant token containing or ending at the offset. */
  readonly token: Token | undefined;
  /** The significant token before the one being typed. */
  readonly previous: Token | undefined;
}

function blockEnd(block: BlockValue, next: number): number {
  return block.close !== undefined ? block.close.start : next;
}

/** Collects enclosing blocks, outermost first. */
function enclosing(entries: readonly Entry[], offset: number, limit: number): Enclosing[] {
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    if (e.value === undefined || e.value.kind !== 'block') continue;
    const next = i + 1 < entries.length ? entries[i + 1].start : limit;
    const bodyStart = e.value.open.end;
    const bodyEnd = blockEnd(e.value, next);
    if (offset >= bodyStart && offset <= bodyEnd) {
      return [{ entry: e, block: e.value, bodyStart, bodyEnd }, ...enclosing(e.value.entries, offset, bodyEnd)];
    }
  }
  return [];
}

/** Index of the last token starting before `offset` (binary search over the sorted token array). */
function lastTokenBefore(tokens: readonly Token[], offset: number): number {
  let lo = 0;
  let hi = tokens.length - 1;
  let best = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (tokens[mid].start < offset) {
      best = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return best;
}

export function locate(doc: Document, offset: number): Location {
  const blocks = enclosing(doc.entries, offset, doc.text.length);
  const tokens = doc.tokens;
  let i = lastTokenBefore(tokens, offset);
  while (i >= 0 && tokens[i].kind === 'comment' && tokens[i].end < offset) i--;
  let token: Token | undefined;
  if (i >= 0 && tokens[i].end >= offset && tokens[i].kind !== 'newline' && tokens[i].kind !== 'eof') token = tokens[i];
  let j = token !== undefined ? i - 1 : i;
  while (j >= 0 && tokens[j].kind === 'comment') j--;
  const previous = j >= 0 ? tokens[j] : undefined;
  return { blocks, path: blocks.map((b) => b.entry.key.text), token, previous };
}

/** The entries directly in the innermost block (or the file's top level). */
export function siblingEntries(doc: Document, loc: Location): readonly Entry[] {
  const inner = loc.blocks[loc.blocks.length - 1];
  return inner !== undefined ? inner.block.entries : doc.entries;
}

/** The entry among `entries` whose key token is `token`. */
export function entryWithKey(entries: readonly Entry[], token: Token): Entry | undefined {
  return entries.find((e) => e.key.start === token.start);
}

/** Depth-first search for the entry whose value (or a list item of it) contains `offset`. */
export function entryOfValueAt(entries: readonly Entry[], offset: number): { entry: Entry; item: Value | undefined; list: ListValue | undefined } | undefined {
  for (const e of entries) {
    const v = e.value;
    if (v === undefined) continue;
    if (v.kind === 'block') {
      const inner = entryOfValueAt(v.entries, offset);
      if (inner !== undefined) return inner;
      continue;
    }
    const listEnd = v.kind === 'list' && v.close === undefined ? Number.MAX_SAFE_INTEGER : v.end;
    if (offset < v.start || offset > listEnd) continue;
    if (v.kind === 'list') {
      const item = v.items.find((it) => offset >= it.start && offset <= it.end);
      return { entry: e, item, list: v };
    }
    return { entry: e, item: v, list: undefined };
  }
  return undefined;
}

/** The entry whose key, label or scalar value contains `offset`, searching every level. */
export function entryAt(entries: readonly Entry[], offset: number, parents: readonly Entry[] = []): { entry: Entry; parents: readonly Entry[] } | undefined {
  for (const e of entries) {
    if (e.value?.kind === 'block') {
      const inner = entryAt(e.value.entries, offset, [...parents, e]);
      if (inner !== undefined) return inner;
    }
    const keyOrLabelEnd = (e.label ?? e.key).end;
    const valueEnd = e.value !== undefined && e.value.kind !== 'block' ? e.value.end : keyOrLabelEnd;
    if (offset >= e.key.start && offset <= Math.max(keyOrLabelEnd, valueEnd)) return { entry: e, parents };
  }
  return undefined;
}
