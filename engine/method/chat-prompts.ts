/**
 * Prompt sets written as chat messages: the messages (with the prompt-set placeholders of protocol/template.ts)
 * rendered once through the model's chat template into an ordinary prompt template, so every later step (personas,
 * labels, anchors, the answer token) reads it as it reads a hand-written `template`. And the answer-token lookup
 * that stays right when the prompt ends in a space (Llama-2's `[/INST] `): the answer is the token that
 * tokenizing (prompt + answer) adds after the tokens the two texts share, never the answer tokenized alone.
 *
 * Non-goals: multi-turn conversations with several user turns, tools, templates that rewrite message contents
 * beyond trimming (a placeholder the template drops is an error).
 */
import { parseTemplate } from '../../protocol/template';
import type { Tokenizer } from '../tokenizer/types';

export interface PromptMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

const mark = (i: number): string => `\u0000${i}\u0000`;
const END = '\u0001';

/**
 * The chat-rendered prompt template: placeholders survive as `{name}`, every brace the chat template itself writes
 * is doubled, and a leading BOS string is dropped when the tokenizer adds BOS itself (so the ids hold one BOS).
 * `generationPrompt` defaults to true when the last message is the user's; with a final assistant message and no
 * generation prompt the text ends where that message's content ends (transformers' continue_final_message).
 */
export function chatPromptTemplate(tok: Tokenizer, messages: readonly PromptMessage[], opts: { generationPrompt?: boolean; where?: string } = {}): string {
  const where = opts.where ?? 'messages';
  const names: string[] = [];
  const last = messages[messages.length - 1];
  const generationPrompt = opts.generationPrompt ?? last?.role === 'user';
  const continueLast = !generationPrompt && last?.role === 'assistant';
  const rendered = messages.map((m, mi) => {
    const parsed = parseTemplate(m.content);
    if (parsed.problems.length > 0) throw new Error(`${where}: ${m.role}: ${parsed.problems[0]?.message ?? ''}`);
    const text = parsed.parts
      .map((p) => {
        if (p.kind === 'text') return p.text;
        names.push(p.name);
        return mark(names.length - 1);
      })
      .join('');
    return { role: m.role, content: continueLast && mi === messages.length - 1 ? text + END : text };
  });
  let out = tok.applyChatTemplate(rendered, { addGenerationPrompt: generationPrompt });
  if (continueLast) {
    const cut = out.lastIndexOf(END);
    if (cut < 0) throw new Error(`${where}: the chat template dropped the end of the assistant message`);
    out = out.slice(0, cut);
  }
  out = out.replace(/[{}]/g, (b) => b + b);
  for (let i = 0; i < names.length; i++) {
    if (!out.includes(mark(i))) throw new Error(`${where}: the chat template dropped the placeholder {${names[i] ?? ''}}`);
    out = out.replace(mark(i), `{${names[i] ?? ''}}`);
  }
  const bos = tok.bosId === null ? undefined : tok.idToToken(tok.bosId);
  if (tok.addsBos && bos !== undefined && bos !== '' && out.startsWith(bos)) out = out.slice(bos.length);
  return out;
}

/**
 * The ids the model reads and the answer id it should predict: the common prefix of encode(prompt) and
 * encode(prompt + answer) is the context, the one token after it the answer. A prompt ending in whitespace is
 * joined to the label directly (`[/INST] ` + `A`), otherwise with one space, so `A` is read as SentencePiece
 * reads `▁A`. Throws when the answer is not exactly one token there.
 */
export function answerAfter(tok: Tokenizer, prompt: string, label: string): { promptIds: number[]; answerId: number } {
  const joined = /\s$/.test(prompt) ? prompt + label : `${prompt} ${label}`;
  const pre = tok.encode(prompt);
  const full = tok.encode(joined);
  let k = 0;
  while (k < pre.length && k < full.length && pre[k] === full[k]) k++;
  if (full.length !== k + 1) {
    throw new Error(`the answer label "${label}" is not one token after this prompt in this tokenizer; use single-token labels such as A and B`);
  }
  return { promptIds: full.slice(0, k), answerId: full[k] as number };
}
