/**
 * The recovering `.rtune` parser: `parse(text) → Document` never throws, whatever the input. Errors become
 * `syntax` diagnostics with precise spans and the parser resynchronises at the next line (or the next section
 * keyword at column 0 when a block was left open), so one file can report several independent errors.
 * Non-goals: no knowledge of which keys exist or what values mean; the only schema knowledge it takes is the
 * list of top-level section keywords, used for recovery.
 *
 * Grammar (newlines end entries; `;` may too, and a key may follow a value on the same line; `#` starts a
 * comment):
 *   document := entry*
 *   entry    := WORD [label] '{' entry* '}'  |  WORD value
 *   label    := WORD | STRING
 *   value    := STRING | NUMBER | WORD | NUMBER '..' NUMBER | '[' (value (','|NEWLINE)*)* ']' | '{' entry* '}'
 */

import { BlockValue, Document, Entry, ListValue, NumberValue, Value } from './ast';
import { Token, TokenKind, lex } from './lexer';
import { Diagnostic, Span, span } from './text';

const MAX_DEPTH = 48;

export interface ParseOptions {
  /** Top-level section keywords: seeing one at column 0 inside an unclosed block closes that block. */
  readonly sectionKeywords?: ReadonlySet<string>;
}

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'the end of the file';
    case 'newline':
      return 'the end of the line';
    case 'string':
      return 'a string';
    default:
      return `'${t.text.length > 20 ? t.text.slice(0, 20) + '…' : t.text}'`;
  }
}

class Parser {
  private pos = 0;
  readonly diagnostics: Diagnostic[] = [];
  private readonly significant: Token[];

  constructor(
    private readonly text: string,
    tokens: readonly Token[],
    private readonly sectionKeywords: ReadonlySet<string>,
  ) {
    this.significant = tokens.filter((t) => t.kind !== 'comment');
  }

  private peek(ahead = 0): Token {
    const i = Math.min(this.pos + ahead, this.significant.length - 1);
    return this.significant[i];
  }

  private next(): Token {
    const t = this.peek();
    if (this.pos < this.significant.length - 1) this.pos++;
    return t;
  }

  private at(kind: TokenKind): boolean {
    return this.peek().kind === kind;
  }

  private error(s: Span, message: string): void {
    // One error per position is enough; recovery may otherwise report the same spot twice.
    const last = this.diagnostics[this.diagnostics.length - 1];
    if (last !== undefined && last.span.start === s.start && last.span.end === s.end) return;
    this.diagnostics.push({ code: 'syntax', severity: 'error', message, span: span(s.start, s.end) });
  }

  private atColumnZero(t: Token): boolean {
    return t.start === 0 || this.text[t.start - 1] === '\n' || this.text[t.start - 1] === '\r';
  }

  /** A section keyword at column 0 followed by `name {` or `{`: the start of a new top-level section. */
  private looksLikeSectionStart(): boolean {
    const t = this.peek();
    if (t.kind !== 'word' || !this.sectionKeywords.has(t.text) || !this.atColumnZero(t)) return false;
    const a = this.peek(1);
    if (a.kind === 'lbrace') return true;
    return (a.kind === 'word' || a.kind === 'string') && this.peek(2).kind === 'lbrace';
  }

  /** Skips the rest of the line, including whole bracketed or braced groups that start on it. */
  private skipLine(): void {
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return;
      if (depth === 0 && (t.kind === 'newline' || t.kind === 'semicolon' || t.kind === 'rbrace')) return;
      if (t.kind === 'lbrace' || t.kind === 'lbracket') depth++;
      if ((t.kind === 'rbrace' || t.kind === 'rbracket') && depth > 0) depth--;
      if (depth > 0 && this.looksLikeSectionStart()) return;
      this.next();
    }
  }

  parseEntries(depth: number): Entry[] {
    const entries: Entry[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'eof') return entries;
      if (t.kind === 'newline' || t.kind === 'semicolon') {
        this.next();
        continue;
      }
      if (t.kind === 'rbrace') {
        if (depth > 0) return entries;
        this.error(t, "unmatched '}'");
        this.next();
        continue;
      }
      if (depth > 0 && this.looksLikeSectionStart()) return entries;
      if (t.kind === 'word') {
        entries.push(this.parseEntry(depth));
        continue;
      }
      if (t.kind === 'error') this.error(t, `unexpected character ${describe(t)}`);
      else this.error(t, `expected a key, found ${describe(t)}`);
      this.next();
      this.skipLine();
    }
  }

  private parseEntry(depth: number): Entry {
    const key = this.next();
    let label: Token | undefined;
    const a = this.peek();
    if ((a.kind === 'word' || a.kind === 'string') && this.peek(1).kind === 'lbrace') {
      label = this.next();
    }
    if (this.at('error') && (this.peek().text === '=' || this.peek().text === ':')) {
      const sep = this.next();
      this.error(sep, `write \`${key.text} value\` without '${sep.text}'`);
    }
    const v = this.peek();
    if (v.kind === 'newline' || v.kind === 'semicolon' || v.kind === 'rbrace' || v.kind === 'eof') {
      this.error(key, `\`${key.text}\` needs a value`);
      return { kind: 'entry', key, label, value: undefined, start: key.start, end: (label ?? key).end };
    }
    const value = this.parseValue(depth);
    const end = value !== undefined ? value.end : (label ?? key).end;
    const after = this.peek();
    // Another key may follow on the same line: `projection_loss { weight 1  blocks [v, o] }`.
    if (after.kind === 'word' && value !== undefined) return { kind: 'entry', key, label, value, start: key.start, end };
    if (after.kind !== 'newline' && after.kind !== 'semicolon' && after.kind !== 'rbrace' && after.kind !== 'eof') {
      if (value !== undefined && !(depth > 0 && this.looksLikeSectionStart())) {
        this.error(
          span(after.start, after.end),
          `unexpected ${describe(after)} after the value of \`${key.text}\`: a key takes one value (use a list [a, b] for several)`,
        );
      }
      this.skipLine();
    }
    return { kind: 'entry', key, label, value, start: key.start, end };
  }

  private parseNumber(): NumberValue {
    const t = this.next();
    const value = Number(t.text);
    return { kind: 'number', token: t, value, isInteger: /^[+-]?\d+$/.test(t.text), start: t.start, end: t.end };
  }

  private parseValue(depth: number): Value | undefined {
    const t = this.peek();
    if (depth >= MAX_DEPTH && (t.kind === 'lbrace' || t.kind === 'lbracket')) {
      this.error(t, 'nested too deeply');
      this.skipLine();
      return undefined;
    }
    switch (t.kind) {
      case 'number': {
        const from = this.parseNumber();
        if (!this.at('range')) return from;
        const operator = this.next();
        if (this.at('number')) {
          const to = this.parseNumber();
          return { kind: 'range', from, to, operator, start: from.start, end: to.end };
        }
        this.error(operator, `a range needs an end: ${from.token.text}..N`);
        return { kind: 'range', from, to: undefined, operator, start: from.start, end: operator.end };
      }
      case 'range': {
        const operator = this.next();
        this.error(operator, 'a range needs a start: N..M');
        const to = this.at('number') ? this.parseNumber() : undefined;
        return { kind: 'range', from: undefined, to, operator, start: operator.start, end: to?.end ?? operator.end };
      }
      case 'string': {
        this.next();
        if (!t.terminated) this.error(t, 'unterminated string: add the closing "');
        for (const bad of t.badEscapes ?? []) this.error(bad, 'invalid escape: use \\n, \\t, \\r, \\", \\\\ or \\u{hex}');
        return { kind: 'string', token: t, value: t.value, start: t.start, end: t.end };
      }
      case 'word':
        this.next();
        return { kind: 'word', token: t, value: t.text, start: t.start, end: t.end };
      case 'lbracket':
        return this.parseList(depth);
      case 'lbrace':
        return this.parseBlock(depth);
      default:
        this.error(t, t.kind === 'error' ? `unexpected character ${describe(t)}` : `expected a value, found ${describe(t)}`);
        return undefined;
    }
  }

  private parseList(depth: number): ListValue {
    const open = this.next();
    const items: Value[] = [];
    for (;;) {
      const t = this.peek();
      if (t.kind === 'rbracket') {
        const close = this.next();
        return { kind: 'list', items, open, close, start: open.start, end: close.end };
      }
      if (t.kind === 'comma' || t.kind === 'newline') {
        this.next();
        continue;
      }
      if (t.kind === 'eof' || t.kind === 'rbrace' || t.kind === 'semicolon' || this.looksLikeSectionStart()) {
        this.error(open, "unclosed '[': add ']'");
        const last = items[items.length - 1];
        return { kind: 'list', items, open, close: undefined, start: open.start, end: last?.end ?? open.end };
      }
      const before = this.pos;
      const item = this.parseValue(depth + 1);
      if (item !== undefined) items.push(item);
      if (this.pos === before) this.next();
    }
  }

  private parseBlock(depth: number): BlockValue {
    const open = this.next();
    const entries = this.parseEntries(depth + 1);
    if (this.at('rbrace')) {
      const close = this.next();
      return { kind: 'block', entries, open, close, start: open.start, end: close.end };
    }
    this.error(open, "unclosed '{': add '}'");
    const last = entries[entries.length - 1];
    return { kind: 'block', entries, open, close: undefined, start: open.start, end: last?.end ?? open.end };
  }
}

/** Parses `.rtune` text. Never throws. */
export function parse(text: string, options: ParseOptions = {}): Document {
  const tokens = lex(text);
  const parser = new Parser(text, tokens, options.sectionKeywords ?? new Set());
  const entries = parser.parseEntries(0);
  return { text, tokens, entries, diagnostics: parser.diagnostics };
}
