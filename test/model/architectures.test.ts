/**
 * The published config.json files of google/gemma-2-2b, google/gemma-3-1b-pt, Qwen/Qwen3-0.6B and
 * microsoft/Phi-3-mini-4k-instruct (copied field for field into test/language/fixtures/hub/) read as those models:
 * parameter counts equal to the published ones, their features, their tensor names, the blocks they offer and a
 * config.json written back that reads the same. Plus the refusals (long-rope, multimodal Gemma 3) with their fixes.
 */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { expandBlocks, genericBlocks, resolveBlocks, slicesKey } from '../../model/blocks';
import { normalizeHfConfig, parseHfConfig, toHfConfig, type ModelConfig } from '../../model/config';
import { paramSpecs, parameterCount } from '../../model/params';
import { fixturesDir } from '../language/helpers';

const hub = (name: string): ModelConfig => {
  const file = path.join(fixturesDir, 'hub', name, 'config.json');
  return parseHfConfig(fs.readFileSync(file, 'utf8'), file);
};

describe('published configs of today’s architectures', () => {
  it('parameter counts equal the published ones', () => {
    // Published counts (the Hub's safetensors parameter totals, which transformers' sum(p.numel()) reproduces):
    // google/gemma-2-2b 2,614,341,888 ("2.61B"); google/gemma-3-1b 999,885,952 ("1B", also KerasHub's gemma3_1b preset);
    // microsoft/Phi-3-mini-4k-instruct 3,821,079,552 ("3.82B", BF16); Qwen/Qwen3-0.6B 596,049,920 with its tied
    // embedding counted once (model card: 0.6B parameters, 0.44B non-embedding).
    assert.equal(parameterCount(hub('gemma-2-2b')), 2_614_341_888);
    assert.equal(parameterCount(hub('gemma-3-1b-pt')), 999_885_952);
    assert.equal(parameterCount(hub('phi-3-mini-4k-instruct')), 3_821_079_552);
    const qwen = hub('qwen3-0.6b');
    assert.equal(parameterCount(qwen), 596_049_920);
    const nonEmbedding = parameterCount(qwen) - qwen.vocabSize * qwen.hiddenSize;
    assert.equal(Math.round(nonEmbedding / 1e7) / 100, 0.44);
    assert.equal(Math.round(parameterCount(qwen) / 1e8) / 10, 0.6);
  });

  it('Gemma 2: alternating sliding layers, soft caps, scaled embeddings, four norms per layer', () => {
    const c = hub('gemma-2-2b');
    assert.equal(c.arch, 'gemma2');
    assert.deepEqual(c.slidingLayers.slice(0, 4), [true, false, true, false]);
    assert.deepEqual([c.slidingWindow, c.attnSoftcap, c.finalSoftcap, c.queryPreAttnScalar, c.embedScale], [4096, 50, 30, 256, 48]);
    assert.ok(c.tieWordEmbeddings && c.normPlusOne && c.postNorms && !c.qkNorm);
    const names = paramSpecs(c)
      .filter((s) => s.layer === 0)
      .map((s) => s.name.replace('model.layers.0.', ''));
    assert.deepEqual(names, [
      'input_layernorm.weight',
      'self_attn.q_proj.weight',
      'self_attn.k_proj.weight',
      'self_attn.v_proj.weight',
      'self_attn.o_proj.weight',
      'post_attention_layernorm.weight',
      'pre_feedforward_layernorm.weight',
      'mlp.gate_proj.weight',
      'mlp.up_proj.weight',
      'mlp.down_proj.weight',
      'post_feedforward_layernorm.weight',
    ]);
  });

  it('Gemma 3: every sixth layer global, local RoPE base, q/k norms over head_dim, no soft caps', () => {
    const c = hub('gemma-3-1b-pt');
    assert.equal(c.arch, 'gemma3');
    assert.deepEqual(
      c.slidingLayers.map((s, i) => (s ? -1 : i)).filter((i) => i >= 0),
      [5, 11, 17, 23],
    );
    assert.deepEqual(
      [c.ropeTheta, c.localRopeTheta, c.attnSoftcap, c.finalSoftcap, c.embedScale],
      [1e6, 1e4, undefined, undefined, Math.fround(Math.sqrt(1152))],
    );
    assert.deepEqual(
      paramSpecs(c)
        .filter((s) => s.name.includes('layers.0.self_attn.q_norm'))
        .map((s) => s.shape),
      [[256]],
    );
    // transformers ≥ 4.53 writes layer_types and rope_parameters instead; both read the same.
    const layerTypes = c.slidingLayers.map((s) => (s ? 'sliding_attention' : 'full_attention'));
    const raw = JSON.parse(fs.readFileSync(path.join(fixturesDir, 'hub', 'gemma-3-1b-pt', 'config.json'), 'utf8')) as Record<string, unknown>;
    const v5: Record<string, unknown> = {
      ...raw,
      layer_types: layerTypes,
      sliding_window_pattern: undefined,
      rope_theta: undefined,
      rope_local_base_freq: undefined,
    };
    v5['rope_parameters'] = { full_attention: { rope_type: 'default', rope_theta: 1e6 }, sliding_attention: { rope_type: 'default', rope_theta: 1e4 } };
    assert.deepEqual(normalizeHfConfig(v5, 'v5.json'), c);
  });

  it('Qwen3: head_dim 128 ≠ hidden / heads, q_norm and k_norm per layer', () => {
    const c = hub('qwen3-0.6b');
    assert.deepEqual([c.arch, c.headDim, c.hiddenSize / c.nHeads, c.qkNorm, c.slidingWindow], ['qwen3', 128, 64, true, undefined]);
    assert.deepEqual(
      paramSpecs(c)
        .filter((s) => s.layer === 0 && s.name.includes('_norm'))
        .map((s) => [s.name, s.diskShape]),
      [
        ['model.layers.0.self_attn.q_norm.weight', [128]],
        ['model.layers.0.self_attn.k_norm.weight', [128]],
      ],
    );
  });

  it('Phi-3: fused qkv_proj and gate_up_proj, whose blocks are column slices', () => {
    const c = hub('phi-3-mini-4k-instruct');
    assert.deepEqual([c.arch, c.slidingWindow, c.slidingLayers.every((s) => s), c.tieWordEmbeddings], ['phi3', 2047, true, false]);
    const spec = paramSpecs(c).find((s) => s.name === 'model.layers.0.self_attn.qkv_proj.weight');
    assert.deepEqual(
      [spec?.diskShape, spec?.shape],
      [
        [9216, 3072],
        [3072, 9216],
      ],
    );
    assert.deepEqual(resolveBlocks(c, ['k'], [3]), [{ name: 'model.layers.3.self_attn.qkv_proj.weight', columns: [3072, 6144] }]);
    assert.deepEqual(resolveBlocks(c, ['up'], [0]), [{ name: 'model.layers.0.mlp.gate_up_proj.weight', columns: [8192, 16384] }]);
    assert.equal(slicesKey(c, resolveBlocks(c, ['qkv_proj'], [0])), 'model.layers.0.self_attn.qkv_proj.weight');
    assert.equal(slicesKey(c, resolveBlocks(c, ['gate', 'up'], [0])), slicesKey(c, resolveBlocks(c, ['mlp.gate_up_proj'], [0])));
    assert.notEqual(slicesKey(c, resolveBlocks(c, ['gate'], [0])), slicesKey(c, resolveBlocks(c, ['up'], [0])));
  });

  it('each family names its own blocks; a spelling means what it means in the model’s family', () => {
    assert.deepEqual(expandBlocks('all', 'phi3'), ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'attn_norm', 'mlp_norm']);
    assert.deepEqual(expandBlocks('all', 'qwen3'), ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'attn_norm', 'mlp_norm', 'q_norm', 'k_norm']);
    assert.deepEqual(expandBlocks('all', 'gemma2'), ['q', 'k', 'v', 'o', 'gate', 'up', 'down', 'attn_norm', 'mlp_norm', 'attn_post_norm', 'mlp_post_norm']);
    // post_attention_layernorm is the MLP's input norm in Llama but the attention output's norm in Gemma.
    assert.deepEqual(genericBlocks('llama', 'post_attention_layernorm'), ['mlp_norm']);
    assert.deepEqual(genericBlocks('gemma2', 'post_attention_layernorm'), ['attn_post_norm']);
    assert.deepEqual(genericBlocks('gemma2', 'pre_feedforward_layernorm'), ['mlp_norm']);
    const g = hub('gemma-2-2b');
    assert.deepEqual(resolveBlocks(g, ['mlp_norm'], [2]), [{ name: 'model.layers.2.pre_feedforward_layernorm.weight' }]);
    assert.throws(() => genericBlocks('llama', 'qkv_proj'), /`qkv_proj` is a Phi-3 block name; this model is Llama-family: write q, k, v/);
    assert.throws(() => genericBlocks('phi3', 'q_proj'), /`q_proj` is a Llama-family block name; this model is Phi-3: write q/);
    assert.throws(() => genericBlocks('llama', 'post_feedforward_layernorm'), /Gemma 2 block name; this model is Llama-family: it has no such block/);
    assert.deepEqual(resolveBlocks(hub('qwen3-0.6b'), ['q_norm'], [0]), [{ name: 'model.layers.0.self_attn.q_norm.weight' }]);
    assert.deepEqual(resolveBlocks(normalizeHfConfig({ ...toHfConfig(hub('qwen3-0.6b')), model_type: 'qwen2' }, 'q2'), ['q_norm'], [0]), []);
  });

  it('config.json written back (export) reads as the same model', () => {
    for (const name of ['gemma-2-2b', 'gemma-3-1b-pt', 'qwen3-0.6b', 'phi-3-mini-4k-instruct']) {
      const c = hub(name);
      assert.deepEqual(normalizeHfConfig(JSON.parse(JSON.stringify(toHfConfig(c))) as Record<string, unknown>, name), c, name);
    }
  });

  it('Phi-3 128k LongRoPE: short factors, the attention factor transformers derives, and a config written back', () => {
    const phi = JSON.parse(fs.readFileSync(path.join(fixturesDir, 'hub', 'phi-3-mini-4k-instruct', 'config.json'), 'utf8')) as Record<string, unknown>;
    // Phi-3-mini-128k-instruct's context fields and rope type; its 48 short and long factors are stand-ins here.
    const short = Array.from({ length: 48 }, (_, i) => 1 + i / 10);
    const long = Array.from({ length: 48 }, (_, i) => 2 + i);
    const c = normalizeHfConfig(
      {
        ...phi,
        max_position_embeddings: 131072,
        original_max_position_embeddings: 4096,
        rope_scaling: { type: 'longrope', short_factor: short, long_factor: long },
      },
      'phi128k.json',
    );
    assert.equal(c.ropeScaling?.type, 'longrope');
    assert.equal(c.ropeScaling?.factor, 32);
    assert.ok(Math.abs((c.ropeScaling?.attentionFactor as number) - 1.1902380714238083) < 1e-12);
    assert.deepEqual(normalizeHfConfig(JSON.parse(JSON.stringify(toHfConfig(c))) as Record<string, unknown>, 'back.json'), c);
    assert.throws(
      () => normalizeHfConfig({ ...phi, rope_scaling: { type: 'longrope', short_factor: [1], long_factor: [2] } }, 'bad.json'),
      /bad\.json: rope_scaling\.short_factor must list 48 positive numbers/,
    );
  });

  it('yarn, a partial rotary factor out of range and the multimodal Gemma 3 are refused with what to use instead', () => {
    const phi = JSON.parse(fs.readFileSync(path.join(fixturesDir, 'hub', 'phi-3-mini-4k-instruct', 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.throws(
      () => normalizeHfConfig({ ...phi, rope_scaling: { type: 'yarn', factor: 4 } }, 'y.json'),
      /y\.json: rope_scaling type "yarn" is not supported/,
    );
    assert.equal(normalizeHfConfig({ ...phi, partial_rotary_factor: 0.75 }, 'phi4.json').rotaryDim, 72);
    assert.throws(() => normalizeHfConfig({ ...phi, partial_rotary_factor: 1.5 }, 'bad.json'), /partial_rotary_factor 1\.5 must be in \(0, 1\]/);
    assert.throws(() => normalizeHfConfig({ model_type: 'gemma3', text_config: {} }, 'g3.json'), /multimodal Gemma 3.*gemma3_text.*gemma-3-1b-pt/);
    assert.throws(
      () => normalizeHfConfig({ model_type: 'gemma2', hidden_size: 8, num_attention_heads: 2 }, 'g.json'),
      /missing numeric field "num_hidden_layers"/,
    );
  });
});
