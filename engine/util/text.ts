/**
 * Reading text data (perplexity text, and anything else scored as text) the way Python's text mode does:
 * `\r\n` and a lone `\r` become `\n` by default, so a file saved with Windows line endings tokenizes like its
 * LF copy instead of carrying `\r` bytes into the token stream. `raw` keeps the bytes as they are. Every caller
 * (the runner's eval section, `rtune perplexity`) reads through `readText`, and reports what it did.
 */
import * as fs from 'node:fs';
import type { NewlineMode, NewlineReport } from '../../protocol/job';
import { describeError } from '../../common/fs';

export type { NewlineMode, NewlineReport } from '../../protocol/job';

export { NEWLINE_MODES } from '../../protocol/contract';

export interface TextData {
  readonly text: string;
  readonly newlines: NewlineReport;
}

/** Counts CRLF pairs and lone CRs in `text` and, in `lf` mode, replaces each with `\n`. */
export function normaliseNewlines(text: string, mode: NewlineMode = 'lf'): TextData {
  let crlf = 0;
  let cr = 0;
  for (let i = text.indexOf('\r'); i >= 0; i = text.indexOf('\r', i + 1)) {
    if (text.charCodeAt(i + 1) === 10) crlf++;
    else cr++;
  }
  const out = mode === 'lf' && crlf + cr > 0 ? text.replace(/\r\n?/g, '\n') : text;
  return { text: out, newlines: { mode, crlf, cr } };
}

/** Reads a UTF-8 text file with `normaliseNewlines`; the error names the file when it cannot be read. */
export function readText(file: string, mode: NewlineMode = 'lf'): TextData {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read the text file (${describeError(err)}). Check the path.`);
  }
  return normaliseNewlines(text, mode);
}

/** One log line saying what was done with carriage returns, or undefined when the text had none. */
export function newlineNote(report: NewlineReport, file: string): string | undefined {
  if (report.crlf + report.cr === 0) return undefined;
  const found = [report.crlf > 0 ? `${report.crlf} CRLF` : '', report.cr > 0 ? `${report.cr} lone CR` : ''].filter((x) => x !== '').join(' and ');
  return report.mode === 'lf'
    ? `${file}: read ${found} line ending(s) as LF (newlines raw keeps the \\r bytes)`
    : `${file}: kept ${found} line ending(s) as raw bytes (newlines raw); the \\r characters are tokenized`;
}
