/**
 * Gemma 2 (`gemma2`) and text-only Gemma 3 (`gemma3_text`) `config.json` normalisation, following transformers'
 * Gemma2Config / Gemma3TextConfig defaults: (1 + w) RMSNorm, embeddings × sqrt(hidden), pre- and post-norms around
 * attention and the MLP, GeGLU (gelu_pytorch_tanh), query_pre_attn_scalar, tied embeddings by default.
 * Gemma 2: attention and final-logit soft-capping (defaults 50 and 30; null turns them off), sliding window on
 * even layers. Gemma 3: q/k norms, sliding layers from `layer_types` or `sliding_window_pattern` (every
 * pattern-th layer is global), and a separate unscaled RoPE base for sliding layers (`rope_local_base_freq`).
 */
import type { ModelConfig } from './config';
import { attentionShape, firstId, layerTypes, ModelConfigError, num, optionalNum, positiveInt, type Json } from './config-json';
import { ropeFields } from './rope';

export function normalizeGemma(cfg: Json, file: string, modelType: 'gemma2' | 'gemma3_text'): ModelConfig {
  const gemma3 = modelType === 'gemma3_text';
  const { hidden, nHeads, nKvHeads, headDim } = attentionShape(cfg, file);
  const act = cfg['hidden_activation'] ?? cfg['hidden_act'] ?? 'gelu_pytorch_tanh';
  if (act !== 'gelu_pytorch_tanh') throw new ModelConfigError(file, `hidden_activation "${String(act)}" is not supported (gelu_pytorch_tanh)`);
  if (cfg['use_bidirectional_attention'] === true) {
    throw new ModelConfigError(file, 'use_bidirectional_attention is true (an embedding model); rtune runs causal language models');
  }
  const nLayers = positiveInt(file, 'num_hidden_layers', num(cfg, file, ['num_hidden_layers']));
  const pattern = num(cfg, file, ['sliding_window_pattern', '_sliding_window_pattern'], 6);
  const sliding = layerTypes(cfg, file, nLayers) ?? Array.from({ length: nLayers }, (_, i) => (gemma3 ? (i + 1) % pattern !== 0 : i % 2 === 0));
  const rope = ropeFields(cfg, file, gemma3 ? 1_000_000 : 10000, 'full_attention');
  let localRopeTheta: number | undefined;
  if (gemma3) {
    const rp = cfg['rope_parameters'];
    const local =
      rp && typeof rp === 'object' && 'sliding_attention' in rp
        ? ropeFields(cfg, file, 10000, 'sliding_attention')
        : { theta: num(cfg, file, ['rope_local_base_freq'], 10000), scaling: undefined };
    if (local.scaling !== undefined) throw new ModelConfigError(file, 'RoPE scaling of the sliding-window layers is not supported (only of the global layers)');
    localRopeTheta = local.theta;
  }
  const bias = cfg['attention_bias'] === true;
  return {
    arch: gemma3 ? 'gemma3' : 'gemma2',
    modelType,
    vocabSize: positiveInt(file, 'vocab_size', num(cfg, file, ['vocab_size'])),
    hiddenSize: hidden,
    nLayers,
    nHeads,
    nKvHeads,
    headDim,
    intermediateSize: positiveInt(file, 'intermediate_size', num(cfg, file, ['intermediate_size'])),
    maxPositions: num(cfg, file, ['max_position_embeddings'], gemma3 ? 131072 : 8192),
    normEps: num(cfg, file, ['rms_norm_eps'], 1e-6),
    tieWordEmbeddings: cfg['tie_word_embeddings'] !== false,
    ropeTheta: rope.theta,
    rotaryDim: headDim,
    ropeScaling: rope.scaling,
    localRopeTheta,
    attentionBias: bias,
    outputBias: bias,
    mlpBias: false,
    activation: 'gelu_pytorch_tanh',
    slidingWindow: positiveInt(file, 'sliding_window', num(cfg, file, ['sliding_window'], 4096)),
    slidingLayers: sliding,
    normPlusOne: true,
    embedScale: Math.fround(Math.sqrt(hidden)),
    postNorms: true,
    qkNorm: gemma3,
    queryPreAttnScalar: num(cfg, file, ['query_pre_attn_scalar']),
    attnSoftcap: optionalNum(cfg, file, 'attn_logit_softcapping', gemma3 ? undefined : 50),
    finalSoftcap: optionalNum(cfg, file, 'final_logit_softcapping', gemma3 ? undefined : 30),
    bosTokenId: firstId(cfg['bos_token_id']),
    eosTokenId: firstId(cfg['eos_token_id']),
  };
}
