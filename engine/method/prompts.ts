/**
 * Contrastive prompts and anchored token positions (METHOD.md §4.1-4.3, fixing §11 item 9): positions are
 * found from a *marker* in the text (e.g. "Answer:") plus a token offset, never by counting from the end, so they
 * survive changes of tokenizer, template and label placement.
 */
import type { Tokenizer } from '../tokenizer';
import { parseTemplate } from '../../protocol/template';
import type { Pairing } from '../../protocol/contract';

/**
 * Replace {name} placeholders (protocol/template.ts); literal braces are {{ and }}. A brace that forms no
 * placeholder (`{persona Is ...`, a lone `}`) and an unknown placeholder are errors naming `where`, never
 * rendered literally.
 */
export function renderTemplate(template: string, vars: Record<string, string>, where = 'the template'): string {
  const parsed = parseTemplate(template);
  const bad = parsed.problems[0];
  if (bad !== undefined) {
    const more = parsed.problems.length > 1 ? ` (and ${parsed.problems.length - 1} more)` : '';
    throw new Error(
      `${where}: ${bad.message}, at character ${bad.start + 1} of ${JSON.stringify(template.slice(Math.max(0, bad.start - 20), bad.end + 20))}${more}`,
    );
  }
  let out = '';
  for (const part of parsed.parts) {
    if (part.kind === 'text') {
      out += part.text;
      continue;
    }
    const v = Object.prototype.hasOwnProperty.call(vars, part.name) ? vars[part.name] : undefined;
    if (v === undefined)
      throw new Error(
        `${where}: placeholder {${part.name}} has no value (known: ${Object.keys(vars)
          .map((k) => `{${k}}`)
          .join(', ')})`,
      );
    out += v;
  }
  return out;
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
  /** The row's option order when the prompt set names an `order_column`: `TF` = True first, `FT` = False first. */
  order?: 'TF' | 'FT';
}

/**
 * Parse a `statement,label` CSV (RFC 4180 quoting; rows may end in LF, CRLF or CR, and a line break inside a
 * quoted field is read as \n whichever it was; a leading byte-order mark is dropped); `columns` renames the two columns (the prompt set's
 * `text_column` and `label_column`). Errors name the file and line.
 */
export function parseStatementsCsv(source: string, file: string, columns: { text?: string; label?: string; order?: string } = {}): StatementRow[] {
  // A UTF-8 byte-order mark (spreadsheet exports write one) is not part of the first column's name.
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
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
      } else if (ch === '\r' || ch === '\n') {
        // A line break inside a quoted field: CRLF and lone CR become \n, as for the file's other text.
        if (ch === '\r' && text[i + 1] === '\n') i++;
        line++;
        field += '\n';
      } else field += ch;
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
  const textCol = columns.text ?? 'statement';
  const labelCol = columns.label ?? 'label';
  const si = header.indexOf(textCol.trim().toLowerCase());
  const li = header.indexOf(labelCol.trim().toLowerCase());
  if (si < 0 || li < 0)
    throw new Error(
      `${file}:1: the header must name the columns "${textCol}" and "${labelCol}" (found ${JSON.stringify(rows[0] ?? [])}); set text_column / label_column in the prompts section to use other names`,
    );
  const oi = columns.order !== undefined ? header.indexOf(columns.order.trim().toLowerCase()) : -1;
  if (columns.order !== undefined && oi < 0)
    throw new Error(
      `${file}:1: the header has no column "${columns.order}" (found ${JSON.stringify(rows[0] ?? [])}); set order_column in the prompts section to the column holding TF or FT`,
    );
  const out: StatementRow[] = [];
  for (let r = 1; r < rows.length; r++) {
    const cols = rows[r] as string[];
    if (cols.length === 1 && cols[0] === '') continue;
    const label = (cols[li] ?? '').trim();
    if (label !== '0' && label !== '1') {
      throw new Error(`${file}:${lineOf[r]}: label must be 1 (true) or 0 (false), found ${JSON.stringify(cols[li] ?? '')}`);
    }
    const row: StatementRow = { statement: cols[si] ?? '', truth: label === '1' };
    if (oi >= 0) {
      const order = (cols[oi] ?? '').trim();
      if (order !== 'TF' && order !== 'FT')
        throw new Error(
          `${file}:${lineOf[r]}: column "${columns.order}" must be TF (True shown first) or FT (False first), found ${JSON.stringify(cols[oi] ?? '')}; fix the row or remove order_column`,
        );
      row.order = order;
    }
    out.push(row);
  }
  if (out.length === 0) {
    throw new Error(`${file}: the file has a header but no statements; add one per line after the header (e.g. "Water is wet.,1")`);
  }
  return out;
}

/** How the two sides of a contrast set are built from the statements (METHOD.md §4.1). */
export type { Pairing } from '../../protocol/contract';

/** One side of a contrastive pair: which statement, which persona and which answer label it is rendered with. */
export interface ContrastSide {
  row: StatementRow;
  persona: 'positive' | 'negative';
  /** `true` = the set's true_label (what an honest model answers to a true statement), `false` = false_label. */
  label: 'true' | 'false';
}

export interface ContrastPair {
  positive: ContrastSide;
  negative: ContrastSide;
}

export interface ContrastSet {
  pairs: ContrastPair[];
  /** Statements left without a partner (unpaired and by_label match true with false statements one to one). */
  unmatched: number;
}

/**
 * The contrastive pairs of a statement list.
 * - `paired`: each statement on both sides; positive = (positive persona, the honest label), negative =
 *   (negative persona, the lying label). Honesty is confounded with the answer letter.
 * - `unpaired` (the research's `pair_statement=False`): true statements T and false statements F matched in file
 *   order; both sides share a label and differ in persona and statement. First half: (positive, T_i, true label)
 *   vs (negative, F_i, true label); second half: (positive, F_i, false label) vs (negative, T_i, false label).
 *   The honest persona tells the truth and the dishonest one lies on both sides of every pair, while the letter
 *   is the same, so the mean difference carries no A-vs-B component by construction.
 * - `by_label`: the contrast is carried by the text itself (e.g. happy vs sad story openings): positive = the
 *   i-th row labelled 1, negative = the i-th row labelled 0, each with its own persona and its own label.
 */
export function contrastPairs(rows: readonly StatementRow[], pairing: Pairing): ContrastSet {
  if (pairing === 'paired') {
    return {
      pairs: rows.map((row) => ({
        positive: { row, persona: 'positive', label: row.truth ? 'true' : 'false' },
        negative: { row, persona: 'negative', label: row.truth ? 'false' : 'true' },
      })),
      unmatched: 0,
    };
  }
  const T = rows.filter((r) => r.truth);
  const F = rows.filter((r) => !r.truth);
  const n = Math.min(T.length, F.length);
  const pairs: ContrastPair[] = [];
  if (pairing === 'unpaired') {
    for (let i = 0; i < n; i++) {
      pairs.push({
        positive: { row: T[i] as StatementRow, persona: 'positive', label: 'true' },
        negative: { row: F[i] as StatementRow, persona: 'negative', label: 'true' },
      });
    }
    for (let i = 0; i < n; i++) {
      pairs.push({
        positive: { row: F[i] as StatementRow, persona: 'positive', label: 'false' },
        negative: { row: T[i] as StatementRow, persona: 'negative', label: 'false' },
      });
    }
  } else {
    for (let i = 0; i < n; i++) {
      pairs.push({
        positive: { row: T[i] as StatementRow, persona: 'positive', label: 'true' },
        negative: { row: F[i] as StatementRow, persona: 'negative', label: 'false' },
      });
    }
  }
  return { pairs, unmatched: T.length + F.length - 2 * n };
}

const LABEL_SENTINEL = '\u0000rtune-label\u0000';

/**
 * The prompt that asks for the answer: the template rendered up to where `{label}` goes, trailing whitespace
 * removed (the label token carries its own leading space in SentencePiece and GPT-2 tokenizers). Throws when the
 * template has no `{label}`.
 */
export function promptBeforeLabel(template: string, vars: Record<string, string>, where = 'the template'): string {
  const text = renderTemplate(template, { ...vars, label: LABEL_SENTINEL }, where);
  const at = text.indexOf(LABEL_SENTINEL);
  if (at < 0) throw new Error(`${where} has no {label} placeholder, so there is no answer to check; remove correct_only or add {label} where the answer goes`);
  return text.slice(0, at).replace(/\s+$/, '');
}

/** Logits of the true-label and false-label tokens at the answer position of one side of a pair. */
export interface SideAnswer {
  logitTrue: number;
  logitFalse: number;
}

/**
 * The `coronly` filter (METHOD.md §4.2, §11 item 15): pair i is kept when *each* side, asked to answer directly,
 * prefers its own label (the larger of the two label logits; a tie keeps nothing). Returns one flag per pair.
 */
export function correctPairs(pairs: readonly ContrastPair[], pos: readonly SideAnswer[], neg: readonly SideAnswer[]): boolean[] {
  if (pos.length !== pairs.length || neg.length !== pairs.length)
    throw new Error(`correctPairs: ${pairs.length} pairs but ${pos.length} positive and ${neg.length} negative answers`);
  const says = (a: SideAnswer): 'true' | 'false' | 'tie' => (a.logitTrue > a.logitFalse ? 'true' : a.logitTrue < a.logitFalse ? 'false' : 'tie');
  return pairs.map((p, i) => says(pos[i] as SideAnswer) === p.positive.label && says(neg[i] as SideAnswer) === p.negative.label);
}
