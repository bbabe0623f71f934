/**
 * ModelConfig: the one normalised description of a decoder-only transformer, shared by the engine (which runs
 * it) and the language server (model-aware diagnostics, hover). `normalizeHfConfig` is the only entry that
 * reads Hugging Face `config.json` field names (as transformers.js's getNormalizedConfig; Gemma's fields in
 * config-gemma.ts); llama2.c headers become a ModelConfig in `llama2c.ts`; everything downstream sees
 * ModelConfig. `toHfConfig` (hf-config.ts) writes one back. Imports nothing outside model/.
 *
 * Supported: GPT-2 (`gpt2`), the Llama family (`llama`, `mistral`, `qwen2`; SmolLM and TinyLlama are `llama`),
 * Qwen3 (`qwen3`: q/k RMSNorm), Phi-3 (`phi3`: fused qkv_proj and gate_up_proj; LongRoPE within its original
 * context), Gemma 2 (`gemma2`) and the text-only Gemma 3 (`gemma3_text`).
 * Non-goals: encoder models, MoE, multimodal wrappers (Gemma 3's `gemma3` with a vision tower), RoPE schemes that
 * change with the sequence length (yarn, dynamic, and LongRoPE's long factors: refused with a clear error).
 */
import { attentionShape, firstId, layerTypes, ModelConfigError, num, positiveInt, type Json } from './config-json';
import { normalizeGemma } from './config-gemma';
import { ropeFields } from './rope';

export { ModelConfigError } from './config-json';
export { ropeAttentionFactor, ropeInvFreq, ropePositionLimit } from './rope';
export { toHfConfig } from './hf-config';

/**
 * Architecture families with distinct tensor naming: `llama` (Llama, Mistral, Qwen2, llama2.c), `qwen3` (Llama
 * names plus self_attn.q_norm / k_norm), `phi3` (fused self_attn.qkv_proj and mlp.gate_up_proj), `gemma2`
 * (pre- and post-norms around attention and the MLP), `gemma3` (Gemma 2's names plus q_norm / k_norm), `gpt2`.
 */
export type Arch = 'gpt2' | 'llama' | 'qwen3' | 'phi3' | 'gemma2' | 'gemma3';

export interface RopeScaling {
  type: 'linear' | 'llama3' | 'longrope';
  factor: number;
  /** llama3 only. */
  lowFreqFactor?: number;
  highFreqFactor?: number;
  /** llama3 and longrope. */
  originalMaxPositions?: number;
  /**
   * longrope (Phi-3 128k, Phi-3.5): per-frequency divisors for sequences within originalMaxPositions (the only
   * ones rtune runs: positions beyond switch transformers to longFactor, which forward refuses), and the cos/sin
   * multiplier (attention_factor, or sqrt(1 + ln(factor) / ln(originalMaxPositions))).
   */
  shortFactor?: number[];
  longFactor?: number[];
  attentionFactor?: number;
}

export interface ModelConfig {
  arch: Arch;
  /** The checkpoint's own model_type ('gpt2', 'llama', 'mistral', 'qwen2', 'qwen3', 'phi3', 'gemma2', 'gemma3_text', or 'llama2c'). */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Per-head width; Qwen3 and Gemma set it explicitly (nHeads × headDim may differ from hiddenSize). */
  headDim: number;
  intermediateSize: number;
  maxPositions: number;
  normEps: number;
  tieWordEmbeddings: boolean;
  /** RoPE models only (0 for GPT-2). */
  ropeTheta: number;
  /** Leading dimensions of each head that RoPE rotates: headDim, or headDim × partial_rotary_factor (Phi-4-mini); the rest pass through. */
  rotaryDim: number;
  ropeScaling: RopeScaling | undefined;
  /** Gemma 3: the RoPE base of sliding-window layers (rope_local_base_freq, unscaled); undefined: ropeTheta everywhere. */
  localRopeTheta: number | undefined;
  /** Qwen2, and Llama with `attention_bias`: q/k/v projections have biases. */
  attentionBias: boolean;
  /** Llama with `attention_bias`: the output projection (o_proj) has a bias too (Qwen2's has none). */
  outputBias: boolean;
  mlpBias: boolean;
  /** GPT-2: 'gelu_new' (tanh approximation) or 'gelu'. Llama family, Qwen3, Phi-3: 'silu' (SwiGLU). Gemma: 'gelu_pytorch_tanh' (GeGLU). */
  activation: 'gelu_new' | 'gelu' | 'silu' | 'gelu_pytorch_tanh';
  /** Window of the sliding-window layers (a query sees the `slidingWindow` latest positions, itself included). */
  slidingWindow: number | undefined;
  /** Per layer (length nLayers): true where attention is limited to slidingWindow (Mistral, Phi-3: all; Gemma: alternating or layer_types). */
  slidingLayers: readonly boolean[];
  /** Gemma: RMSNorm scales by (1 + weight), the weights being stored as offsets from 1. */
  normPlusOne: boolean;
  /** Gemma: token embeddings are multiplied by sqrt(hidden_size), rounded to float32 (the engine's dtype); 1 elsewhere. */
  embedScale: number;
  /**
   * Gemma: RMSNorm of the attention output and of the MLP output before each residual add (post_attention_layernorm,
   * post_feedforward_layernorm); the MLP's input norm is then pre_feedforward_layernorm.
   */
  postNorms: boolean;
  /** Qwen3, Gemma 3: RMSNorm over each head's query and key (self_attn.q_norm / k_norm, [headDim]) before RoPE. */
  qkNorm: boolean;
  /** Gemma: attention scores are scaled by query_pre_attn_scalar^-0.5 instead of headDim^-0.5. */
  queryPreAttnScalar: number | undefined;
  /** Gemma 2: attention scores become cap·tanh(score/cap) before the mask (attn_logit_softcapping). */
  attnSoftcap: number | undefined;
  /** Gemma 2: logits become cap·tanh(logit/cap) (final_logit_softcapping). */
  finalSoftcap: number | undefined;
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
}

export const SUPPORTED_MODEL_TYPES = ['gpt2', 'llama', 'mistral', 'qwen2', 'qwen3', 'phi3', 'gemma2', 'gemma3_text'] as const;

/** The features GPT-2 and the Llama family share (no Gemma norms, no soft-capping, no q/k norm). */
export function plainFeatures(
  nLayers: number,
  slidingWindow: number | undefined,
): Pick<
  ModelConfig,
  | 'slidingWindow'
  | 'slidingLayers'
  | 'normPlusOne'
  | 'embedScale'
  | 'postNorms'
  | 'qkNorm'
  | 'queryPreAttnScalar'
  | 'attnSoftcap'
  | 'finalSoftcap'
  | 'localRopeTheta'
> {
  return {
    slidingWindow,
    slidingLayers: new Array<boolean>(nLayers).fill(slidingWindow !== undefined),
    normPlusOne: false,
    embedScale: 1,
    postNorms: false,
    qkNorm: false,
    queryPreAttnScalar: undefined,
    attnSoftcap: undefined,
    finalSoftcap: undefined,
    localRopeTheta: undefined,
  };
}

/**
 * A GPT-2 field that transformers also accepts under its generic alias (`attribute_map`: n_layer ↔
 * num_hidden_layers, ...). Both spellings present with different values is an error naming both.
 */
function aliased(cfg: Json, file: string, own: string, alias: string): number {
  const a = cfg[own];
  const b = cfg[alias];
  if (typeof a === 'number' && typeof b === 'number' && a !== b) {
    throw new ModelConfigError(file, `"${own}" is ${a} but "${alias}" is ${b}; they name the same setting: keep one`);
  }
  return num(cfg, file, [own, alias]);
}

function normalizeGpt2(cfg: Json, file: string): ModelConfig {
  const hidden = positiveInt(file, 'n_embd', aliased(cfg, file, 'n_embd', 'hidden_size'));
  const nHeads = positiveInt(file, 'n_head', aliased(cfg, file, 'n_head', 'num_attention_heads'));
  if (hidden % nHeads !== 0) throw new ModelConfigError(file, `n_embd ${hidden} is not divisible by n_head ${nHeads}`);
  const act = cfg['activation_function'] ?? 'gelu_new';
  if (act !== 'gelu_new' && act !== 'gelu') {
    throw new ModelConfigError(file, `activation_function "${String(act)}" is not supported (gelu_new, gelu)`);
  }
  const nLayers = positiveInt(file, 'n_layer', aliased(cfg, file, 'n_layer', 'num_hidden_layers'));
  return {
    arch: 'gpt2',
    modelType: 'gpt2',
    vocabSize: positiveInt(file, 'vocab_size', num(cfg, file, ['vocab_size'])),
    hiddenSize: hidden,
    nLayers,
    nHeads,
    nKvHeads: nHeads,
    headDim: hidden / nHeads,
    intermediateSize: num(cfg, file, ['n_inner'], 4 * hidden) || 4 * hidden,
    maxPositions: num(cfg, file, ['n_positions', 'n_ctx', 'max_position_embeddings'], 1024),
    normEps: num(cfg, file, ['layer_norm_epsilon'], 1e-5),
    tieWordEmbeddings: cfg['tie_word_embeddings'] !== false,
    ropeTheta: 0,
    rotaryDim: 0,
    ropeScaling: undefined,
    attentionBias: true,
    outputBias: true,
    mlpBias: true,
    activation: act,
    ...plainFeatures(nLayers, undefined),
    bosTokenId: firstId(cfg['bos_token_id']),
    eosTokenId: firstId(cfg['eos_token_id']),
  };
}

/** Llama, Mistral, Qwen2, Qwen3 and Phi-3: RMSNorm, RoPE, SwiGLU; Qwen3 adds q/k norms, Phi-3 fuses its projections. */
function normalizeLlamaLike(cfg: Json, file: string, modelType: string): ModelConfig {
  const { hidden, nHeads, nKvHeads, headDim } = attentionShape(cfg, file);
  const act = cfg['hidden_act'] ?? 'silu';
  if (act !== 'silu') throw new ModelConfigError(file, `hidden_act "${String(act)}" is not supported (silu)`);
  const partial = num(cfg, file, ['partial_rotary_factor'], 1);
  const rotaryDim = Math.trunc(headDim * partial);
  if (!(partial > 0 && partial <= 1) || rotaryDim % 2 !== 0 || rotaryDim === 0) {
    throw new ModelConfigError(file, `partial_rotary_factor ${partial} must be in (0, 1] and rotate an even number of the head's ${headDim} dimensions`);
  }
  const nLayers = positiveInt(file, 'num_hidden_layers', num(cfg, file, ['num_hidden_layers']));
  const rope = ropeFields(cfg, file, 10000, undefined, {
    maxPositions: num(cfg, file, ['max_position_embeddings'], 2048),
    originalMaxPositions: typeof cfg['original_max_position_embeddings'] === 'number' ? cfg['original_max_position_embeddings'] : undefined,
    halfHeadDim: rotaryDim / 2,
  });
  const sw = cfg['sliding_window'];
  const qwen = modelType === 'qwen2' || modelType === 'qwen3';
  const window = typeof sw === 'number' && (cfg['use_sliding_window'] ?? (modelType === 'mistral' || modelType === 'phi3')) ? sw : undefined;
  const features = plainFeatures(nLayers, window);
  if (window !== undefined) {
    // Qwen2/Qwen3 window only the layers from max_window_layers on (transformers' layer_types default).
    const maxWindowLayers = num(cfg, file, ['max_window_layers'], qwen ? 28 : 0);
    features.slidingLayers = layerTypes(cfg, file, nLayers) ?? features.slidingLayers.map((_, i) => !qwen || i >= maxWindowLayers);
  }
  return {
    arch: modelType === 'qwen3' ? 'qwen3' : modelType === 'phi3' ? 'phi3' : 'llama',
    modelType,
    vocabSize: positiveInt(file, 'vocab_size', num(cfg, file, ['vocab_size'])),
    hiddenSize: hidden,
    nLayers,
    nHeads,
    nKvHeads,
    headDim,
    intermediateSize: positiveInt(file, 'intermediate_size', num(cfg, file, ['intermediate_size'])),
    maxPositions: num(cfg, file, ['max_position_embeddings'], 2048),
    normEps: num(cfg, file, ['rms_norm_eps'], 1e-6),
    tieWordEmbeddings: cfg['tie_word_embeddings'] === true,
    ropeTheta: rope.theta,
    rotaryDim,
    ropeScaling: rope.scaling,
    // Phi-3's projections never have biases (Phi3Attention and Phi3MLP ignore attention_bias and mlp_bias).
    attentionBias: modelType === 'qwen2' || (modelType !== 'phi3' && cfg['attention_bias'] === true),
    outputBias: modelType !== 'qwen2' && modelType !== 'phi3' && cfg['attention_bias'] === true,
    mlpBias: modelType !== 'phi3' && cfg['mlp_bias'] === true,
    activation: 'silu',
    ...features,
    qkNorm: modelType === 'qwen3',
    bosTokenId: firstId(cfg['bos_token_id']),
    eosTokenId: firstId(cfg['eos_token_id']),
  };
}

/** Normalise a parsed HF `config.json`. `file` is used in error messages only. */
export function normalizeHfConfig(cfg: Json, file: string): ModelConfig {
  const modelType = cfg['model_type'];
  if (typeof modelType !== 'string') throw new ModelConfigError(file, 'missing "model_type"');
  if (modelType === 'gemma3' && typeof cfg['text_config'] === 'object') {
    throw new ModelConfigError(
      file,
      'model_type "gemma3" is the multimodal Gemma 3 (a vision tower around a text model); rtune runs text-only checkpoints: use a "gemma3_text" model such as google/gemma-3-1b-pt',
    );
  }
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ModelConfigError(
      file,
      `unsupported model_type "${modelType}". Supported: ${SUPPORTED_MODEL_TYPES.join(', ')} ` +
        `(SmolLM and TinyLlama use "llama"), plus llama2.c .bin checkpoints.`,
    );
  }
  if (modelType === 'gpt2') return normalizeGpt2(cfg, file);
  if (modelType === 'gemma2' || modelType === 'gemma3_text') return normalizeGemma(cfg, file, modelType);
  return normalizeLlamaLike(cfg, file, modelType);
}

/** Parse and normalise the text of a `config.json`; `file` names it in errors (ModelConfigError). */
export function parseHfConfig(text: string, file: string): ModelConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new ModelConfigError(file, `not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!json || typeof json !== 'object' || Array.isArray(json)) throw new ModelConfigError(file, 'does not hold a JSON object');
  return normalizeHfConfig(json as Json, file);
}
