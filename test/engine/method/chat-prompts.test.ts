/**
 * Chat-message prompt sets (engine/method/chat-prompts.ts) on a small Llama-style SentencePiece tokenizer.json
 * (Prepend+Replace normalizer, BPE with byte fallback, `[INST]` plain text as in Llama-2, "▁▁" merged before "▁A" as in Llama's vocabulary) carrying
 * Meta's Llama-2-chat template: the exact rendered string, one BOS, and the answer token after `[/INST] `.
 */
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';

import { answerAfter, chatPromptTemplate } from '../../../engine/method/chat-prompts';
import { renderTemplate } from '../../../engine/method/prompts';
import { loadHfTokenizer } from '../../../engine/tokenizer/index';

const SP = '\u2581';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-chat-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

// Meta's Llama-2-chat chat_template (tokenizer_config.json of meta-llama/Llama-2-7b-chat-hf).
const LLAMA2_TEMPLATE =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

function writeTokenizer(chatTemplate: string | undefined): string {
  const dir = fs.mkdtempSync(path.join(tmp, 'tok-'));
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  // "▁▁" first: SentencePiece vocabularies rank it above "▁A", which is what breaks tokenizing " A" alone.
  const merges = [
    [SP, SP],
    [SP, 'A'],
    [SP, 'B'],
    [SP, 'x'],
  ];
  for (const piece of [SP, 'A', 'B', 'x', ...merges.map(([a, b]) => `${a}${b}`)]) if (!(piece in vocab)) vocab[piece] = Object.keys(vocab).length;
  const special = (id: number, content: string, isSpecial: boolean): Record<string, unknown> => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: isSpecial,
  });
  const json = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>', true), special(1, '<s>', true), special(2, '</s>', true)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: SP },
        { type: 'Replace', pattern: { String: ' ' }, content: SP },
      ],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SP }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(json));
  const config: Record<string, unknown> = { add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' };
  if (chatTemplate !== undefined) config['chat_template'] = chatTemplate;
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  return dir;
}

describe('chat-message prompt sets', () => {
  const tok = loadHfTokenizer(writeTokenizer(LLAMA2_TEMPLATE));
  const messages = [
    { role: 'system' as const, content: '{persona}' },
    { role: 'user' as const, content: 'Is the claim "{statement}" true? {{A}}' },
  ];

  test("the Llama-2-chat format comes out of Meta's template, placeholders and literal braces intact", () => {
    const t = chatPromptTemplate(tok, messages);
    // The leading <s> is dropped because this tokenizer adds BOS itself: the ids hold exactly one.
    assert.equal(t, '[INST] <<SYS>>\n{persona}\n<</SYS>>\n\nIs the claim "{statement}" true? {{A}} [/INST]');
    const text = renderTemplate(t, { persona: 'Be honest.', statement: 'x' }, 'test');
    assert.equal(`<s>${text}`, '<s>[INST] <<SYS>>\nBe honest.\n<</SYS>>\n\nIs the claim "x" true? {A} [/INST]');
    const ids = tok.encode(text);
    assert.equal(ids.filter((i) => i === tok.bosId).length, 1);
    assert.equal(ids[0], tok.bosId);
  });

  test('a final assistant message without a generation prompt continues that message', () => {
    const t = chatPromptTemplate(tok, [...messages, { role: 'assistant', content: 'Answer:' }], { generationPrompt: false });
    assert.ok(t.endsWith('[/INST] Answer:'), t);
  });

  test('a model without a chat template is an error naming tokenizer_config.json', () => {
    const bare = loadHfTokenizer(writeTokenizer(undefined));
    assert.throws(() => chatPromptTemplate(bare, messages), /tokenizer_config\.json.*no chat template/);
  });

  test('the answer token after "[/INST] ": the old lookup of " A" alone fails, prompt+answer minus prompt is right', () => {
    const idA = tok.tokenToId(`${SP}A`) as number;
    const prompt = '[INST] x [/INST] ';
    // Old: " A" tokenized alone reads as "▁▁A", and "▁▁" merges first.
    const alone = tok.encode(' A', { addBos: false });
    assert.deepEqual(
      alone.map((i) => tok.idToToken(i)),
      [`${SP}${SP}`, 'A'],
    );
    // Old: the prompt's own ids end with a lone "▁", which the answer "▁A" would never follow in real text.
    assert.equal(tok.idToToken(tok.encode(prompt).at(-1) as number), SP);
    const r = answerAfter(tok, prompt, 'A');
    assert.equal(r.answerId, idA);
    assert.deepEqual(r.promptIds, tok.encode('[INST] x [/INST]'));
    // Without the trailing space the answer is joined with one: the same ids.
    assert.deepEqual(answerAfter(tok, '[INST] x [/INST]', 'A'), r);
  });
});
