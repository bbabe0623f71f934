/**
 * Opening a model with its tokenizer: the entry point every job uses. Accepts a Hugging Face folder or a
 * llama2.c `.bin` (tokenizer next to it, or given explicitly), checks that the tokenizer fits the model.
 */
import * as path from 'node:path';
import { loadModel } from './model/load';
import type { Model } from './model/forward';
import { loadTokenizer, type Tokenizer } from './tokenizer';

export interface Session {
  model: Model;
  tokenizer: Tokenizer;
  dispose(): void;
}

export function openModel(modelPath: string, opts: { tokenizerPath?: string } = {}): Session {
  const model = loadModel(modelPath);
  try {
    const tokenizer = loadTokenizer(modelPath, {
      ...(opts.tokenizerPath !== undefined ? { tokenizerPath: opts.tokenizerPath } : {}),
      vocabSize: model.config.vocabSize,
    });
    if (tokenizer.vocabSize > model.config.vocabSize) {
      throw new Error(
        `${opts.tokenizerPath ?? path.join(modelPath, 'tokenizer.json')}: the tokenizer has ${tokenizer.vocabSize} tokens, ` +
          `but the model's vocabulary has only ${model.config.vocabSize}; is this the model's own tokenizer?`,
      );
    }
    return { model, tokenizer, dispose: () => model.dispose() };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** Token ids of a text as the model's own tokenizer encodes it: one BOS at the very start when the model uses BOS. */
export function encodeText(tokenizer: Tokenizer, text: string): number[] {
  return tokenizer.encode(text, { addBos: tokenizer.addsBos });
}
