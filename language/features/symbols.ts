/**
 * Document symbols (the outline) and folding ranges. Sections are top-level symbols named `kind name`, nested
 * blocks are their children, and plain keys are leaves showing their value. Folding covers multi-line blocks,
 * multi-line lists and runs of two or more comment lines. Pure; spans are offsets, folding uses line numbers.
 * Non-goals: no symbol kinds of LSP (the server maps them).
 */

import { Document, Entry } from '../ast';
import { isSectionKind } from '../schema';
import { Span, lineStarts, span } from '../text';

export interface OutlineSymbol {
  readonly name: string;
  readonly detail: string;
  readonly kind: 'section' | 'block' | 'key';
  readonly span: Span;
  readonly selection: Span;
  readonly children: readonly OutlineSymbol[];
}

function valueText(doc: Document, e: Entry): string {
  if (e.value === undefined || e.value.kind === 'block') return '';
  const t = doc.text.slice(e.value.start, e.value.end).replace(/\s+/g, ' ');
  return t.length > 40 ? `${t.slice(0, 40)}…` : t;
}

function symbolOf(doc: Document, e: Entry, top: boolean): OutlineSymbol {
  const selection = span(e.key.start, (e.label ?? e.key).end);
  const whole = span(e.start, Math.max(e.end, selection.end));
  if (e.value !== undefined && e.value.kind === 'block') {
    const isSection = top && isSectionKind(e.key.text);
    return {
      name: isSection && e.label !== undefined ? `${e.key.text} ${e.label.kind === 'string' ? e.label.value : e.label.text}` : e.key.text,
      detail: isSection ? `${e.key.text} section` : '',
      kind: isSection ? 'section' : 'block',
      span: whole,
      selection,
      children: e.value.entries.map((c) => symbolOf(doc, c, false)),
    };
  }
  return { name: e.key.text, detail: valueText(doc, e), kind: 'key', span: whole, selection, children: [] };
}

export function outline(doc: Document): OutlineSymbol[] {
  return doc.entries.map((e) => symbolOf(doc, e, true));
}

export interface FoldingRange {
  readonly startLine: number;
  readonly endLine: number;
  readonly kind: 'region' | 'comment';
}

function lineOf(starts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

export function foldingRanges(doc: Document): FoldingRange[] {
  const starts = lineStarts(doc.text);
  const out: FoldingRange[] = [];
  const visit = (entries: readonly Entry[]): void => {
    for (const e of entries) {
      const v = e.value;
      if (v === undefined || (v.kind !== 'block' && v.kind !== 'list')) continue;
      const startLine = lineOf(starts, e.key.start);
      const end = v.close !== undefined ? v.close.start : v.end;
      // Keep the closing bracket visible: fold up to the line before it when it starts its own line.
      const closeLine = lineOf(starts, end);
      const endLine = v.close !== undefined && closeLine > startLine ? closeLine - 1 : closeLine;
      if (endLine > startLine) out.push({ startLine, endLine, kind: 'region' });
      if (v.kind === 'block') visit(v.entries);
    }
  };
  visit(doc.entries);
  let runStart = -1;
  let runEnd = -1;
  for (const t of doc.tokens) {
    if (t.kind !== 'comment') continue;
    const line = lineOf(starts, t.start);
    const ownLine = doc.text.slice(starts[line], t.start).trim() === '';
    if (!ownLine) continue;
    if (line === runEnd + 1 && runStart >= 0) runEnd = line;
    else {
      if (runEnd > runStart) out.push({ startLine: runStart, endLine: runEnd, kind: 'comment' });
      runStart = line;
      runEnd = line;
    }
  }
  if (runEnd > runStart) out.push({ startLine: runStart, endLine: runEnd, kind: 'comment' });
  return out;
}
