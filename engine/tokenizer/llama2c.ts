/**
 * llama2.c `tokenizer.bin` (e.g. tok512.bin): pieces and scores of a SentencePiece BPE model, with encode and decode
 * rules exactly as in karpathy/llama2.c run.c (see ../shared/data/llama2c-stories260K/PROVENANCE.md): optional BOS,
 * a dummy-prefix " " piece, per-code-point lookup with byte fallback (+3), then greedy merging of the adjacent pair
 * with the highest score (leftmost on ties). The merge loop uses a heap instead of run.c's quadratic rescans; the
 * result is identical because the heap orders candidates by (score desc, position asc), which is run.c's choice.
 *
 * Non-goals: training, SentencePiece .model protobufs, special-token literals in text (llama2.c has none), chat
 * templates.
 */

import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

import { ChatMessage, Tokenizer, TokenizerError } from './types';

/** Fixed ids of llama2.c tokenizers (run.c: BOS = 1, EOS = 2; SentencePiece puts <unk> at 0). */
const UNK_ID = 0;
const BOS_ID = 1;
const EOS_ID = 2;
/** Byte fallback: byte b is the piece <0xBB> at id b + 3 (run.c `tokens[(*n_tokens)++] = (unsigned char)str_buffer[i] + 3`). */
const BYTE_FALLBACK_OFFSET = 3;
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** Loads a llama2.c tokenizer.bin holding `vocabSize` records (the count is not stored: it is the model's vocab size). */
export function loadLlama2cTokenizer(file: string, vocabSize: number): Tokenizer {
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) {
    throw new TokenizerError('usage', file, `${file}: a llama2.c tokenizer needs the model's vocab size (a positive integer), got ${vocabSize}.`);
  }
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    throw new TokenizerError(
      'missing',
      file,
      `${file}: cannot read the llama2.c tokenizer (${err instanceof Error ? err.message : String(err)}). ` +
        'Pass the tokenizer path explicitly or put tokenizer.bin next to the model.',
    );
  }
  const { pieces, scores } = parseTokenizerBin(bytes, file, vocabSize);
  return new Llama2cTokenizer(file, pieces, scores, createHash('sha256').update(bytes).digest('hex'));
}

/** The pieces (raw bytes, as latin1 strings) and scores of a llama2.c tokenizer.bin, for converting it. */
export function readLlama2cVocab(bytes: Buffer, file: string, vocabSize: number): { pieces: string[]; scores: Float32Array } {
  return parseTokenizerBin(bytes, file, vocabSize);
}

/** Pieces are kept as binary (latin1) strings so lookups compare raw bytes, as run.c's strcmp does. */
function parseTokenizerBin(bytes: Buffer, file: string, vocabSize: number): { pieces: string[]; scores: Float32Array } {
  const bad = (what: string): TokenizerError =>
    new TokenizerError(
      'format',
      file,
      `${file}: not a llama2.c tokenizer for vocab size ${vocabSize}: ${what}. Check that the tokenizer belongs to this model.`,
    );
  if (bytes.length < 4) throw bad(`the file has only ${bytes.length} bytes`);
  const maxTokenLength = bytes.readInt32LE(0);
  if (maxTokenLength <= 0) throw bad(`max_token_length is ${maxTokenLength}`);
  const pieces: string[] = [];
  const scores = new Float32Array(vocabSize);
  let offset = 4;
  for (let id = 0; id < vocabSize; id++) {
    if (offset + 8 > bytes.length) throw bad(`the file ends inside record ${id} (it holds fewer than ${vocabSize} pieces)`);
    scores[id] = bytes.readFloatLE(offset);
    const length = bytes.readInt32LE(offset + 4);
    offset += 8;
    if (length < 0 || length > maxTokenLength || offset + length > bytes.length) {
      throw bad(`record ${id} has an invalid piece length ${length}`);
    }
    pieces.push(bytes.toString('latin1', offset, offset + length));
    offset += length;
  }
  if (offset !== bytes.length) {
    throw bad(`${bytes.length - offset} bytes remain after ${vocabSize} records (the file holds more pieces)`);
  }
  return { pieces, scores };
}

class Llama2cTokenizer implements Tokenizer {
  readonly kind = 'llama2c' as const;
  readonly vocabSize: number;
  readonly bosId = BOS_ID;
  readonly eosId = EOS_ID;
  readonly padId = EOS_ID;
  readonly addsBos = true;
  readonly chatTemplate: string | undefined = undefined;

  private readonly pieceToId = new Map<string, number>();

  constructor(
    private readonly file: string,
    private readonly pieces: string[],
    private readonly scores: Float32Array,
    readonly hash: string,
  ) {
    this.vocabSize = pieces.length;
    pieces.forEach((piece, id) => {
      if (!this.pieceToId.has(piece)) this.pieceToId.set(piece, id);
    });
  }

  encode(text: string, opts: { addBos?: boolean } = {}): number[] {
    const tokens: number[] = [];
    if (opts.addBos ?? this.addsBos) tokens.push(BOS_ID);
    // run.c adds the dummy prefix only for non-empty text; each code point is looked up, else byte fallback.
    const units = text.length > 0 ? [' ', ...text] : [];
    for (const codePoint of units) {
      const key = Buffer.from(codePoint, 'utf8').toString('latin1');
      const id = this.pieceToId.get(key);
      if (id !== undefined) {
        tokens.push(id);
      } else {
        for (let i = 0; i < key.length; i++) tokens.push(key.charCodeAt(i) + BYTE_FALLBACK_OFFSET);
      }
    }
    return this.merge(tokens);
  }

  /** Greedy BPE merging over a linked list with a lazily invalidated max-heap of candidate pairs. */
  private merge(initial: number[]): number[] {
    const n = initial.length;
    const ids = Int32Array.from(initial);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const version = new Int32Array(n); // bumped whenever a node changes or dies, to invalidate stale candidates
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap = new CandidateHeap();
    const consider = (left: number): void => {
      const right = next[left];
      if (right < 0) return;
      const merged = this.pieceToId.get(this.pieces[ids[left]] + this.pieces[ids[right]]);
      if (merged === undefined) return;
      heap.push({ score: this.scores[merged], left, right, merged, leftVersion: version[left], rightVersion: version[right] });
    };
    for (let i = 0; i + 1 < n; i++) consider(i);
    for (let candidate = heap.pop(); candidate !== undefined; candidate = heap.pop()) {
      const { left, right } = candidate;
      if (!alive[left] || !alive[right] || next[left] !== right || version[left] !== candidate.leftVersion || version[right] !== candidate.rightVersion)
        continue;
      ids[left] = candidate.merged;
      version[left]++;
      alive[right] = 0;
      version[right]++;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      if (prev[left] >= 0) consider(prev[left]);
      consider(left);
    }
    const out: number[] = [];
    for (let i = n > 0 ? 0 : -1; i >= 0; i = next[i]) out.push(ids[i]);
    return out;
  }

  decode(ids: number[], opts: { skipSpecial?: boolean } = {}): string {
    const bytes: number[] = [];
    let previous = -1;
    for (const id of ids) {
      const piece = this.pieceOf(id);
      const current = previous;
      previous = id;
      // BOS and EOS pieces ("\n<s>\n", "\n</s>\n") are control tokens: run.c never prints them.
      if (id === BOS_ID || id === EOS_ID || (opts.skipSpecial === true && id === UNK_ID)) continue;
      const byteMatch = BYTE_PIECE.exec(piece);
      if (byteMatch !== null) {
        bytes.push(parseInt(byteMatch[1], 16));
        continue;
      }
      // run.c: "following BOS token, sentencepiece decoder strips any leading whitespace".
      const text = current === BOS_ID && piece.startsWith(' ') ? piece.slice(1) : piece;
      for (let i = 0; i < text.length; i++) bytes.push(text.charCodeAt(i));
    }
    return new TextDecoder('utf-8').decode(Uint8Array.from(bytes));
  }

  tokenToId(token: string): number | undefined {
    return this.pieceToId.get(Buffer.from(token, 'utf8').toString('latin1'));
  }

  idToToken(id: number): string | undefined {
    if (!Number.isInteger(id) || id < 0 || id >= this.pieces.length) return undefined;
    return Buffer.from(this.pieces[id], 'latin1').toString('utf8');
  }

  applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string {
    void messages;
    void opts;
    throw new TokenizerError(
      'usage',
      this.file,
      `${this.file}: llama2.c tokenizers have no chat template; write the prompt text yourself (e.g. a plain story opening).`,
    );
  }

  private pieceOf(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id >= this.pieces.length) {
      throw new TokenizerError('usage', this.file, `${this.file}: token id ${id} is outside the vocabulary [0, ${this.pieces.length}).`);
    }
    return this.pieces[id];
  }
}

interface Candidate {
  score: number;
  left: number;
  right: number;
  merged: number;
  leftVersion: number;
  rightVersion: number;
}

/** Max-heap on score; ties go to the leftmost pair, matching run.c's strict `>` scan from the left. */
class CandidateHeap {
  private readonly items: Candidate[] = [];

  push(item: Candidate): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(items[i], items[parent])) break;
      [items[i], items[parent]] = [items[parent], items[i]];
      i = parent;
    }
  }

  pop(): Candidate | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (top === undefined || last === undefined || items.length === 0) return top;
    items[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < items.length && before(items[l], items[best])) best = l;
      if (r < items.length && before(items[r], items[best])) best = r;
      if (best === i) break;
      [items[i], items[best]] = [items[best], items[i]];
      i = best;
    }
    return top;
  }
}

function before(a: Candidate, b: Candidate): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}
