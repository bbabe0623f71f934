/**
 * Formatting: re-indents by nesting depth (two spaces per `{` or `[`), normalises spacing between tokens on a
 * line (one space between a key and its value, two between entries sharing a line, `[a, b]`, `11..17`), keeps
 * trailing comments where they are, collapses runs of blank lines to one and ends the file with one newline.
 * It works token by token, so it also formats broken files and never changes what the lexer sees: formatting
 * is idempotent (a test checks it on every example and on mutated files). Non-goals: no line wrapping, no
 * reordering, no alignment of comments.
 */

import { Document } from '../ast';
import { Token } from '../lexer';

const INDENT = '  ';

/**
 * Spacing between two tokens on one line. `entryStart` says, from the line's tokens alone, whether the next word
 * starts an entry (after `{`, `;`, or a complete value) so entries sharing a line get two spaces. It must not
 * depend on the parse: re-indenting can change how a broken file parses, and the output must not.
 */
function spaceBetween(prev: Token, next: Token, entryStart: boolean, text: string): string {
  if (next.kind === 'comment') {
    const gap = text.slice(prev.end, next.start);
    return gap.length > 0 ? gap.replace(/[^\t ]/g, ' ') : ' ';
  }
  if (prev.kind === 'lbracket' || next.kind === 'rbracket' || next.kind === 'comma' || next.kind === 'semicolon') return '';
  if (next.kind === 'range') return prev.kind === 'number' ? '' : ' ';
  if (prev.kind === 'range') return next.kind === 'number' ? '' : ' ';
  if (entryStart && next.kind === 'word' && prev.kind !== 'lbrace' && prev.kind !== 'semicolon') return '  ';
  return ' ';
}

/** Formats one line's tokens (without indentation). */
function formatLine(line: readonly Token[], text: string): string {
  let out = '';
  // Whether the next word starts an entry (a key) or is a value; lists are values as a whole.
  let state: 'key' | 'value' = 'key';
  let listDepth = 0;
  for (let i = 0; i < line.length; i++) {
    const t = line[i];
    if (i === 0) out = t.text;
    else out += spaceBetween(line[i - 1], t, state === 'key' && listDepth === 0, text) + t.text;
    if (t.kind === 'comment' || t.kind === 'error') continue;
    if (t.kind === 'lbracket') listDepth++;
    else if (t.kind === 'rbracket' && listDepth > 0) {
      listDepth--;
      if (listDepth === 0) state = 'key';
      continue;
    }
    if (listDepth > 0) continue;
    if (t.kind === 'lbrace' || t.kind === 'rbrace' || t.kind === 'semicolon') state = 'key';
    else if (t.kind === 'range') state = 'value';
    else if (t.kind === 'word' && state === 'key') state = 'value';
    else if (t.kind === 'word' || t.kind === 'number' || t.kind === 'string') state = line[i + 1]?.kind === 'range' ? 'value' : 'key';
  }
  return out;
}

/** The formatted text of the document. */
export function formatDocument(doc: Document): string {
  const text = doc.text;
  const eol = /\r\n/.test(text.slice(0, text.search(/\n|$/) + 1)) ? '\r\n' : '\n';
  const lines: string[] = [];
  let depth = 0;
  let line: Token[] = [];
  const flush = (): void => {
    if (line.length === 0) {
      lines.push('');
      return;
    }
    let leadingClosers = 0;
    while (leadingClosers < line.length && (line[leadingClosers].kind === 'rbrace' || line[leadingClosers].kind === 'rbracket')) leadingClosers++;
    const indent = INDENT.repeat(Math.max(0, depth - (leadingClosers > 0 ? 1 : 0)));
    const out = indent + formatLine(line, text);
    for (const t of line) {
      if (t.kind === 'lbrace' || t.kind === 'lbracket') depth++;
      else if ((t.kind === 'rbrace' || t.kind === 'rbracket') && depth > 0) depth--;
    }
    lines.push(out.replace(/[ \t]+$/, ''));
    line = [];
  };
  for (const t of doc.tokens) {
    if (t.kind === 'eof') break;
    if (t.kind === 'newline') flush();
    else line.push(t);
  }
  if (line.length > 0) flush();
  const collapsed: string[] = [];
  for (const l of lines) {
    if (l === '' && (collapsed.length === 0 || collapsed[collapsed.length - 1] === '')) continue;
    collapsed.push(l);
  }
  while (collapsed.length > 0 && collapsed[collapsed.length - 1] === '') collapsed.pop();
  return collapsed.length === 0 ? '' : collapsed.join(eol) + eol;
}
