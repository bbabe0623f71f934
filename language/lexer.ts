/**
 * The `.rtune` lexer: turns text into a flat token array that covers every character (whitespace excepted), so
 * the parser, the formatter and the features can all work from the same tokens. It never throws: characters it
 * does not understand become `error` tokens and unterminated strings are closed at the end of their line.
 * Non-goals: no knowledge of keys or sections (that is the schema's job), no multi-line strings.
 *
 * Tokens: words (`tune`, `pca-diff`, `attn.c_attn`, `builtin:demo`, `../data/x.csv`), numbers (`3`, `-21`,
 * `1e-5`, `0.9`), double-quoted strings with escapes (\n \t \r \" \\ \u{...}), `{ } [ ] , ;`, the range operator
 * `..`, comments (`#` to end of line) and newlines.
 */

import { Span } from './text';

export type TokenKind =
  | 'word'
  | 'number'
  | 'string'
  | 'lbrace'
  | 'rbrace'
  | 'lbracket'
  | 'rbracket'
  | 'comma'
  | 'semicolon'
  | 'range'
  | 'comment'
  | 'newline'
  | 'error'
  | 'eof';

export interface Token extends Span {
  readonly kind: TokenKind;
  /** The source text of the token. */
  readonly text: string;
  /** For strings: the unescaped value. For numbers: the text. */
  readonly value: string;
  /** Strings: false when the closing quote is missing. */
  readonly terminated: boolean;
  /** Strings: spans of invalid escape sequences. */
  readonly badEscapes?: readonly Span[];
}

const PUNCTUATION: ReadonlyMap<string, TokenKind> = new Map<string, TokenKind>([
  ['{', 'lbrace'],
  ['}', 'rbrace'],
  ['[', 'lbracket'],
  [']', 'rbracket'],
  [',', 'comma'],
  [';', 'semicolon'],
]);

const NUMBER = /[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function isAsciiLetter(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122);
}

function isWordStart(c: string): boolean {
  const code = c.charCodeAt(0);
  if (code < 128) return isAsciiLetter(code) || c === '_' || c === '/' || c === '~' || c === '$';
  return /\p{L}/u.test(c);
}

function isWordChar(c: string): boolean {
  const code = c.charCodeAt(0);
  if (code < 128) return isAsciiLetter(code) || (code >= 48 && code <= 57) || '_-./:~+@$'.includes(c);
  return /[\p{L}\p{N}]/u.test(c);
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/** Reads a word starting at `i`. */
function wordEnd(text: string, i: number): number {
  let j = i;
  while (j < text.length && isWordChar(text[j])) {
    // `..` ends a word (`a..b` is a range) unless it is a path segment (`a/../b`).
    if (text[j] === '.' && text[j + 1] === '.' && j > i && text[j + 2] !== '/') break;
    j++;
  }
  return j;
}

/**
 * Reads a string token at `start`. When `map` is given, it receives for each UTF-16 unit of the value the offset
 * of the source text that produced it (an escape maps all its units to the backslash), then the offset where
 * the content ends, so spans in the value can be mapped back to the source.
 */
function readString(text: string, start: number, map?: number[]): Token {
  let i = start + 1;
  let value = '';
  const badEscapes: Span[] = [];
  let terminated = false;
  const add = (s: string, from: number): void => {
    value += s;
    if (map !== undefined) for (let k = 0; k < s.length; k++) map.push(from);
  };
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      terminated = true;
      i++;
      break;
    }
    if (c === '\n' || c === '\r') break;
    if (c === '\\') {
      const n = text[i + 1];
      if (n === 'n') add('\n', i);
      else if (n === 't') add('\t', i);
      else if (n === 'r') add('\r', i);
      else if (n === '"') add('"', i);
      else if (n === '\\') add('\\', i);
      else if (n === 'u' && text[i + 2] === '{') {
        const close = text.indexOf('}', i + 3);
        const hex = close > 0 ? text.slice(i + 3, close) : '';
        const code = /^[0-9a-fA-F]{1,6}$/.test(hex) ? parseInt(hex, 16) : NaN;
        if (close > 0 && code <= 0x10ffff) {
          add(String.fromCodePoint(code), i);
          i = close + 1;
          continue;
        }
        badEscapes.push({ start: i, end: Math.min(text.length, i + 2) });
      } else {
        badEscapes.push({ start: i, end: Math.min(text.length, i + 2) });
        if (n !== undefined && n !== '\n' && n !== '\r') add(n, i);
      }
      i += n === undefined || n === '\n' || n === '\r' ? 1 : 2;
      continue;
    }
    add(c, i);
    i++;
  }
  map?.push(terminated ? i - 1 : i);
  return { kind: 'string', start, end: i, text: text.slice(start, i), value, terminated, badEscapes };
}

/**
 * For a string token's source text (quotes included): the offset within it of the source of each UTF-16 unit
 * of the decoded value, plus one final entry where the content ends. Maps diagnostics about the value (e.g. a
 * template's braces) back to the characters the user wrote.
 */
export function stringSourceOffsets(tokenText: string): number[] {
  const map: number[] = [];
  readString(tokenText, 0, map);
  return map;
}

function simple(kind: TokenKind, text: string, start: number, end: number): Token {
  const t = text.slice(start, end);
  return { kind, start, end, text: t, value: t, terminated: true };
}

/** Splits `text` into tokens. The last token is always `eof`. */
export function lex(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === ' ' || c === '\t' || c === '\f' || c === '\v' || c === '\ufeff') {
      i++;
      continue;
    }
    if (c === '\n' || c === '\r') {
      const end = c === '\r' && text[i + 1] === '\n' ? i + 2 : i + 1;
      tokens.push(simple('newline', text, i, end));
      i = end;
      continue;
    }
    if (c === '#') {
      let j = i;
      while (j < text.length && text[j] !== '\n' && text[j] !== '\r') j++;
      tokens.push(simple('comment', text, i, j));
      i = j;
      continue;
    }
    if (c === '"') {
      const t = readString(text, i);
      tokens.push(t);
      i = t.end;
      continue;
    }
    const pk = PUNCTUATION.get(c);
    if (pk !== undefined) {
      tokens.push(simple(pk, text, i, i + 1));
      i++;
      continue;
    }
    // `..` is the range operator unless it starts a relative path (`../data`). This must not depend on anything
    // the formatter may change (such as a space after it), or formatting would not be idempotent.
    if (c === '.' && text[i + 1] === '.' && text[i + 2] !== '/') {
      tokens.push(simple('range', text, i, i + 2));
      i += 2;
      continue;
    }
    if (isDigit(c) || ((c === '-' || c === '+') && isDigit(text[i + 1]))) {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      const numEnd = m === null ? i + 1 : i + m[0].length;
      const next = text[numEnd];
      const rangeFollows = next === '.' && text[numEnd + 1] === '.';
      if (next === undefined || rangeFollows || !isWordChar(next)) {
        tokens.push(simple('number', text, i, numEnd));
        i = numEnd;
      } else {
        // `12abc`, `1.2.3`: not a number; keep it whole so the error names the real text.
        const end = wordEnd(text, numEnd);
        tokens.push(simple('word', text, i, end));
        i = end;
      }
      continue;
    }
    if (isWordStart(c) || (c === '.' && text[i + 1] !== undefined && /[./\\A-Za-z_]/.test(text[i + 1]))) {
      const end = wordEnd(text, i + 1);
      tokens.push(simple('word', text, i, end));
      i = end;
      continue;
    }
    // Anything else is one error token (a whole surrogate pair counts as one character).
    const code = text.codePointAt(i) ?? 0;
    const width = code > 0xffff ? 2 : 1;
    tokens.push(simple('error', text, i, i + width));
    i += width;
  }
  tokens.push(simple('eof', text, text.length, text.length));
  return tokens;
}
