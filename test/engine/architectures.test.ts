/**
 * Qwen3, Phi-3, Gemma 2 and Gemma 3 against the float64 reference (test/reference/transformer64.ts) on tiny
 * random-weight models generated here: logits, gradients (float64 finite differences), padding and KV-cache
 * invariances with sliding-window layers, and a check that each feature of the fixtures (soft-capping, sliding
 * window, local RoPE base, (1 + w) norms, scaled embeddings, query_pre_attn_scalar, q/k norms) moves the
 * reference's logits, so the parity checks would notice the engine dropping one. Exports write the models' own
 * HF names and a config.json that transformers and the loader read back to the same logits.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { llamaCppArchitecture } from '../../engine/export/gguf';
import { exportHfModel } from '../../engine/export/hf';
import { loadModel } from '../../engine/model/load';
import { paramSpecs } from '../../model/params';
import { readSt } from './export/st-reader';
import { normalizeHfConfig, type ModelConfig, type RopeScaling } from '../../model/config';
import { disposeCache, forward } from '../../engine/model/forward';
import { referenceLogits } from '../reference/transformer64';
import { checkGradients, logitsDiff, randomIds, randomWeightsModel, weights64 } from '../reference/parity';
import { maxRelDiff, testBackend } from '../helpers';
import { nativeMatmulActive } from '../../engine/native-matmul';
import { Rng } from '../../engine/util/random';

/**
 * One decoded row against the same row of a 7-row forward. wasm (XNNPACK) computes a row the same whatever the row
 * count: 0 difference, 1e-4 allowed. A BLAS picks kernels by shape, so one row and seven rows sum in different
 * orders: up to 1.9e-4 measured (OpenBLAS 0.3.21, near-zero logits under the 1e-3 floor), 5e-4 allowed.
 */
function cacheTolerance(): number {
  return nativeMatmulActive() ? 5e-4 : 1e-4;
}

export const ARCH_CONFIGS: Record<string, Record<string, unknown>> = {
  // head_dim 6 ≠ hidden / heads = 4: q_norm and k_norm are over head_dim.
  qwen3: {
    model_type: 'qwen3',
    vocab_size: 29,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 6,
    rms_norm_eps: 1e-6,
    rope_theta: 1000000,
    tie_word_embeddings: true,
  },
  // Fused qkv_proj (with GQA) and gate_up_proj; a window of 5 that the 9-token sequences exceed.
  phi3: {
    model_type: 'phi3',
    vocab_size: 33,
    hidden_size: 16,
    intermediate_size: 20,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    rms_norm_eps: 1e-5,
    sliding_window: 5,
    tie_word_embeddings: false,
  },
  // LongRoPE as Phi-3 128k has it: short factors and the cos/sin multiplier sqrt(1 + ln(64 / 16) / ln 16) within 16 positions.
  phi3_longrope: {
    model_type: 'phi3',
    vocab_size: 30,
    hidden_size: 16,
    intermediate_size: 20,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 2,
    max_position_embeddings: 64,
    original_max_position_embeddings: 16,
    rope_scaling: { type: 'longrope', short_factor: [1, 1.5, 3, 7], long_factor: [2, 4, 8, 16] },
  },
  // Phi-4-mini's partial rotary (RoPE on the first half of each head here, the rest passing through) with LongRoPE.
  phi3_partial_rotary: {
    model_type: 'phi3',
    vocab_size: 27,
    hidden_size: 16,
    intermediate_size: 20,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    partial_rotary_factor: 0.5,
    max_position_embeddings: 64,
    original_max_position_embeddings: 32,
    rope_scaling: { type: 'longrope', short_factor: [1, 2], long_factor: [3, 4] },
  },
  // Even layers slide over 4 positions; soft caps low enough to bend the scores and logits.
  gemma2: {
    model_type: 'gemma2',
    vocab_size: 37,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 3,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    head_dim: 8,
    query_pre_attn_scalar: 12,
    sliding_window: 4,
    attn_logit_softcapping: 1.5,
    final_logit_softcapping: 2,
    hidden_activation: 'gelu_pytorch_tanh',
  },
  // Layers 0 and 2 slide (pattern 2) with the local RoPE base; layers 1 and 3 are global with linear scaling.
  gemma3: {
    model_type: 'gemma3_text',
    vocab_size: 41,
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 4,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    head_dim: 8,
    query_pre_attn_scalar: 8,
    sliding_window: 3,
    sliding_window_pattern: 2,
    rope_theta: 1000000,
    rope_local_base_freq: 10,
    rope_scaling: { rope_type: 'linear', factor: 4 },
  },
};

const config = (name: string): ModelConfig => normalizeHfConfig(ARCH_CONFIGS[name] as Record<string, unknown>, `${name}/config.json`);

describe('Qwen3, Phi-3, Gemma 2 and Gemma 3 match the float64 reference', () => {
  before(async () => {
    await testBackend();
  });

  for (const name of Object.keys(ARCH_CONFIGS)) {
    it(`${name}: logits match within 1e-4 relative`, async () => {
      const model = randomWeightsModel(config(name), 7);
      try {
        const d = await logitsDiff(model, randomIds(new Rng(3), 9, model.config.vocabSize));
        assert.ok(d < 1e-4, `max relative diff ${d}`);
      } finally {
        model.dispose();
      }
    });

    it(`${name}: gradients of every parameter match float64 finite differences`, async () => {
      const model = randomWeightsModel(config(name), 11);
      try {
        await checkGradients(model, randomIds(new Rng(5), 8, model.config.vocabSize), 9);
      } finally {
        model.dispose();
      }
    });

    it(`${name}: left padding and incremental decoding with the KV cache equal the plain forward`, async () => {
      const model = randomWeightsModel(config(name), 1);
      try {
        const ids = [1, 2, 3, 4, 5, 6, 7];
        const full = tf.tidy(() => forward(model, [ids]).logits as tf.Tensor3D);
        const fullData = await full.array();
        const padded = tf.tidy(() => forward(model, [[0, 0, ...ids]], { attentionMask: [[0, 0, 1, 1, 1, 1, 1, 1, 1]], logits: 'last' }).logits as tf.Tensor3D);
        // 5e-4: float32 with OpenBLAS's kernels, whose summation order depends on the CPU and the matrix shape (the
        // padded batch is longer); measured 2.2e-4 for phi3_partial_rotary on an Intel Xeon, 0 without the addon.
        const padDiff = maxRelDiff(await padded.data(), fullData[0]?.[6] ?? []);
        assert.ok(padDiff < 5e-4, `left padding: max relative diff ${padDiff}`);
        const first = tf.tidy(() => {
          const r = forward(model, [ids.slice(0, 3)], { returnCache: true, logits: 'last' });
          return { logits: r.logits as tf.Tensor3D, keys: r.cache?.keys ?? [], values: r.cache?.values ?? [] };
        });
        let cache = { keys: first.keys, values: first.values, length: 3 };
        for (let t = 3; t < ids.length; t++) {
          const step = tf.tidy(() => {
            const r = forward(model, [[ids[t] as number]], { cache, returnCache: true, logits: 'last' });
            return { logits: r.logits as tf.Tensor3D, keys: r.cache?.keys ?? [], values: r.cache?.values ?? [] };
          });
          assert.ok(maxRelDiff(await step.logits.data(), fullData[0]?.[t] ?? []) < cacheTolerance(), `position ${t}`);
          disposeCache(cache);
          cache = { keys: step.keys, values: step.values, length: t + 1 };
          step.logits.dispose();
        }
        disposeCache(cache);
        tf.dispose([full, padded, first.logits]);
      } finally {
        model.dispose();
      }
    });
  }

  it("each feature of the fixtures changes the reference's logits", async () => {
    const toggles: Array<[string, string, (c: ModelConfig) => ModelConfig]> = [
      ['gemma2', 'attention soft-capping', (c) => ({ ...c, attnSoftcap: undefined })],
      ['gemma2', 'final soft-capping', (c) => ({ ...c, finalSoftcap: undefined })],
      ['gemma2', 'sliding window', (c) => ({ ...c, slidingLayers: c.slidingLayers.map(() => false) })],
      ['gemma2', 'query_pre_attn_scalar', (c) => ({ ...c, queryPreAttnScalar: undefined })],
      ['gemma2', '(1 + w) norms', (c) => ({ ...c, normPlusOne: false })],
      ['gemma2', 'post-norms', (c) => ({ ...c, postNorms: false })],
      ['gemma2', 'scaled embeddings', (c) => ({ ...c, embedScale: 1 })],
      ['gemma3', 'local RoPE base', (c) => ({ ...c, localRopeTheta: undefined })],
      ['gemma3', 'global RoPE scaling', (c) => ({ ...c, ropeScaling: undefined })],
      ['gemma3', 'q/k norms', (c) => ({ ...c, qkNorm: false })],
      ['gemma3', 'sliding layer pattern', (c) => ({ ...c, slidingLayers: c.slidingLayers.map((s) => !s) })],
      ['qwen3', 'q/k norms', (c) => ({ ...c, qkNorm: false })],
      ['phi3', 'sliding window', (c) => ({ ...c, slidingWindow: undefined })],
      ['phi3_longrope', 'LongRoPE short factors', (c) => ({ ...c, ropeScaling: { ...(c.ropeScaling as RopeScaling), shortFactor: [1, 1, 1, 1] } })],
      ['phi3_partial_rotary', 'partial rotary', (c) => ({ ...c, rotaryDim: c.headDim, ropeScaling: undefined })],
      ['phi3_longrope', 'LongRoPE attention factor', (c) => ({ ...c, ropeScaling: { ...(c.ropeScaling as RopeScaling), attentionFactor: 1 } })],
    ];
    for (const [name, feature, off] of toggles) {
      const c = config(name);
      const model = randomWeightsModel(c, 7);
      try {
        const ws = await weights64(model);
        const ids = randomIds(new Rng(3), 9, c.vocabSize);
        const on = referenceLogits(c, ws, ids).flatMap((r) => Array.from(r));
        const without = referenceLogits(off(c), ws, ids).flatMap((r) => Array.from(r));
        assert.ok(maxRelDiff(without, on, 1e-2) > 1e-3, `${name}: turning off ${feature} does not change the logits`);
      } finally {
        model.dispose();
      }
    }
  });
});

describe('LongRoPE runs within original_max_position_embeddings only', () => {
  before(async () => {
    await testBackend();
  });

  it('a position past it, where transformers would switch to the long factors, is refused with the limit', () => {
    const model = randomWeightsModel(config('phi3_longrope'), 3);
    try {
      assert.equal(model.config.ropeScaling?.attentionFactor, Math.sqrt(1 + Math.log(4) / Math.log(16)));
      tf.dispose(tf.tidy(() => forward(model, [Array.from({ length: 16 }, (_, i) => i)]).logits as tf.Tensor3D));
      assert.throws(
        () => tf.tidy(() => forward(model, [Array.from({ length: 17 }, (_, i) => i)]).logits as tf.Tensor3D),
        /position 16 is beyond original_max_position_embeddings 16.*at most 16 tokens/,
      );
    } finally {
      model.dispose();
    }
  });
});

describe('Qwen3, Phi-3, Gemma 2 and Gemma 3 export with their own names', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-arch-export-'));
  before(async () => {
    await testBackend();
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("control vectors name llama.cpp's architecture for each (model_hint)", () => {
    assert.deepEqual(
      Object.keys(ARCH_CONFIGS).map((n) => llamaCppArchitecture(config(n))),
      ['qwen3', 'phi3', 'phi3', 'phi3', 'gemma2', 'gemma3'],
    );
  });

  for (const name of Object.keys(ARCH_CONFIGS)) {
    it(`${name}: the HF export holds exactly its HF tensor names and reloads with identical logits`, async () => {
      const model = randomWeightsModel(config(name), 13);
      const dir = path.join(tmp, name);
      let reloaded: ReturnType<typeof loadModel> | undefined;
      try {
        await exportHfModel(model, undefined, dir, { mode: 'full' });
        const st = readSt(path.join(dir, 'model.safetensors'));
        assert.deepEqual(
          [...st.tensors.keys()].sort(),
          paramSpecs(model.config)
            .map((s) => s.name)
            .sort(),
        );
        const hfConfig = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
        assert.equal(hfConfig['model_type'], model.config.modelType);
        reloaded = loadModel(dir);
        assert.deepEqual(reloaded.config, model.config);
        const ids = [[1, 5, 2, 7, 3, 4]];
        const a = tf.tidy(() => forward(model, ids).logits as tf.Tensor3D);
        const b = tf.tidy(() => forward(reloaded as ReturnType<typeof loadModel>, ids).logits as tf.Tensor3D);
        assert.deepEqual(await b.data(), await a.data());
        tf.dispose([a, b]);
      } finally {
        model.dispose();
        reloaded?.dispose();
      }
    });
  }
});
