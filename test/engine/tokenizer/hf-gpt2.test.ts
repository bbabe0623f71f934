/**
 * GPT-2 byte-level BPE through the HF loader, from three layouts: tokenizer.json (hf-tiny-gpt2-random), OpenAI's
 * encoder.json + vocab.bpe (gpt2-tokenizer) and vocab.json + merges.txt. All must agree with each other, with known
 * GPT-2 ids, and with a port of OpenAI's encoder.py on WikiText-2 lines; decode(encode(x)) must give x back.
 */

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';

import { loadHfTokenizer, loadTokenizer, Tokenizer, TokenizerError } from '../../../engine/tokenizer/index';

const REPO_ROOT = path.resolve(__dirname, '../../../..');
const DATA = process.env.RTUNE_SHARED_DATA ?? path.resolve(REPO_ROOT, '../shared/data');
const TINY_GPT2 = path.join(DATA, 'hf-tiny-gpt2-random');
const OPENAI_GPT2 = path.join(DATA, 'gpt2-tokenizer');
const WIKITEXT = path.join(DATA, 'wikitext-2-raw-test', 'wiki.test.lf.raw');
const required = [path.join(TINY_GPT2, 'tokenizer.json'), path.join(OPENAI_GPT2, 'encoder.json'), WIKITEXT];
const missingData = required.every((f) => fs.existsSync(f)) ? false : `missing one of ${required.join(', ')}`;

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-tok-gpt2-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

const EXTRA_TEXTS = [
  'Hello world',
  ' Hello world',
  'Hello, world!',
  '<|endoftext|>',
  'emoji 😀🎉 and flags 🇫🇷, CJK 日本語, accents déjà vu',
  'multiple   spaces    here  ',
  '\n\nnew\nlines\n\n\n',
  '\ttabs\t\tand\r\nCRLF',
  'before<|endoftext|>after',
  'a <|endoftext|> b',
  "it's we're they've I'm you'll he'd",
  '1234567890 3.14159 -42',
  '',
  ' ',
  '  ',
  '\u00a0non-breaking\u00a0space',
  'zero\u200bwidth',
];

describe('GPT-2 tokenizers', { skip: missingData }, () => {
  let fromTokenizerJson: Tokenizer;
  let fromOpenAiFiles: Tokenizer;
  let fromVocabMerges: Tokenizer;
  const corpus = (): string[] => [...fs.readFileSync(WIKITEXT, 'utf8').split('\n').slice(0, 200), ...EXTRA_TEXTS];

  test('load from three layouts', () => {
    fromTokenizerJson = loadHfTokenizer(TINY_GPT2);
    fromOpenAiFiles = loadTokenizer(OPENAI_GPT2);
    // vocab.json + merges.txt alone (symlinked so the shared data is not copied).
    const bare = fs.mkdtempSync(path.join(tmpRoot, 'bare-'));
    for (const name of ['vocab.json', 'merges.txt']) fs.symlinkSync(path.join(TINY_GPT2, name), path.join(bare, name));
    fromVocabMerges = loadHfTokenizer(bare);
    for (const tok of [fromTokenizerJson, fromOpenAiFiles, fromVocabMerges]) {
      assert.equal(tok.kind, 'hf');
      assert.equal(tok.vocabSize, 50257);
      assert.equal(tok.addsBos, false);
      assert.equal(tok.bosId, 50256);
      assert.equal(tok.eosId, 50256);
      assert.equal(tok.padId, 50256);
      assert.match(tok.hash, /^[0-9a-f]{64}$/);
      assert.equal(tok.chatTemplate, undefined);
      assert.equal(tok.tokenToId('Hello'), 15496);
      assert.equal(tok.idToToken(995), 'Ġworld');
      assert.equal(tok.idToToken(50257), undefined);
    }
    assert.notEqual(fromTokenizerJson.hash, fromOpenAiFiles.hash);
  });

  test('known GPT-2 encodings', () => {
    const known: Array<[string, number[]]> = [
      ['Hello world', [15496, 995]],
      [' Hello world', [18435, 995]],
      ['Hello, world!', [15496, 11, 995, 0]],
      ['<|endoftext|>', [50256]],
      ['', []],
    ];
    for (const tok of [fromTokenizerJson, fromOpenAiFiles, fromVocabMerges]) {
      for (const [text, ids] of known) assert.deepEqual(tok.encode(text), ids, text);
      assert.deepEqual(tok.encode('Hello world', { addBos: true }), [50256, 15496, 995]);
    }
  });

  test('the layouts agree with each other and with encoder.py on a varied corpus', () => {
    const reference = openAiEncoder(OPENAI_GPT2);
    for (const text of corpus()) {
      const ids = fromTokenizerJson.encode(text);
      assert.deepEqual(fromOpenAiFiles.encode(text), ids, JSON.stringify(text));
      assert.deepEqual(fromVocabMerges.encode(text), ids, JSON.stringify(text));
      if (!text.includes('<|endoftext|>')) assert.deepEqual(reference(text), ids, JSON.stringify(text));
    }
  });

  test('decode(encode(x)) === x', () => {
    for (const tok of [fromTokenizerJson, fromOpenAiFiles]) {
      for (const text of corpus()) assert.equal(tok.decode(tok.encode(text)), text, JSON.stringify(text));
    }
  });

  test('decode: skipSpecial, empty input, bad ids', () => {
    const ids = fromTokenizerJson.encode('a<|endoftext|>b');
    assert.deepEqual(ids, [64, 50256, 65]);
    assert.equal(fromTokenizerJson.decode(ids), 'a<|endoftext|>b');
    assert.equal(fromTokenizerJson.decode(ids, { skipSpecial: true }), 'ab');
    assert.equal(fromTokenizerJson.decode([]), '');
    assert.throws(
      () => fromTokenizerJson.decode([50257]),
      (err: unknown) => err instanceof TokenizerError && err.kind === 'usage',
    );
  });

  test('no chat template -> clear error', () => {
    assert.throws(
      () => fromTokenizerJson.applyChatTemplate([{ role: 'user', content: 'hi' }]),
      (err: unknown) => err instanceof TokenizerError && err.kind === 'usage' && /no chat template/.test(err.message),
    );
  });
});

/** A port of OpenAI gpt-2 `src/encoder.py` (bytes_to_unicode, the pattern, greedy lowest-rank merges). */
function openAiEncoder(dir: string): (text: string) => number[] {
  const encoder = JSON.parse(fs.readFileSync(path.join(dir, 'encoder.json'), 'utf8')) as Record<string, number>;
  const merges = fs
    .readFileSync(path.join(dir, 'vocab.bpe'), 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => l.length > 0);
  const ranks = new Map(merges.map((m, i) => [m, i]));
  const byteToUnicode: string[] = [];
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  let extra = 0;
  for (let b = 0; b < 256; b++) byteToUnicode[b] = String.fromCharCode(printable(b) ? b : 256 + extra++);
  const pattern = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;
  const bpe = (token: string): string[] => {
    let word = [...token];
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) return word;
      const [first, second] = [word[best], word[best + 1]];
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i + 1 < word.length && word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(word[i]);
        }
      }
      word = merged;
    }
  };
  return (text: string): number[] => {
    const ids: number[] = [];
    for (const match of text.matchAll(pattern)) {
      const unicode = [...Buffer.from(match[0], 'utf8')].map((b) => byteToUnicode[b]).join('');
      for (const piece of bpe(unicode)) ids.push(encoder[piece]);
    }
    return ids;
  };
}
