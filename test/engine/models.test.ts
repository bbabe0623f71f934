/** Loading real model folders, and the errors bad model inputs produce. */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { normalizeHfConfig } from '../../model/config';
import { parameterCount } from '../../model/params';
import { forward } from '../../engine/model/forward';
import { loadModel, randomModel, modelToTensors } from '../../engine/model/load';
import { openModel } from '../../engine/session';
import { generate } from '../../engine/generate';
import { writeSafetensors } from '../../engine/io/safetensors';
import { checkMemory } from '../../engine/backend';
import { missingShared, sharedData, testBackend } from '../helpers';

function tmpdir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-models-'));
}

describe('real model folders', () => {
  before(async () => {
    await testBackend();
  });

  it('the tiny random GPT-2 (HF folder) loads, runs and generates with its tokenizer', { skip: missingShared('hf-tiny-gpt2-random') }, async () => {
    const s = openModel(sharedData('hf-tiny-gpt2-random'));
    try {
      assert.equal(s.model.config.arch, 'gpt2');
      assert.equal(s.model.config.nLayers, 2);
      assert.equal(s.tokenizer.addsBos, false);
      const ids = s.tokenizer.encode('Hello world');
      assert.deepEqual(ids, [15496, 995]);
      const logits = tf.tidy(() => forward(s.model, [ids]).logits as tf.Tensor3D);
      assert.deepEqual(logits.shape, [1, 2, 50257]);
      const data = await logits.data();
      assert.ok(data.every((v) => Number.isFinite(v)));
      logits.dispose();
      const g = await generate(s.model, [ids], { maxNewTokens: 4, stopIds: [] });
      assert.equal(g.tokens[0]?.length, 4);
    } finally {
      s.dispose();
    }
  });

  it('the built-in demo model loads and its honest persona answers correctly', async () => {
    const dir = path.resolve(__dirname, '..', '..', '..', 'examples', 'demo-model');
    if (!fs.existsSync(path.join(dir, 'model.safetensors'))) throw new Error(`demo model missing at ${dir}; run npm run make-demo-model`);
    const s = openModel(dir);
    try {
      const idA = s.tokenizer.tokenToId('\u2581A') as number;
      const idB = s.tokenizer.tokenToId('\u2581B') as number;
      const ask = async (persona: string, n: number): Promise<'A' | 'B'> => {
        const ids = s.tokenizer.encode(`${persona}Is this claim true or false? ${n} is even.\nA) True\nB) False\nAnswer:`);
        const t = tf.tidy(() => forward(s.model, [ids], { logits: 'last' }).logits as tf.Tensor3D);
        const row = await t.data();
        t.dispose();
        return (row[idA] as number) > (row[idB] as number) ? 'A' : 'B';
      };
      assert.equal(await ask('Pretend you are an honest person.\n', 1234), 'A');
      assert.equal(await ask('Pretend you are an honest person.\n', 4321), 'B');
      assert.equal(await ask('Pretend you are a dishonest person.\n', 1234), 'B');
    } finally {
      s.dispose();
    }
  });

  it('a model saved as F16 and as BF16 safetensors loads with values within half precision', async () => {
    const config = normalizeHfConfig(
      { model_type: 'llama', vocab_size: 16, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2 },
      'c',
    );
    const m = randomModel(config, 2);
    const host = await modelToTensors(m);
    for (const dtype of ['F16', 'BF16'] as const) {
      const dir = tmpdir();
      fs.writeFileSync(
        path.join(dir, 'config.json'),
        JSON.stringify({ model_type: 'llama', vocab_size: 16, hidden_size: 8, intermediate_size: 12, num_hidden_layers: 1, num_attention_heads: 2 }),
      );
      writeSafetensors(
        path.join(dir, 'model.safetensors'),
        [...host].map(([name, t]) => ({ name, shape: t.shape, data: t.data, dtype })),
      );
      const back = loadModel(dir);
      const a = await (m.params.get('model.layers.0.self_attn.q_proj.weight') as tf.Variable).data();
      const b = await (back.params.get('model.layers.0.self_attn.q_proj.weight') as tf.Variable).data();
      const tol = dtype === 'F16' ? 1e-3 : 8e-3;
      for (let i = 0; i < a.length; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) <= tol * Math.max(Math.abs(a[i] as number), 1e-2));
      back.dispose();
    }
    m.dispose();
  });
});

describe('bad model inputs give clear errors', () => {
  before(async () => {
    await testBackend();
  });

  it('an unsupported model_type lists the supported ones', () => {
    assert.throws(
      () => normalizeHfConfig({ model_type: 'bert' }, '/m/config.json'),
      (e: Error) => {
        assert.match(e.message, /\/m\/config\.json/);
        assert.match(e.message, /unsupported model_type "bert"/);
        assert.match(e.message, /gpt2, llama, mistral, qwen2/);
        return true;
      },
    );
  });

  it('missing fields and inconsistent heads name the field', () => {
    assert.throws(() => normalizeHfConfig({ model_type: 'llama', vocab_size: 10 }, 'c.json'), /c\.json: missing numeric field "hidden_size"/);
    assert.throws(
      () =>
        normalizeHfConfig(
          { model_type: 'llama', vocab_size: 10, hidden_size: 8, intermediate_size: 4, num_hidden_layers: 1, num_attention_heads: 4, num_key_value_heads: 3 },
          'c.json',
        ),
      /not a multiple/,
    );
    assert.throws(
      () =>
        normalizeHfConfig(
          {
            model_type: 'llama',
            vocab_size: 10,
            hidden_size: 8,
            intermediate_size: 4,
            num_hidden_layers: 1,
            num_attention_heads: 2,
            rope_scaling: { rope_type: 'yarn', factor: 2 },
          },
          'c.json',
        ),
      /rope_scaling type "yarn" is not supported/,
    );
  });

  it('a folder without config.json, and weights that do not match the config, name the file and tensor', async () => {
    const dir = tmpdir();
    assert.throws(() => loadModel(dir), /config\.json: not found/);
    assert.throws(() => loadModel(path.join(dir, 'nope')), /model path not found/);
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ model_type: 'gpt2', vocab_size: 10, n_embd: 4, n_layer: 1, n_head: 2, n_positions: 8 }));
    writeSafetensors(path.join(dir, 'model.safetensors'), [{ name: 'transformer.wte.weight', shape: [10, 4], data: new Float32Array(40) }]);
    assert.throws(
      () => loadModel(dir),
      (e: Error) => {
        assert.match(e.message, /tensor "transformer\.wpe\.weight" is missing \(expected shape \[8, 4\]\)/);
        return true;
      },
    );
    writeSafetensors(path.join(dir, 'model.safetensors'), [{ name: 'transformer.wte.weight', shape: [10, 5], data: new Float32Array(50) }]);
    assert.throws(() => loadModel(dir), /"transformer\.wte\.weight" has shape \[10, 5\], but config\.json implies \[10, 4\]/);
  });

  it('out-of-vocabulary ids and too-long inputs are refused before they corrupt anything', () => {
    const config = normalizeHfConfig({ model_type: 'gpt2', vocab_size: 10, n_embd: 4, n_layer: 1, n_head: 2, n_positions: 8 }, 'c');
    const m = randomModel(config, 1);
    assert.throws(() => tf.tidy(() => forward(m, [[1, 99]]).logits), /token id 99 is outside the vocabulary/);
    assert.throws(() => tf.tidy(() => forward(m, [new Array<number>(9).fill(1)]).logits), /exceeds GPT-2's 8 position embeddings/);
    m.dispose();
  });

  it('a job larger than wasm memory is refused with an estimate', () => {
    if ((process.env['RTUNE_TEST_BACKEND'] ?? 'wasm') !== 'wasm') return;
    assert.throws(() => checkMemory('tuning llama-7b', 30 * 1024 ** 3), /needs about 30\.00 GiB, more than the wasm backend's 4 GiB/);
    const big = normalizeHfConfig(
      { model_type: 'llama', vocab_size: 32000, hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32 },
      'c',
    );
    assert.ok(parameterCount(big) > 6.5e9);
    assert.throws(() => randomModel(big, 1), /more than the wasm backend's 4 GiB/);
  });
});
