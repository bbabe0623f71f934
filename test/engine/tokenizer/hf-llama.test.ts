/**
 * A synthetic Llama-style (SentencePiece-like BPE with byte fallback) tokenizer.json written to a temp folder, in
 * both shapes found in the wild (Llama 2's Prepend+Replace normalizer, and the Metaspace pre-tokenizer): byte
 * fallback, exactly one BOS, decode, added tokens written literally, chat templates (Llama-2 [INST] and ChatML) and
 * the loader's errors.
 */

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';

import { loadHfTokenizer, loadTokenizer, TokenizerError, TokenizerErrorKind } from '../../../engine/tokenizer/index';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-tok-llama-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

const SP = '\u2581'; // SentencePiece's word-boundary marker "▁"

const LLAMA2_TEMPLATE =
  "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}";

const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

interface Variant {
  style: 'prepend' | 'metaspace';
  config?: Record<string, unknown> | null;
  files?: Record<string, string>;
}

/** Writes a tiny Llama-style tokenizer folder and returns its path. */
function writeLlamaTokenizer(variant: Variant): string {
  const dir = fs.mkdtempSync(path.join(tmpRoot, `${variant.style}-`));
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  const merges = [
    ['l', 'l'],
    ['h', 'e'],
    ['he', 'll'],
    ['hell', 'o'],
    [SP, 'hello'],
    ['w', 'o'],
    ['wo', 'r'],
    ['wor', 'l'],
    ['worl', 'd'],
    [SP, 'world'],
  ];
  for (const piece of [SP, 'h', 'e', 'l', 'o', 'w', 'r', 'd', ...merges.map(([a, b]) => a + b)]) {
    if (!(piece in vocab)) vocab[piece] = Object.keys(vocab).length;
  }
  const nextId = Object.keys(vocab).length;
  const special = (id: number, content: string, isSpecial = true): Record<string, unknown> => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: isSpecial,
  });
  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>'), special(nextId, '[INST]', false), special(nextId + 1, '[/INST]', false)],
    normalizer:
      variant.style === 'prepend'
        ? {
            type: 'Sequence',
            normalizers: [
              { type: 'Prepend', prepend: SP },
              { type: 'Replace', pattern: { String: ' ' }, content: SP },
            ],
          }
        : null,
    pre_tokenizer: variant.style === 'metaspace' ? { type: 'Metaspace', replacement: SP, prepend_scheme: 'first', split: false } : null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [
        { SpecialToken: { id: '<s>', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '<s>', type_id: 1 } },
        { Sequence: { id: 'B', type_id: 1 } },
      ],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder:
      variant.style === 'prepend'
        ? {
            type: 'Sequence',
            decoders: [
              { type: 'Replace', pattern: { String: SP }, content: ' ' },
              { type: 'ByteFallback' },
              { type: 'Fuse' },
              { type: 'Strip', content: ' ', start: 1, stop: 0 },
            ],
          }
        : { type: 'Sequence', decoders: [{ type: 'ByteFallback' }, { type: 'Metaspace', replacement: SP, prepend_scheme: 'first', split: false }] },
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
      merges,
    },
  };
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson, null, 2));
  const config =
    variant.config === undefined
      ? { add_bos_token: true, add_eos_token: false, bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>', pad_token: null, legacy: false }
      : variant.config;
  if (config !== null) fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(config));
  for (const [name, text] of Object.entries(variant.files ?? {})) fs.writeFileSync(path.join(dir, name), text);
  return dir;
}

function expectTokenizerError(fn: () => unknown, kind: TokenizerErrorKind, mentions: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TokenizerError, `expected TokenizerError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    for (const m of mentions) assert.ok(err.message.includes(m), `message mentions ${m}: ${err.message}`);
    return true;
  });
}

for (const style of ['prepend', 'metaspace'] as const) {
  describe(`Llama-style tokenizer.json (${style})`, () => {
    test('special tokens and one BOS', () => {
      const tok = loadHfTokenizer(writeLlamaTokenizer({ style }));
      assert.equal(tok.bosId, 1);
      assert.equal(tok.eosId, 2);
      assert.equal(tok.padId, 2); // no pad token: falls back to eos
      assert.equal(tok.addsBos, true);
      const hello = tok.tokenToId(`${SP}hello`);
      const world = tok.tokenToId(`${SP}world`);
      assert.ok(hello !== undefined && world !== undefined);
      assert.deepEqual(tok.encode('hello world'), [1, hello, world]);
      assert.deepEqual(tok.encode('hello world', { addBos: false }), [hello, world]);
      assert.deepEqual(tok.encode(''), [1]);
      assert.equal(tok.idToToken(1), '<s>');
    });

    test('byte fallback for unknown characters, and decode', () => {
      const tok = loadHfTokenizer(writeLlamaTokenizer({ style }));
      const ids = tok.encode('hello ☃');
      const space = tok.tokenToId(SP);
      assert.deepEqual(ids, [1, tok.tokenToId(`${SP}hello`), space, 0xe2 + 3, 0x98 + 3, 0x83 + 3]);
      assert.equal(tok.decode(ids, { skipSpecial: true }), 'hello ☃');
      for (const text of ['hello world', 'world hello hello', 'héllo wörld ✓', 'hello  world']) {
        assert.equal(tok.decode(tok.encode(text), { skipSpecial: true }), text, text);
      }
      assert.match(tok.decode(tok.encode('hello')), /^<s> ?hello$/);
    });

    test('added tokens written literally map to their ids', () => {
      const tok = loadHfTokenizer(writeLlamaTokenizer({ style }));
      const inst = tok.tokenToId('[INST]');
      const endInst = tok.tokenToId('[/INST]');
      assert.ok(inst !== undefined && endInst !== undefined);
      const ids = tok.encode('[INST] hello [/INST]');
      assert.equal(ids[0], 1);
      assert.equal(ids[1], inst);
      assert.equal(ids[ids.length - 1], endInst);
      assert.equal(ids.filter((id) => id === 1).length, 1);
      assert.deepEqual(tok.encode('</s>', { addBos: false }), [2]);
    });
  });
}

describe('addsBos and special-token resolution', () => {
  test('derived from the TemplateProcessing post-processor when tokenizer_config.json is absent', () => {
    const tok = loadHfTokenizer(writeLlamaTokenizer({ style: 'prepend', config: null }));
    assert.equal(tok.addsBos, true);
    assert.equal(tok.bosId, 1);
    assert.equal(tok.eosId, 2); // fallback: the added token "</s>"
    assert.equal(tok.encode('hello')[0], 1);
  });

  test('add_bos_token: false wins over the template; token objects are accepted', () => {
    const tok = loadHfTokenizer(
      writeLlamaTokenizer({
        style: 'prepend',
        config: { add_bos_token: false, bos_token: { content: '<s>', __type: 'AddedToken' }, eos_token: { content: '</s>' }, pad_token: '<unk>' },
      }),
    );
    assert.equal(tok.addsBos, false);
    assert.equal(tok.bosId, 1);
    assert.equal(tok.padId, 0);
    assert.notEqual(tok.encode('hello')[0], 1);
    assert.equal(tok.encode('hello', { addBos: true })[0], 1);
  });

  test('hash depends on every source file', () => {
    const a = loadHfTokenizer(writeLlamaTokenizer({ style: 'prepend' }));
    const b = loadHfTokenizer(writeLlamaTokenizer({ style: 'prepend' }));
    const c = loadHfTokenizer(writeLlamaTokenizer({ style: 'prepend', config: { add_bos_token: true } }));
    assert.equal(a.hash, b.hash);
    assert.notEqual(a.hash, c.hash);
  });
});

describe('chat templates', () => {
  const conversation = [
    { role: 'system', content: 'Be honest.' },
    { role: 'user', content: ' Is the sky green? ' },
    { role: 'assistant', content: 'No.' },
    { role: 'user', content: 'Sure?' },
  ];

  test('Llama-2 [INST] template', () => {
    const tok = loadHfTokenizer(
      writeLlamaTokenizer({
        style: 'prepend',
        config: { add_bos_token: true, bos_token: '<s>', eos_token: '</s>', chat_template: LLAMA2_TEMPLATE },
      }),
    );
    assert.equal(tok.chatTemplate, LLAMA2_TEMPLATE);
    const expected = '<s>[INST] <<SYS>>\nBe honest.\n<</SYS>>\n\n Is the sky green? [/INST] No. </s><s>[INST] Sure? [/INST]';
    assert.equal(tok.applyChatTemplate(conversation), expected);
    // This template ignores add_generation_prompt: the [/INST] already cues the answer.
    assert.equal(tok.applyChatTemplate(conversation, { addGenerationPrompt: true }), expected);
    assert.equal(tok.applyChatTemplate([{ role: 'user', content: 'Hi' }]), '<s>[INST] Hi [/INST]');
    // The rendered prompt starts with "<s>" already, so encode it without adding another BOS.
    const ids = tok.encode(tok.applyChatTemplate([{ role: 'user', content: 'hello' }]), { addBos: false });
    assert.equal(ids.filter((id) => id === 1).length, 1);
    assert.equal(ids[1], tok.tokenToId('[INST]'));
    expectTokenizerError(() => tok.applyChatTemplate([{ role: 'assistant', content: 'x' }]), 'template', [
      'tokenizer_config.json',
      'Conversation roles must alternate',
    ]);
  });

  test('ChatML template, with and without the generation prompt', () => {
    const tok = loadHfTokenizer(writeLlamaTokenizer({ style: 'prepend', config: { chat_template: CHATML_TEMPLATE } }));
    const messages = [
      { role: 'system', content: 'S' },
      { role: 'user', content: 'Q' },
    ];
    const base = '<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ<|im_end|>\n';
    assert.equal(tok.applyChatTemplate(messages), base);
    assert.equal(tok.applyChatTemplate(messages, { addGenerationPrompt: false }), base);
    assert.equal(tok.applyChatTemplate(messages, { addGenerationPrompt: true }), `${base}<|im_start|>assistant\n`);
  });

  test('named template lists use "default"; chat_template.jinja is read when the config has none', () => {
    const named = loadHfTokenizer(
      writeLlamaTokenizer({
        style: 'prepend',
        config: {
          chat_template: [
            { name: 'tool_use', template: 'TOOLS' },
            { name: 'default', template: CHATML_TEMPLATE },
          ],
        },
      }),
    );
    assert.equal(named.chatTemplate, CHATML_TEMPLATE);
    const jinja = loadHfTokenizer(writeLlamaTokenizer({ style: 'prepend', config: {}, files: { 'chat_template.jinja': CHATML_TEMPLATE } }));
    assert.equal(jinja.chatTemplate, CHATML_TEMPLATE);
    assert.equal(jinja.applyChatTemplate([{ role: 'user', content: 'Q' }]), '<|im_start|>user\nQ<|im_end|>\n');
  });

  test('a template that does not parse -> template error naming the file', () => {
    const tok = loadHfTokenizer(writeLlamaTokenizer({ style: 'prepend', config: { chat_template: '{% for m in messages %}{{ m.content' } }));
    expectTokenizerError(() => tok.applyChatTemplate([{ role: 'user', content: 'x' }]), 'template', ['tokenizer_config.json']);
  });
});

describe('loader errors', () => {
  test('a folder without tokenizer files lists what was looked for', () => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'empty-'));
    fs.writeFileSync(path.join(dir, 'vocab.json'), '{}'); // half a layout is not a layout
    expectTokenizerError(() => loadHfTokenizer(dir), 'missing', [dir, 'tokenizer.json', 'vocab.json + merges.txt', 'encoder.json + vocab.bpe']);
    expectTokenizerError(() => loadTokenizer(dir), 'missing', [dir, 'tokenizer.json']);
  });

  test('missing paths', () => {
    const nowhere = path.join(tmpRoot, 'nowhere');
    expectTokenizerError(() => loadHfTokenizer(nowhere), 'missing', [nowhere]);
    expectTokenizerError(() => loadTokenizer(nowhere), 'missing', [nowhere]);
  });

  test('invalid JSON names the file', () => {
    const dir = writeLlamaTokenizer({ style: 'prepend' });
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model": {');
    expectTokenizerError(() => loadHfTokenizer(dir), 'parse', [path.join(dir, 'tokenizer.json'), 'invalid JSON']);
    const dir2 = writeLlamaTokenizer({ style: 'prepend' });
    fs.writeFileSync(path.join(dir2, 'tokenizer_config.json'), '{"add_bos_token": tru');
    expectTokenizerError(() => loadHfTokenizer(dir2), 'parse', [path.join(dir2, 'tokenizer_config.json')]);
  });

  test('an unsupported tokenizer.json -> format error', () => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'weird-'));
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'Mystery' } }));
    expectTokenizerError(() => loadHfTokenizer(dir), 'format', [path.join(dir, 'tokenizer.json')]);
  });
});
