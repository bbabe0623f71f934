/**
 * Chat templates: the Jinja `chat_template` of tokenizer_config.json rendered with @huggingface/jinja, with the
 * variables transformers' `apply_chat_template` provides (`messages`, `add_generation_prompt`, the special token
 * strings). `raise_exception` and `strftime_now` are globals of @huggingface/jinja itself (passing our own
 * `raise_exception` fails with "Variable already declared"); its error message becomes ours.
 *
 * Non-goals: tools/documents arguments, generation-mask tracking, templates other than "default" in a named list.
 */

import { Template } from '@huggingface/jinja';

import { ChatMessage, TokenizerError } from './types';

export interface ChatSpecialTokens {
  bos?: string;
  eos?: string;
  pad?: string;
  unk?: string;
}

/**
 * The template text of a `chat_template` value: a string, or a list of `{name, template}` entries of which we use
 * the one named "default" (the others are tool-use variants).
 */
export function selectChatTemplate(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) {
    for (const entry of value) {
      if (
        typeof entry === 'object' &&
        entry !== null &&
        'name' in entry &&
        'template' in entry &&
        entry.name === 'default' &&
        typeof entry.template === 'string'
      )
        return entry.template;
    }
  }
  return undefined;
}

/** A parsed chat template; `file` is where it came from, for error messages. */
export class ChatTemplate {
  private compiled: Template | undefined;

  constructor(
    readonly source: string,
    readonly file: string,
  ) {}

  render(messages: ChatMessage[], opts: { addGenerationPrompt?: boolean; specialTokens?: ChatSpecialTokens } = {}): string {
    if (this.compiled === undefined) {
      try {
        this.compiled = new Template(this.source);
      } catch (err) {
        throw new TokenizerError('template', this.file, `${this.file}: the chat template does not parse (${describeError(err)}).`);
      }
    }
    const specials = opts.specialTokens ?? {};
    try {
      return this.compiled.render({
        messages: messages.map((m) => ({ ...m })),
        add_generation_prompt: opts.addGenerationPrompt ?? false,
        bos_token: specials.bos ?? '',
        eos_token: specials.eos ?? '',
        pad_token: specials.pad ?? '',
        unk_token: specials.unk ?? '',
      });
    } catch (err) {
      // Includes the template's own raise_exception('...') messages, e.g. "roles must alternate".
      throw new TokenizerError('template', this.file, `${this.file}: chat template failed: ${describeError(err)}`);
    }
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
