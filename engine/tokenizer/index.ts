/**
 * Picks and loads the tokenizer for a model path: a folder is a Hugging Face model (tokenizer.json, vocab.json +
 * merges.txt, or encoder.json + vocab.bpe); a `.bin` file is a llama2.c checkpoint whose tokenizer.bin (or
 * tok<vocab>.bin) lies next to it.
 *
 * Non-goals: downloading tokenizers, guessing a tokenizer for a model that ships none.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';

import { readLlama2cHeader } from '../io/llama2c';
import { loadHfTokenizer } from './hf';
import { loadLlama2cTokenizer } from './llama2c';
import { Tokenizer, TokenizerError } from './types';

export { loadHfTokenizer } from './hf';
export { loadLlama2cTokenizer, readLlama2cVocab } from './llama2c';
export { TokenizerError } from './types';
export type { ChatMessage, Tokenizer, TokenizerErrorKind } from './types';
export { ChatTemplate, selectChatTemplate } from './chat-template';
export type { ChatSpecialTokens } from './chat-template';

export interface LoadTokenizerOptions {
  /** An explicit tokenizer: a folder (HF) or a llama2.c tokenizer .bin. */
  tokenizerPath?: string;
  /** Vocab size of a llama2.c tokenizer; by default read from the llama2.c checkpoint header. */
  vocabSize?: number;
}

/** Where a model's tokenizer comes from: an HF folder, or a llama2.c tokenizer.bin with the vocab size it holds. */
export type TokenizerSource = { kind: 'hf'; dir: string } | { kind: 'llama2c'; file: string; vocabSize: number };

/** The tokenizer loadTokenizer would load for `modelPath` (the same rules and errors), without loading it. */
export function findTokenizer(modelPath: string, opts: LoadTokenizerOptions = {}): TokenizerSource {
  const modelKind = pathKind(modelPath);
  if (modelKind === 'none') {
    throw new TokenizerError('missing', modelPath, `${modelPath}: no such file or folder; expected a model folder or a llama2.c .bin file.`);
  }
  if (opts.tokenizerPath !== undefined) {
    const tokenizerKind = pathKind(opts.tokenizerPath);
    if (tokenizerKind === 'dir') return { kind: 'hf', dir: opts.tokenizerPath };
    if (tokenizerKind === 'file') return { kind: 'llama2c', file: opts.tokenizerPath, vocabSize: llama2cVocabSize(modelPath, modelKind, opts) };
    throw new TokenizerError('missing', opts.tokenizerPath, `${opts.tokenizerPath}: tokenizer path does not exist.`);
  }
  if (modelKind === 'dir') return { kind: 'hf', dir: modelPath };
  if (path.extname(modelPath) !== '.bin') {
    throw new TokenizerError('usage', modelPath, `${modelPath}: a model path must be a Hugging Face model folder or a llama2.c .bin checkpoint.`);
  }
  const vocabSize = llama2cVocabSize(modelPath, modelKind, opts);
  const dir = path.dirname(modelPath);
  const candidates = [path.join(dir, 'tokenizer.bin'), path.join(dir, `tok${vocabSize}.bin`)];
  const found = candidates.find((file) => fs.existsSync(file));
  if (found === undefined) {
    throw new TokenizerError(
      'missing',
      dir,
      `${dir}: no llama2.c tokenizer next to ${path.basename(modelPath)}; looked for ${candidates.map((c) => path.basename(c)).join(' and ')}. ` +
        'Copy the tokenizer there or set the tokenizer path explicitly.',
    );
  }
  return { kind: 'llama2c', file: found, vocabSize };
}

export function loadTokenizer(modelPath: string, opts: LoadTokenizerOptions = {}): Tokenizer {
  const source = findTokenizer(modelPath, opts);
  return source.kind === 'hf' ? loadHfTokenizer(source.dir) : loadLlama2cTokenizer(source.file, source.vocabSize);
}

function llama2cVocabSize(modelPath: string, modelKind: 'file' | 'dir', opts: LoadTokenizerOptions): number {
  if (opts.vocabSize !== undefined) return opts.vocabSize;
  if (modelKind !== 'file') {
    throw new TokenizerError('usage', modelPath, `${modelPath}: a llama2.c tokenizer needs the vocab size; pass vocabSize.`);
  }
  try {
    return readLlama2cHeader(modelPath).vocabSize;
  } catch (err) {
    throw new TokenizerError(
      'usage',
      modelPath,
      `${modelPath}: cannot read the vocab size from the llama2.c header (${err instanceof Error ? err.message : String(err)}); pass vocabSize.`,
    );
  }
}

function pathKind(p: string): 'file' | 'dir' | 'none' {
  try {
    return fs.statSync(p).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'none';
  }
}
