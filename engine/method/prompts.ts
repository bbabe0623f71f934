/**
 * Contrastive prompts and anchored token positions (METHOD.md §4.1-4.3, fixing §11 item 9): positions are
 * found from a *marker* in the text (e.g. "Answer:") plus a token offset, never by counting from the end, so they
 * survive changes of tokenizer, template and label placement.
 */
import type { Tokenizer } from '../tokenizer';

/** Replace {name} placeholders; an unknown placeholder is an error naming it. Literal braces: {{ and }}. */
export function renderTemplate(template: string, vars: Record<string, string>): string {
  return template.replace(/\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string | undefined) => {
    if (m === '{{') return '{';
    if (m === '}}') return '}';
    const v = name !== undefined ? vars[name] : undefined;
    if (v === undefined) throw new Error(`template placeholder {${name}} has no value (known: ${Object.keys(vars).map((k) => `{${k}}`).join(', ')})`);
    return v;
  });
}

export interface Anchored {
  ids: number[];
  /** Token index of the last token of the marker, plus the offset. */
  position: number;
}

/**
 * Encode `text` and locate the token that ends the last occurrence of `marker`, shifted by `offset` tokens
 * (negative = earlier). Throws when the marker is absent or the position falls outside the text.
 */
export function anchor(tokenizer: Tokenizer, text: string, marker: string, offset = 0): Anchored {
  const at = text.lastIndexOf(marker);
  if (at < 0) throw new Error(`anchor marker ${JSON.stringify(marker)} does not occur in the prompt ${JSON.stringify(text.slice(0, 80))}…`);
  const end = at + marker.length;
  const ids = tokenizer.encode(text);
  const prefix = tokenizer.encode(text.slice(0, end));
  let last: number;
  if (prefix.length <= ids.length && prefix.every((x, i) => ids[i] === x)) {
    last = prefix.length - 1;
  } else {
    // The marker's last token merged with what follows: take the first token whose decoded prefix covers the marker.
    const target = tokenizer.decode(prefix).length;
    last = ids.findIndex((_, i) => tokenizer.decode(ids.slice(0, i + 1)).length >= target);
    if (last < 0) last = ids.length - 1;
  }
  const position = last + offset;
  if (position < 0 || position >= ids.length) {
    throw new Error(`anchor ${JSON.stringify(marker)} ${offset >= 0 ? '+' : ''}${offset} is token ${position}, outside the prompt's ${ids.length} tokens`);
  }
  return { ids, position };
}

/** A row of a statements CSV (statement, label) with label 1 = true, 0 = false. */
export interface StatementRow {
  statement: string;
  truth: boolean;
}

/** Parse a `statement,label` CSV (RFC 4180 quoting). Errors name the file and line. */
export function parseStatementsCsv(text: string, file: string): StatementRow[] {
  const rows: string[][] = [];
  let field = '';
  let row: string[] = [];
  let quoted = false;
  let line = 1;
  const lineOf: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (ch === '\n') line++;
        field += ch;
      }
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      lineOf.push(line);
      line++;
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    rows.push(row);
    lineOf.push(line);
  }
  const header = rows[0]?.map((h) => h.trim().toLowerCase()) ?? [];
  const si = header.indexOf('statement');
  const li = header.indexOf('label');
  if (si < 0 || li < 0) throw new Error(`${file}:1: the header must name the columns "statement" and "label" (found ${JSON.stringify(rows[0] ?? [])})`);
  const out: StatementRow[] = [];
  for (let r = 1; r < rows.length; r++) {
    const cols = rows[r] as string[];
    if (cols.length === 1 && cols[0] === '') continue;
    const label = (cols[li] ?? '').trim();
    if (label !== '0' && label !== '1') {
      throw new Error(`${file}:${lineOf[r]}: label must be 1 (true) or 0 (false), found ${JSON.stringify(cols[li] ?? '')}`);
    }
    out.push({ statement: cols[si] ?? '', truth: label === '1' });
  }
  return out;
}
