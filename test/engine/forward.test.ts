/**
 * Parity of the engine's forward pass and gradients with the float64 reference (test/reference/transformer64.ts)
 * on small random models of each architecture, plus padding and KV-cache invariances.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { normalizeHfConfig, type ModelConfig } from '../../model/config';
import { forward, disposeCache, type Model } from '../../engine/model/forward';
import { modelToTensors, randomModel, setTrainable } from '../../engine/model/load';
import { nextTokenLoss } from '../../engine/model/loss';
import { referenceLogits, referenceLoss, type Weights64 } from '../reference/transformer64';
import { TINY_GPT2_HF, TINY_LLAMA_HF, maxRelDiff, testBackend } from '../helpers';
import { Rng } from '../../engine/util/random';

const CONFIGS: Record<string, Record<string, unknown>> = {
  gpt2: TINY_GPT2_HF,
  llama_gqa_untied: TINY_LLAMA_HF,
  qwen2_bias_tied: {
    model_type: 'qwen2',
    vocab_size: 29,
    hidden_size: 16,
    intermediate_size: 20,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    rms_norm_eps: 1e-6,
    tie_word_embeddings: true,
    rope_theta: 1000000,
  },
  llama3_scaled: {
    model_type: 'llama',
    vocab_size: 31,
    hidden_size: 32,
    intermediate_size: 40,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 2,
    rope_theta: 500000,
    tie_word_embeddings: true,
    rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 },
  },
  mistral: {
    model_type: 'mistral',
    vocab_size: 23,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 1,
    sliding_window: 4096,
  },
};

async function weights64(model: Model): Promise<Weights64> {
  const host = await modelToTensors(model);
  const out: Weights64 = new Map();
  for (const [k, v] of host) out.set(k, Float64Array.from(v.data));
  return out;
}

function randomIds(rng: Rng, n: number, vocab: number): number[] {
  return Array.from({ length: n }, () => rng.int(vocab));
}

describe('forward parity with the float64 reference', () => {
  before(async () => {
    await testBackend();
  });
  for (const [name, raw] of Object.entries(CONFIGS)) {
    it(`${name}: logits match within 1e-4 relative`, async () => {
      const config = normalizeHfConfig(raw, `${name}/config.json`);
      // std 0.2 so activations are far from zero and the comparison is meaningful.
      const model = randomModel(config, 7, 0.2);
      try {
        const ws = await weights64(model);
        const ids = randomIds(new Rng(3), 9, config.vocabSize);
        const ref = referenceLogits(config, ws, ids);
        const logits = tf.tidy(() => forward(model, [ids]).logits as tf.Tensor3D);
        const got = await logits.data();
        logits.dispose();
        const expected = Float64Array.from(ref.flatMap((r) => Array.from(r)));
        const d = maxRelDiff(got, expected, 1e-2);
        assert.ok(d < 1e-4, `max relative diff ${d}`);
      } finally {
        model.dispose();
      }
    });
  }

  for (const name of ['gpt2', 'llama_gqa_untied', 'qwen2_bias_tied']) {
    it(`${name}: gradients match float64 finite differences`, async () => {
      const config = normalizeHfConfig(CONFIGS[name] as Record<string, unknown>, 'config.json');
      const model = randomModel(config, 11, 0.2);
      try {
        const ids = randomIds(new Rng(5), 8, config.vocabSize);
        const vars = setTrainable(model, 'all');
        const { value, grads } = tf.variableGrads(() => nextTokenLoss(forward(model, [ids]).logits as tf.Tensor3D, [ids]), vars);
        const ws = await weights64(model);
        const refLoss = referenceLoss(config, ws, ids);
        assert.ok(Math.abs(((await value.data())[0] as number) - refLoss) < 1e-4 * Math.max(1, refLoss), 'loss');
        const rng = new Rng(9);
        const eps = 1e-5;
        let checked = 0;
        const hfName = new Map([...model.params].map(([hf, v]) => [v.name, hf]));
        for (const [vname, g] of Object.entries(grads)) {
          const pname = hfName.get(vname) as string;
          const gdata = await g.data();
          const spec = model.params.get(pname) as tf.Variable;
          const transposed =
            spec.shape.length === 2 && (ws.get(pname)?.length ?? 0) > 0 && !pname.startsWith('transformer.') && !pname.includes('embed_tokens');
          const disk = ws.get(pname) as Float64Array;
          for (let trial = 0; trial < 3; trial++) {
            const i = rng.int(gdata.length);
            // Map a memory index to its disk index ([in,out] in memory vs [out,in] on disk for Llama linears).
            let di = i;
            if (transposed) {
              const [rows, cols] = spec.shape as [number, number];
              const r = Math.floor(i / cols);
              const cc = i % cols;
              di = cc * rows + r;
            }
            const orig = disk[di] as number;
            disk[di] = orig + eps;
            const lp = referenceLoss(config, ws, ids);
            disk[di] = orig - eps;
            const lm = referenceLoss(config, ws, ids);
            disk[di] = orig;
            const fd = (lp - lm) / (2 * eps);
            const got = gdata[i] as number;
            assert.ok(Math.abs(got - fd) <= 2e-4 + 2e-3 * Math.abs(fd), `${pname}[${i}]: engine ${got} vs finite difference ${fd}`);
            checked++;
          }
        }
        assert.ok(checked >= 3 * vars.length);
        tf.dispose([value, ...Object.values(grads)]);
      } finally {
        model.dispose();
      }
    });
  }
});

describe('padding and cache invariances', () => {
  let config: ModelConfig;
  let model: Model;
  before(async () => {
    await testBackend();
    config = normalizeHfConfig(CONFIGS['llama_gqa_untied'] as Record<string, unknown>, 'config.json');
    model = randomModel(config, 1, 0.2);
  });

  it('right padding leaves real positions unchanged', async () => {
    const a = [3, 5, 7, 9, 11];
    const b = [2, 4, 6];
    const batched = tf.tidy(
      () =>
        forward(model, [a, [...b, 0, 0]], {
          attentionMask: [
            [1, 1, 1, 1, 1],
            [1, 1, 1, 0, 0],
          ],
        }).logits as tf.Tensor3D,
    );
    const single = tf.tidy(() => forward(model, [b]).logits as tf.Tensor3D);
    const got = (await batched.array())[1]?.slice(0, 3).flat() ?? [];
    const exp = (await single.array())[0]?.flat() ?? [];
    const d = maxRelDiff(got, exp);
    assert.ok(d < 1e-4, `max relative diff ${d}`);
    tf.dispose([batched, single]);
  });

  it('left padding with position ids from the mask matches the unpadded row', async () => {
    const b = [2, 4, 6];
    const padded = tf.tidy(() => forward(model, [[0, 0, ...b]], { attentionMask: [[0, 0, 1, 1, 1]], logits: 'last' }).logits as tf.Tensor3D);
    const single = tf.tidy(() => forward(model, [b], { logits: 'last' }).logits as tf.Tensor3D);
    assert.ok(maxRelDiff(await padded.data(), await single.data()) < 1e-4);
    tf.dispose([padded, single]);
  });

  it('incremental decoding with the KV cache equals the full forward', async () => {
    const ids = [1, 2, 3, 4, 5, 6];
    const full = tf.tidy(() => forward(model, [ids]).logits as tf.Tensor3D);
    const fullData = await full.array();
    const first = tf.tidy(() => {
      const r = forward(model, [ids.slice(0, 4)], { returnCache: true, logits: 'last' });
      return { logits: r.logits as tf.Tensor3D, keys: r.cache?.keys ?? [], values: r.cache?.values ?? [] };
    });
    let cache = { keys: first.keys, values: first.values, length: 4 };
    for (let t = 4; t < 6; t++) {
      const step = tf.tidy(() => {
        const r = forward(model, [[ids[t] as number]], { cache, returnCache: true, logits: 'last' });
        return { logits: r.logits as tf.Tensor3D, keys: r.cache?.keys ?? [], values: r.cache?.values ?? [] };
      });
      const got = await step.logits.data();
      assert.ok(maxRelDiff(got, fullData[0]?.[t] ?? []) < 1e-4, `position ${t}`);
      disposeCache(cache);
      cache = { keys: step.keys, values: step.values, length: t + 1 };
      step.logits.dispose();
    }
    disposeCache(cache);
    tf.dispose([full, first.logits]);
  });

  it('tensor count does not grow across repeated forward/backward steps', () => {
    const ids = [[1, 2, 3, 4]];
    const vars = setTrainable(model, 'all');
    const step = (): void => {
      const { value, grads } = tf.variableGrads(() => nextTokenLoss(forward(model, ids).logits as tf.Tensor3D, ids), vars);
      tf.dispose([value, ...Object.values(grads)]);
    };
    step();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, before);
  });
});
