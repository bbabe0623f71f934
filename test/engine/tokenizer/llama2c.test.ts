/**
 * llama2.c tokenizer (tok512.bin): the golden encode examples and decodes, byte fallback round trips, agreement of
 * the heap-based merge loop with a literal port of run.c's quadratic loop, loadTokenizer's lookup next to a model,
 * and the error cases.
 */

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';

import { loadLlama2cTokenizer, loadTokenizer, TokenizerError } from '../../../engine/tokenizer/index';

const REPO_ROOT = path.resolve(__dirname, '../../../..');
const DATA = process.env.RTUNE_SHARED_DATA ?? path.resolve(REPO_ROOT, '../shared/data');
const STORIES = path.join(DATA, 'llama2c-stories260K');
const TOK512 = path.join(STORIES, 'tok512.bin');
const missingData = fs.existsSync(TOK512) ? false : `missing ${TOK512}`;

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-tok-llama2c-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

interface Golden {
  encode_examples: Record<string, number[]>;
  greedy_prompt_once_upon_a_time: { tokens: number[]; text: string };
  greedy_from_bos: { tokens: number[]; text: string };
  teacher_forced_nll: { text: string; tokens: number[] };
}

describe('tok512.bin', { skip: missingData }, () => {
  const golden = (): Golden => JSON.parse(fs.readFileSync(path.join(STORIES, 'golden_numpy_reference.json'), 'utf8')) as Golden;

  test('properties', () => {
    const tok = loadLlama2cTokenizer(TOK512, 512);
    assert.equal(tok.kind, 'llama2c');
    assert.equal(tok.vocabSize, 512);
    assert.equal(tok.bosId, 1);
    assert.equal(tok.eosId, 2);
    assert.equal(tok.padId, 2);
    assert.equal(tok.addsBos, true);
    assert.equal(tok.chatTemplate, undefined);
    assert.equal(tok.hash, '037cb335abb25d1fa9e8ecae30ed2a3a8ace9302862ebcdc05d51a6bbb10c312'); // PROVENANCE.md sha256
    assert.equal(tok.idToToken(3), '<0x00>');
    assert.equal(tok.idToToken(1), '\n<s>\n');
    assert.equal(tok.tokenToId('<0x0A>'), 13);
    assert.equal(tok.idToToken(512), undefined);
    assert.throws(() => tok.applyChatTemplate([{ role: 'user', content: 'hi' }]), TokenizerError);
  });

  test('encode reproduces the golden examples (with BOS)', () => {
    const tok = loadLlama2cTokenizer(TOK512, 512);
    const g = golden();
    for (const [text, ids] of Object.entries(g.encode_examples)) assert.deepEqual(tok.encode(text), ids, text);
    assert.deepEqual(tok.encode(g.teacher_forced_nll.text), g.teacher_forced_nll.tokens);
    assert.deepEqual(tok.encode('Once upon a time', { addBos: false }), [403, 407, 261, 378]);
    assert.deepEqual(tok.encode(''), [1]);
    assert.deepEqual(tok.encode('', { addBos: false }), []);
  });

  test('decode reproduces the golden texts', () => {
    const tok = loadLlama2cTokenizer(TOK512, 512);
    const g = golden();
    assert.equal(tok.decode(g.greedy_prompt_once_upon_a_time.tokens), g.greedy_prompt_once_upon_a_time.text);
    assert.equal(tok.decode(g.greedy_from_bos.tokens), g.greedy_from_bos.text);
    // Without BOS the dummy-prefix space stays: that is run.c's rule.
    assert.equal(tok.decode([403, 407]), ' Once upon');
  });

  test('non-ASCII text round-trips through byte fallback', () => {
    const tok = loadLlama2cTokenizer(TOK512, 512);
    for (const text of ['café ☃', 'naïve 😀 emoji', '日本語', 'tab\tand\nnewline', '  leading spaces']) {
      const ids = tok.encode(text);
      assert.equal(ids[0], 1);
      assert.equal(tok.decode(ids), text, text);
    }
    const snowman = tok.encode('☃', { addBos: false });
    // " " then the three UTF-8 bytes of U+2603 (E2 98 83) as <0xHH> pieces (byte + 3), unless merged.
    assert.deepEqual(snowman.slice(-3), [0xe2 + 3, 0x98 + 3, 0x83 + 3]);
  });

  test('heap merging equals a literal port of run.c encode on a corpus', () => {
    const tok = loadLlama2cTokenizer(TOK512, 512);
    const reference = runCEncoder(fs.readFileSync(TOK512), 512);
    const excerpt = path.join(DATA, 'tinystories-excerpt', 'TinyStories-valid-excerpt.txt');
    const lines = fs.existsSync(excerpt) ? fs.readFileSync(excerpt, 'utf8').split('\n').slice(0, 6) : [];
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed / 0x7fffffff;
    };
    const alphabet = 'aeiou tnsrhl.,!?\'"\nxyzé☃';
    const randomTexts = Array.from({ length: 50 }, () =>
      Array.from({ length: 1 + Math.floor(random() * 60) }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''),
    );
    for (const text of [...lines.map((l) => l.slice(0, 400)), ...randomTexts, 'aaaaaaaaaaaa', 'the the the the']) {
      assert.deepEqual(tok.encode(text), reference(text), JSON.stringify(text));
    }
  });

  test('loadTokenizer finds tok<vocab>.bin next to a llama2.c model and reads the vocab size from it', { skip: missingData }, () => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'model-'));
    fs.copyFileSync(path.join(STORIES, 'stories260K.bin'), path.join(dir, 'stories260K.bin'));
    fs.copyFileSync(TOK512, path.join(dir, 'tok512.bin'));
    const tok = loadTokenizer(path.join(dir, 'stories260K.bin'));
    assert.equal(tok.kind, 'llama2c');
    assert.equal(tok.vocabSize, 512);
    const explicit = loadTokenizer(path.join(STORIES, 'stories260K.bin'), { tokenizerPath: TOK512, vocabSize: 512 });
    assert.deepEqual(explicit.encode('Once upon a time'), [1, 403, 407, 261, 378]);
    fs.rmSync(path.join(dir, 'tok512.bin'));
    assert.throws(
      () => loadTokenizer(path.join(dir, 'stories260K.bin')),
      (err: unknown) => err instanceof TokenizerError && err.kind === 'missing' && /tokenizer\.bin and tok512\.bin/.test(err.message),
    );
  });

  test('wrong vocab size and corrupt files are format errors naming the file', () => {
    for (const vocab of [511, 513]) {
      assert.throws(
        () => loadLlama2cTokenizer(TOK512, vocab),
        (err: unknown) => err instanceof TokenizerError && err.kind === 'format' && err.message.includes('tok512.bin') && err.message.includes(String(vocab)),
      );
    }
    const corrupt = path.join(tmpRoot, 'corrupt.bin');
    const bytes = Buffer.from(fs.readFileSync(TOK512));
    bytes.writeInt32LE(1000, 8); // length of record 0
    fs.writeFileSync(corrupt, bytes);
    assert.throws(
      () => loadLlama2cTokenizer(corrupt, 512),
      (err: unknown) => err instanceof TokenizerError && err.kind === 'format' && err.message.includes('corrupt.bin'),
    );
  });
});

test('missing tokenizer file and bad vocab size', () => {
  const missing = path.join(tmpRoot, 'nope.bin');
  assert.throws(
    () => loadLlama2cTokenizer(missing, 512),
    (err: unknown) => err instanceof TokenizerError && err.kind === 'missing' && err.file === missing && err.message.includes('nope.bin'),
  );
  assert.throws(
    () => loadLlama2cTokenizer(missing, 0),
    (err: unknown) => err instanceof TokenizerError && err.kind === 'usage',
  );
  assert.throws(
    () => loadTokenizer(path.join(tmpRoot, 'no-model.bin')),
    (err: unknown) => err instanceof TokenizerError && err.kind === 'missing',
  );
});

/** A literal port of run.c `encode` (quadratic merge loop), as the reference for the heap version. */
function runCEncoder(bytes: Buffer, vocabSize: number): (text: string) => number[] {
  const pieces: string[] = [];
  const scores: number[] = [];
  let offset = 4;
  for (let i = 0; i < vocabSize; i++) {
    scores.push(bytes.readFloatLE(offset));
    const len = bytes.readInt32LE(offset + 4);
    pieces.push(bytes.toString('latin1', offset + 8, offset + 8 + len));
    offset += 8 + len;
  }
  const lookup = (s: string): number => pieces.indexOf(s);
  return (text: string): number[] => {
    const tokens = [1];
    const utf8 = Buffer.from(text, 'utf8').toString('latin1');
    if (utf8.length > 0) tokens.push(lookup(' '));
    let buffer = '';
    for (let i = 0; i < utf8.length; i++) {
      const c = utf8.charCodeAt(i);
      if ((c & 0xc0) !== 0x80) buffer = '';
      buffer += utf8[i];
      const next = i + 1 < utf8.length ? utf8.charCodeAt(i + 1) : 0;
      if ((next & 0xc0) === 0x80 && buffer.length < 4) continue;
      const id = lookup(buffer);
      if (id !== -1) tokens.push(id);
      else for (let j = 0; j < buffer.length; j++) tokens.push(buffer.charCodeAt(j) + 3);
      buffer = '';
    }
    for (;;) {
      let bestScore = -1e10;
      let bestId = -1;
      let bestIdx = -1;
      for (let i = 0; i < tokens.length - 1; i++) {
        const id = lookup(pieces[tokens[i]] + pieces[tokens[i + 1]]);
        if (id !== -1 && scores[id] > bestScore) {
          bestScore = scores[id];
          bestId = id;
          bestIdx = i;
        }
      }
      if (bestIdx === -1) break;
      tokens.splice(bestIdx, 2, bestId);
    }
    return tokens;
  };
}
