/**
 * The head of a CSV file as the engine's statements reader sees it (engine/method/prompts.ts: RFC 4180 quoting,
 * LF, CRLF or CR line ends, a leading byte-order mark dropped): the header row's fields and whether a data row follows it. Pure, so the language
 * server and the checks before a run read a prompt set's columns from the same few kilobytes; the host reads
 * them (language/node-env.ts). Non-goals: no validation of data rows (labels are checked when the run reads them).
 */

export interface CsvHead {
  readonly columns: readonly string[];
  /** A data row (anything but an empty line) follows the header. */
  readonly hasRows: boolean;
}

/**
 * Reads the header row of `text` and looks for a data row after it. `complete` is false when `text` is only the
 * start of a longer file: a header that runs to the end of the text is then reported as it stands, and
 * anything after it counts as a data row.
 */
export function parseCsvHead(source: string, complete = true): CsvHead {
  const text = source.charCodeAt(0) === 0xfeff ? source.slice(1) : source;
  const columns: string[] = [];
  let field = '';
  let quoted = false;
  let i = 0;
  let ended = false;
  for (; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch === '\r' ? '\n' : ch;
    } else if (ch === '"' && field === '') quoted = true;
    else if (ch === ',') {
      columns.push(field);
      field = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      i++;
      ended = true;
      break;
    } else field += ch;
  }
  if (field !== '' || columns.length > 0 || ended) columns.push(field);
  if (!ended) return { columns, hasRows: false };
  // The reader skips rows that are one empty field (blank lines); anything else is a row.
  const rest = text.slice(i);
  const hasRows = rest.split(/\r\n|\r|\n/).some((line) => line !== '') || (!complete && rest.length > 0);
  return { columns, hasRows };
}
