/**
 * Small shared vocabulary of the `.rtune` core: offset spans, diagnostics with stable codes, line lookup and
 * "did you mean" suggestions. Everything in language/ speaks in UTF-16 offsets into the document text; only the
 * server converts them to LSP line/character positions. Non-goals: no LSP types, no I/O.
 */

/** A half-open range of UTF-16 offsets into the document, `start <= end`. */
export interface Span {
  readonly start: number;
  readonly end: number;
}

export type Severity = 'error' | 'warning' | 'info' | 'hint';

/**
 * Stable diagnostic codes. Tests cover every one; the client may key quick fixes on them.
 * - `syntax`: the text does not parse (the parser recovers and keeps going).
 * - `unknown-section`, `unknown-key`: a name the schema does not know (with "did you mean").
 * - `duplicate-key`, `duplicate-section`: the same key twice in a block, or two sections of one kind and name.
 * - `missing-key`: a required key is absent.
 * - `type`: a value of the wrong type (a string where a number belongs, a list where one value belongs...).
 * - `range`: a number outside its allowed range, or a range written backwards (`17..11`).
 * - `enum`: a word that is not one of the allowed values.
 * - `unresolved-ref`: a reference to a section that does not exist.
 * - `rule`: a cross-field rule (stride <= max_length, flip only with a direction, ...).
 * - `layer-depth`: a layer index beyond the model's depth.
 * - `block-arch`: a parameter block the model's architecture does not have.
 * - `missing-file`: a data file that does not exist (the message gives the resolved path).
 * - `model`: the model path exists but cannot be read or is an unsupported architecture.
 * - `preflight`: a check before compute failed (preflight.ts): an output that cannot be created, a CSV without
 *   the named columns or rows, empty data, a missing or unreadable model or tokenizer.
 */
export type DiagnosticCode =
  | 'syntax'
  | 'unknown-section'
  | 'unknown-key'
  | 'duplicate-key'
  | 'duplicate-section'
  | 'missing-key'
  | 'type'
  | 'range'
  | 'enum'
  | 'unresolved-ref'
  | 'rule'
  | 'layer-depth'
  | 'block-arch'
  | 'missing-file'
  | 'model'
  | 'preflight';

/** A replacement that fixes a diagnostic (offered as a quick fix). */
export interface TextEdit {
  readonly span: Span;
  readonly newText: string;
}

export interface Diagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly span: Span;
  /** Quick fixes, e.g. the "did you mean" replacement. */
  readonly fixes?: readonly { readonly title: string; readonly edit: TextEdit }[];
}

export function span(start: number, end: number): Span {
  return { start, end: Math.max(start, end) };
}

export function cover(a: Span, b: Span): Span {
  return { start: Math.min(a.start, b.start), end: Math.max(a.end, b.end) };
}

export function contains(s: Span, offset: number): boolean {
  return offset >= s.start && offset <= s.end;
}

/** Offsets of the first character of every line (line 0 starts at 0). */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 10) starts.push(i + 1);
    else if (c === 13) {
      if (text.charCodeAt(i + 1) === 10) i++;
      starts.push(i + 1);
    }
  }
  return starts;
}

/** Damerau-Levenshtein (optimal string alignment) distance, case-insensitive. */
export function editDistance(a: string, b: string): number {
  const s = a.toLowerCase();
  const t = b.toLowerCase();
  const rows = s.length + 1;
  const cols = t.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = s[i - 1] === t[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j] + 1, d[i * cols + j - 1] + 1, d[(i - 1) * cols + j - 1] + cost);
      if (i > 1 && j > 1 && s[i - 1] === t[j - 2] && s[i - 2] === t[j - 1]) {
        best = Math.min(best, d[(i - 2) * cols + j - 2] + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1];
}

/** The closest candidate to `word`, if it is close enough to be a plausible typo. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const limit = Math.max(1, Math.floor(word.length / 3));
  for (const c of candidates) {
    if (c === word) continue;
    const dist = editDistance(word, c);
    const prefix = c.length > 3 && word.length >= 3 && (c.startsWith(word) || word.startsWith(c));
    const score = prefix ? Math.min(dist, limit) : dist;
    if (score <= limit && score < bestDistance) {
      best = c;
      bestDistance = score;
    }
  }
  return best;
}

/** Joins words as "a, b or c". */
export function humanList(words: readonly string[], conjunction = 'or'): string {
  if (words.length <= 1) return words.join('');
  return `${words.slice(0, -1).join(', ')} ${conjunction} ${words[words.length - 1]}`;
}
