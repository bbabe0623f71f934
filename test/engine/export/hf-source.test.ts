/**
 * What an HF export carries from its source: the tiny GPT-2's own config.json (deep equal, nulls kept; only the
 * dtype field changes, and only when the export's dtype differs), its tokenizer files byte for byte, and a tuned
 * full export that reloads with the tuned weights and the same config; a llama2.c source (stories260K) exports its
 * tokenizer.bin, an HF tokenizer.json converted from it that encodes exactly as the llama2.c tokenizer does, a
 * model.bin that is the source's bytes when untuned and reads back with the tuned weights, and READMEs that say
 * only what is true (no `from_pretrained` of a .bin).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { exportHfModel, loadChangedExport } from '../../../engine/export/hf';
import { writeLlama2cCheckpoint } from '../../../engine/export/llama2c';
import { convertLlama2cTokenizer } from '../../../engine/export/llama2c-tokenizer';
import { readLlama2cCheckpoint } from '../../../engine/io/llama2c';
import type { Model } from '../../../engine/model/forward';
import { loadModel, modelToTensors } from '../../../engine/model/load';
import { openModel } from '../../../engine/session';
import { loadHfTokenizer, loadLlama2cTokenizer } from '../../../engine/tokenizer';
import { missingShared, sharedData, testBackend } from '../../helpers';
import { readSt } from './st-reader';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-hf-source-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

const readJson = (file: string) => JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
const GPT2 = sharedData('hf-tiny-gpt2-random');
const STORIES = sharedData('llama2c-stories260K');

describe('HF export: what the source carries', () => {
  const models: Model[] = [];
  const keep = (m: Model): Model => (models.push(m), m);
  before(async () => {
    await testBackend();
  });
  after(() => models.forEach((m) => m.dispose()));

  it(
    'tiny GPT-2: config.json is the source file (nulls kept), a tuned full export reloads with its weights',
    { skip: missingShared('hf-tiny-gpt2-random') },
    async () => {
      const source = readJson(path.join(GPT2, 'config.json'));
      assert.equal(source['n_inner'], null, 'the fixture has a null field, which a rebuilt config would lose');
      const model = keep(loadModel(GPT2));
      const target = 'transformer.h.1.mlp.c_fc.weight';
      const v = model.params.get(target) as tf.Variable;
      tf.tidy(() => v.assign(v.add(tf.randomNormal(v.shape, 0, 0.05, 'float32', 3))));
      const dir = path.join(tmpRoot, 'gpt2-full');
      const result = await exportHfModel(model, GPT2, dir, { mode: 'full' });
      // Same dtype as the source: the file itself, byte for byte.
      assert.deepEqual(readJson(path.join(dir, 'config.json')), source);
      assert.ok(fs.readFileSync(path.join(dir, 'config.json')).equals(fs.readFileSync(path.join(GPT2, 'config.json'))));
      assert.deepEqual(result.manifest.config, { from: path.join(GPT2, 'config.json'), changed: {} });
      for (const f of ['generation_config.json', 'tokenizer.json', 'tokenizer_config.json', 'special_tokens_map.json', 'vocab.json', 'merges.txt']) {
        assert.ok(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(GPT2, f))), f);
      }
      // Reloaded in rtune: the same config and exactly the tuned weights (the changed tensor included).
      const reloaded = keep(loadModel(dir));
      assert.deepEqual(reloaded.config, model.config);
      const a = await modelToTensors(reloaded);
      const b = await modelToTensors(model);
      assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
      for (const [name, t] of b) assert.deepEqual(a.get(name)?.data, t.data, name);
      const untouched = await modelToTensors(keep(loadModel(GPT2)));
      assert.notDeepEqual(a.get(target)?.data, untouched.get(target)?.data, 'the export holds the tuned tensor, not the base one');
      const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
      assert.match(readme, /AutoModelForCausalLM\.from_pretrained\("path\/to\/this\/folder"\)/);
      assert.match(readme, /AutoTokenizer/);
      assert.match(readme, /`config\.json`: the source's own config\.json, carried unchanged\./);
    },
  );

  it(
    'only the dtype field changes, and only when the dtype differs (torch_dtype, or the newer `dtype`)',
    { skip: missingShared('hf-tiny-gpt2-random') },
    async () => {
      const source = readJson(path.join(GPT2, 'config.json'));
      const model = keep(loadModel(GPT2));
      const f16 = path.join(tmpRoot, 'gpt2-f16');
      const result = await exportHfModel(model, GPT2, f16, { mode: 'changed', dtype: 'F16', base: { model, path: GPT2 } });
      assert.deepEqual(readJson(path.join(f16, 'config.json')), { ...source, torch_dtype: 'float16' });
      assert.deepEqual(result.manifest.config.changed, { torch_dtype: 'float16' });
      assert.match(fs.readFileSync(path.join(f16, 'README.md'), 'utf8'), /except `torch_dtype` = "float16" \(the export's dtype\)/);

      // A source with fields rtune does not know, the newer `dtype` key and no torch_dtype.
      const src = path.join(tmpRoot, 'gpt2-newer');
      fs.mkdirSync(src);
      fs.copyFileSync(path.join(GPT2, 'model.safetensors'), path.join(src, 'model.safetensors'));
      const { torch_dtype: _dropped, ...rest } = source;
      const newer = { ...rest, dtype: 'bfloat16', some_future_field: { nested: [1, null, 'x'] }, label2id: { a: 0 } };
      fs.writeFileSync(path.join(src, 'config.json'), JSON.stringify(newer, null, 4));
      const m2 = keep(loadModel(src));
      const out = path.join(tmpRoot, 'gpt2-newer-export');
      const r2 = await exportHfModel(m2, undefined, out, { mode: 'full' });
      assert.deepEqual(readJson(path.join(out, 'config.json')), { ...newer, dtype: 'float32' });
      assert.deepEqual(r2.manifest.config.changed, { dtype: 'float32' });
      assert.equal(r2.manifest.tokenizer, null);

      // A config.json that no longer describes the loaded model is refused, and nothing is written.
      fs.writeFileSync(path.join(src, 'config.json'), JSON.stringify({ ...newer, n_layer: 3 }));
      const stale = path.join(tmpRoot, 'gpt2-stale');
      await assert.rejects(exportHfModel(m2, undefined, stale, { mode: 'full' }), /config\.json: no longer describes the loaded model/);
      assert.equal(fs.existsSync(stale), false);
    },
  );

  it(
    'stories260K full: tokenizer.bin copied, tokenizer.json converted and encoding as llama2.c does, README true',
    { skip: missingShared('llama2c-stories260K', 'stories260K.bin') },
    async () => {
      const bin = path.join(STORIES, 'stories260K.bin');
      const tok512 = path.join(STORIES, 'tok512.bin');
      const model = keep(loadModel(bin));
      const dir = path.join(tmpRoot, 'stories-full');
      const result = await exportHfModel(model, tok512, dir, { mode: 'full' });
      assert.ok(
        ['tokenizer.bin', 'tokenizer.json', 'tokenizer_config.json', 'LICENSE-llama2.c-MIT.txt'].every((f) => result.files.includes(f)),
        result.files.join(', '),
      );
      assert.ok(fs.readFileSync(path.join(dir, 'tokenizer.bin')).equals(fs.readFileSync(tok512)));
      assert.deepEqual(result.manifest.licences, ['LICENSE-llama2.c-MIT.txt']);
      assert.equal(result.manifest.config.from, null);
      assert.equal(readJson(path.join(dir, 'config.json'))['model_type'], 'llama');
      // The converted tokenizer (read by @huggingface/tokenizers, not by the llama2.c code) encodes as tok512.bin does.
      const original = loadLlama2cTokenizer(tok512, 512);
      const converted = loadHfTokenizer(dir);
      assert.equal(converted.addsBos, true);
      const texts = [
        ...fs.readFileSync(sharedData('tinystories-excerpt', 'TinyStories-valid-excerpt.txt'), 'utf8').split('\n'),
        'Once upon a time, there was a little girl named Lily.',
        '  two  spaces, tab\there, new\nline',
        'héllo wörld ☃ 日本語 🙂',
        '',
      ];
      let tokens = 0;
      for (const t of texts) {
        const ids = original.encode(t);
        tokens += ids.length;
        assert.deepEqual(converted.encode(t), ids, JSON.stringify(t.slice(0, 60)));
        assert.equal(converted.decode(ids, { skipSpecial: true }), original.decode(ids), JSON.stringify(t.slice(0, 60)));
      }
      assert.ok(tokens > 5000, `${tokens} tokens compared`);
      // rtune opens the folder as an HF model with that tokenizer.
      const session = openModel(dir);
      try {
        assert.equal(session.tokenizer.kind, 'hf');
        assert.deepEqual(session.tokenizer.encode(texts[0] as string), original.encode(texts[0] as string));
      } finally {
        session.dispose();
      }
      // model.bin: the llama2.c form. The untouched model writes the source's weights bit for bit; only the legacy
      // freq_cis tables (which run.c skips) may differ in the last bit of float32 rounding.
      const written = fs.readFileSync(path.join(dir, 'model.bin'));
      const source = fs.readFileSync(bin);
      assert.equal(written.length, source.length);
      const freqStart = source.length - 2 * 512 * 4 * 4; // seq_len 512, head_size 8: two tables of 512·4 floats, shared classifier
      assert.ok(written.subarray(0, freqStart).equals(source.subarray(0, freqStart)), 'header and weights are the source bytes');
      for (let i = freqStart; i < source.length; i += 4) assert.ok(Math.abs(written.readFloatLE(i) - source.readFloatLE(i)) < 1e-6, `freq_cis at byte ${i}`);
      // rtune opens model.bin with the tokenizer.bin beside it.
      const l2c = openModel(path.join(dir, 'model.bin'));
      try {
        assert.equal(l2c.model.format, 'llama2c');
        assert.equal(l2c.tokenizer.kind, 'llama2c');
      } finally {
        l2c.dispose();
      }
      const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
      assert.match(readme, /complete Hugging Face Llama model converted from the llama2\.c checkpoint/);
      assert.match(readme, /`\.\/run model\.bin -z tokenizer\.bin`/);
      assert.match(readme, /AutoTokenizer\.from_pretrained\("path\/to\/this\/folder"\)/);
      assert.match(readme, /`tokenizer\.bin`: the source's llama2\.c tokenizer, unchanged/);
      assert.doesNotMatch(readme, /\.bin"\)/);
    },
  );

  it(
    'stories260K changed: the README never loads the .bin with transformers; the tokenizer is there; base + delta rebuilds',
    { skip: missingShared('llama2c-stories260K', 'stories260K.bin') },
    async () => {
      const bin = path.join(STORIES, 'stories260K.bin');
      const base = keep(loadModel(bin));
      const tuned = keep(loadModel(bin));
      const v = tuned.params.get('model.layers.2.self_attn.o_proj.weight') as tf.Variable;
      tf.tidy(() => v.assign(v.mul(1.5)));
      const dir = path.join(tmpRoot, 'stories-changed');
      const result = await exportHfModel(tuned, path.join(STORIES, 'tok512.bin'), dir, { mode: 'changed', base: { model: base, path: bin } });
      assert.deepEqual(
        result.manifest.tensors.map((t) => t.name),
        ['model.layers.2.self_attn.o_proj.weight'],
      );
      const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
      assert.doesNotMatch(readme, /from_pretrained\("[^"]*\.bin"\)/, readme);
      assert.doesNotMatch(readme, /load_state_dict/);
      assert.match(readme, /is a llama2\.c checkpoint, which transformers cannot load/);
      assert.match(readme, /export with `weights full`/);
      assert.match(readme, /loadChangedExport/);
      assert.ok(result.files.includes('tokenizer.bin') && result.files.includes('tokenizer.json'));
      const st = readSt(path.join(dir, 'model.safetensors'));
      assert.equal(st.metadata?.['base_model'], bin);
      const rebuilt = keep(loadChangedExport(dir));
      const a = await modelToTensors(rebuilt);
      for (const [name, t] of await modelToTensors(tuned)) assert.deepEqual(a.get(name)?.data, t.data, name);
    },
  );

  it(
    'a tuned llama2.c model written as model.bin reads back with the tuned weights (q/k permuted back)',
    { skip: missingShared('llama2c-stories260K', 'stories260K.bin') },
    async () => {
      const model = keep(loadModel(path.join(STORIES, 'stories260K.bin')));
      for (const name of ['model.layers.1.self_attn.q_proj.weight', 'model.layers.3.self_attn.k_proj.weight', 'model.layers.0.mlp.up_proj.weight']) {
        const v = model.params.get(name) as tf.Variable;
        tf.tidy(() => v.assign(v.add(tf.randomNormal(v.shape, 0, 0.1, 'float32', 9))));
      }
      const file = path.join(tmpRoot, 'tuned.bin');
      const tensors = await modelToTensors(model);
      writeLlama2cCheckpoint(file, model.config, tensors);
      const back = readLlama2cCheckpoint(file);
      assert.deepEqual([...back.tensors.keys()].sort(), [...tensors.keys()].sort());
      for (const [name, t] of tensors) assert.deepEqual(back.tensors.get(name)?.data, t.data, name);
      // Not every model has a llama2.c form.
      const gpt2 = keep(loadModel(GPT2));
      assert.throws(() => writeLlama2cCheckpoint(path.join(tmpRoot, 'gpt2.bin'), gpt2.config, new Map()), /has no llama2\.c form/);
    },
  );

  it('a tokenizer.bin with duplicate pieces is not converted, and the export says why', () => {
    // max_token_length, then (score, length, bytes) per record: <unk>, <s>, </s>, "a", "a".
    const rec = (score: number, s: string) => {
      const b = Buffer.alloc(8 + s.length);
      b.writeFloatLE(score, 0);
      b.writeInt32LE(s.length, 4);
      b.write(s, 8, 'latin1');
      return b;
    };
    const head = Buffer.alloc(4);
    head.writeInt32LE(8, 0);
    const bytes = Buffer.concat([head, rec(0, '<unk>'), rec(0, '\n<s>\n'), rec(0, '\n</s>\n'), rec(-1, 'a'), rec(-2, 'a')]);
    assert.match(String(convertLlama2cTokenizer(bytes, 'dup.bin', 5, 16)), /pieces 3 and 4 are both "a"/);
    const ok = Buffer.concat([head, rec(0, '<unk>'), rec(0, '\n<s>\n'), rec(0, '\n</s>\n'), rec(-1, 'a'), rec(-2, ' '), rec(-3, ' a')]);
    const conv = convertLlama2cTokenizer(ok, 'ok.bin', 6, 16);
    assert.ok(typeof conv !== 'string');
    const model = conv.tokenizer['model'] as { vocab: Record<string, number>; merges: string[][] };
    assert.deepEqual(model.vocab, { '<unk>': 0, '<s>': 1, '</s>': 2, a: 3, '\u2581': 4, '\u2581a': 5 });
    assert.deepEqual(model.merges, [['\u2581', 'a']]);
  });
});
