/**
 * Resampling units of a perplexity comparison (the eval's `perplexity.bootstrap_unit`): the paired bootstrap of
 * the change resamples whole units, never single tokens, because per-token NLLs of one text are correlated.
 *  - windows: the non-overlapping scored spans of the strided windows (PerplexityOutcome.windowTokens);
 *  - documents: the text's documents. A document is a run of lines between blank lines (a blank line holds only
 *    whitespace, as WikiText's " " separators do); a text without any blank line is read as one document per
 *    non-empty line (a JSONL-like or one-story-per-line file). The separator whitespace before a document belongs
 *    to it, so the pieces concatenate back to the text exactly.
 * Documents are tokenized one by one (one BOS at the start, as for the whole text) so every token lies inside one
 * document; `encodeDocuments` says whether that equals the whole-text tokenization (it does for byte-level BPE,
 * whose pre-tokenizer never joins a visible character to the whitespace after it). Scored tokens are then grouped
 * into runs of the same document (`unitSegments`), the segments the bootstrap resamples.
 *
 * Non-goals: section-level documents (WikiText article titles), sentence units.
 */

import type { Window } from './perplexity';

export interface DocumentPieces {
  /** The documents, each with the whitespace that precedes it; their concatenation is the text. */
  pieces: string[];
  /** How documents were found. */
  split: 'blank-lines' | 'lines';
}

/** Splits `text` into documents (see the file header). A text of whitespace only is one piece. */
export function splitDocuments(text: string): DocumentPieces {
  const lines = text.split('\n');
  const blank = (l: string) => l.trim().length === 0;
  // A blank line between two non-blank ones separates documents.
  let hasBlank = false;
  let seen = false;
  for (const l of lines) {
    if (!blank(l)) seen = true;
    else if (seen) {
      hasBlank = true;
      break;
    }
  }
  const pieces: string[] = [];
  let cur = '';
  let prevBlank = true;
  let curHasText = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i] as string;
    const line = i < lines.length - 1 ? `${l}\n` : l;
    const starts = !blank(l) && curHasText && (hasBlank ? prevBlank : true);
    if (starts) {
      // The document ends after its last visible character; the line break and blank lines go to the next one.
      const end = cur.replace(/\s+$/, '');
      pieces.push(end);
      cur = cur.slice(end.length);
      curHasText = false;
    }
    cur += line;
    if (!blank(l)) curHasText = true;
    prevBlank = blank(l);
  }
  pieces.push(cur);
  return { pieces: pieces.filter((p, i) => p.length > 0 || i === 0), split: hasBlank ? 'blank-lines' : 'lines' };
}

export interface EncodedDocuments {
  ids: number[];
  /** Token index where each document starts (the first is 0: the BOS belongs to the first document). */
  starts: number[];
  split: DocumentPieces['split'];
  /** Whether `ids` equals the tokenization of the whole text. */
  aligned: boolean;
}

interface Encoder {
  encode(text: string, opts?: { addBos?: boolean }): number[];
}

/** Tokenizes the documents of `text` one by one (only the first may get a BOS) and compares with the whole-text ids. */
export function encodeDocuments(tok: Encoder, text: string): EncodedDocuments {
  const { pieces, split } = splitDocuments(text);
  const ids: number[] = [];
  const starts: number[] = [];
  pieces.forEach((p, i) => {
    starts.push(ids.length);
    const part = i === 0 ? tok.encode(p) : tok.encode(p, { addBos: false });
    for (const t of part) ids.push(t);
  });
  const whole = tok.encode(text);
  const aligned = whole.length === ids.length && whole.every((t, i) => t === ids[i]);
  return { ids, starts, split, aligned };
}

/**
 * Lengths of the consecutive runs of scored tokens (in the order `perplexity` returns their NLLs) that share a
 * unit: one run per window for `starts` undefined, else one per document (`starts`: first token index of each
 * document, ascending). Units without a scored token are left out. The lengths sum to the scored tokens.
 */
export function unitSegments(windows: readonly Window[], starts?: readonly number[]): number[] {
  if (starts === undefined) return windows.map((w) => w.end - w.scoreFrom).filter((n) => n > 0);
  const out: number[] = [];
  let doc = -1;
  let d = 0;
  for (const w of windows) {
    for (let p = w.scoreFrom; p < w.end; p++) {
      while (d + 1 < starts.length && (starts[d + 1] as number) <= p) d++;
      if (d !== doc || out.length === 0) {
        out.push(0);
        doc = d;
      }
      out[out.length - 1] = (out[out.length - 1] as number) + 1;
    }
  }
  return out;
}
