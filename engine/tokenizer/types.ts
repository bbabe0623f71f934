/**
 * The one tokenizer interface the engine sees, whatever the source (HF tokenizer.json, GPT-2 vocab/merges files,
 * llama2.c tokenizer.bin), and the error every loader throws.
 *
 * Non-goals: batching, padding and truncation (callers build batches from ids), offsets/alignment, text pairs.
 */

export interface ChatMessage {
  role: string;
  content: string;
}

export interface Tokenizer {
  readonly kind: 'hf' | 'llama2c';
  readonly vocabSize: number;
  readonly bosId: number | null;
  readonly eosId: number | null;
  /** Padding id: the tokenizer's pad token, else eos, else 0. */
  readonly padId: number;
  /** True when the model expects one BOS at the start of a text (Llama family, llama2.c); false for GPT-2. */
  readonly addsBos: boolean;
  /** sha256 (hex) over the tokenizer source files, for run metadata. */
  readonly hash: string;
  /**
   * Encode text. `addBos` defaults to `this.addsBos`. No EOS is ever appended. Added/special tokens written literally
   * in the text (e.g. "<|endoftext|>", "[INST]" if it is an added token) map to their ids.
   */
  encode(text: string, opts?: { addBos?: boolean }): number[];
  decode(ids: number[], opts?: { skipSpecial?: boolean }): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** The chat template from tokenizer_config.json rendered with @huggingface/jinja, or undefined when the model has none. */
  readonly chatTemplate: string | undefined;
  applyChatTemplate(messages: ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
}

export type TokenizerErrorKind = 'missing' | 'parse' | 'format' | 'usage' | 'template';

/** Every tokenizer failure: `file` is the file or folder involved, `kind` what went wrong. */
export class TokenizerError extends Error {
  readonly file: string;
  readonly kind: TokenizerErrorKind;

  constructor(kind: TokenizerErrorKind, file: string, message: string) {
    super(message);
    this.name = 'TokenizerError';
    this.kind = kind;
    this.file = file;
  }
}
