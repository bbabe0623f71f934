/**
 * A word lexicon score of generated text (an eval's `generate { score { lexicon FILE } }`): each word of the text
 * that the lexicon lists adds the lexicon's weight (a mood lexicon: happy words +1, sad words −1), and the score of
 * a text is the sum over its words. Pure functions over strings.
 *
 * Words: the text is case-folded (`toLowerCase`), and a word is a maximal run of letters, digits and apostrophes
 * (`'` or `’`, read as `'`) with apostrophes at its ends dropped, so "Happy!" is `happy`, "didn't" is `didn't` and
 * "Lily's" is `lily's` (not `lily`). A lexicon entry matches whole words only: `sad` does not match "sadly".
 *
 * Lexicon file: one entry per line, `WORD WEIGHT` (a word as above, a finite number: `happy 1`, `sad -1`); blank
 * lines and `#` comments are skipped. A malformed line, or a word listed twice, is an error naming the file and line.
 *
 * Non-goals: stemming, phrases, negation ("not happy" scores +1), weighting by length (the sum is not a mean).
 */

export type Lexicon = ReadonlyMap<string, number>;

/** A lexicon file that cannot be read or parsed: bad input (the message names the file, the line and the fix). */
export class LexiconError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LexiconError';
  }
}

/** The words of `text`, case-folded, in order (see the file header). */
export function lexiconWords(text: string): string[] {
  const out: string[] = [];
  for (const m of text
    .toLowerCase()
    .replace(/’/g, "'")
    .matchAll(/[\p{L}\p{N}']+/gu)) {
    const w = m[0].replace(/^'+|'+$/g, '');
    if (w.length > 0) out.push(w);
  }
  return out;
}

/** Parse a lexicon file's text; `file` names it in errors. */
export function parseLexicon(text: string, file: string): Lexicon {
  const out = new Map<string, number>();
  const lines = text.split(/\r\n|\r|\n/);
  lines.forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line.length === 0) return;
    const where = `${file}:${i + 1}`;
    const parts = line.split(/\s+/);
    const fix = 'write one entry per line as WORD WEIGHT, e.g. "happy 1" or "sad -1"';
    if (parts.length !== 2) throw new LexiconError(`${where}: "${line}" is not an entry: ${fix}`);
    const [word, w] = parts as [string, string];
    const weight = Number(w);
    if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(w) || !Number.isFinite(weight)) throw new LexiconError(`${where}: weight "${w}" is not a number: ${fix}`);
    const words = lexiconWords(word);
    if (words.length !== 1 || words[0] !== word.toLowerCase().replace(/’/g, "'"))
      throw new LexiconError(`${where}: "${word}" is not one word (letters, digits and inner apostrophes only): ${fix}`);
    const key = words[0] as string;
    if (out.has(key)) throw new LexiconError(`${where}: "${key}" is listed twice (words are case-folded); keep one entry`);
    out.set(key, weight);
  });
  if (out.size === 0) throw new LexiconError(`${file}: the lexicon has no entries: ${'write one entry per line as WORD WEIGHT, e.g. "happy 1" or "sad -1"'}`);
  return out;
}

export interface TextScore {
  /** Sum of the weights of the text's words that the lexicon lists. */
  score: number;
  /** Words of the text. */
  words: number;
  /** Words the lexicon lists, in order (with repeats). */
  hits: string[];
}

/** The lexicon score of one text. */
export function scoreText(text: string, lexicon: Lexicon): TextScore {
  const words = lexiconWords(text);
  const hits = words.filter((w) => lexicon.has(w));
  return { score: hits.reduce((a, w) => a + (lexicon.get(w) as number), 0), words: words.length, hits };
}
