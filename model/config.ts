/**
 * ModelConfig: the one normalised description of a decoder-only transformer, shared by the engine (which runs
 * it) and the language server (model-aware diagnostics, hover). `normalizeHfConfig` is the only place that
 * reads Hugging Face `config.json` field names (as transformers.js's getNormalizedConfig); llama2.c headers
 * become a ModelConfig in `llama2c.ts`; everything downstream sees ModelConfig. Imports nothing.
 *
 * Supported: GPT-2 (`gpt2`) and the Llama family (`llama`, `mistral`, `qwen2`; SmolLM and TinyLlama are `llama`).
 * Non-goals: encoder models, MoE, sliding-window attention (Mistral's window only matters beyond its length,
 * which we never reach in tuning or with max_length below it; we record it and warn).
 */

export type Arch = 'gpt2' | 'llama';

export interface RopeScaling {
  type: 'linear' | 'llama3';
  factor: number;
  /** llama3 only. */
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositions?: number;
}

export interface ModelConfig {
  arch: Arch;
  /** The checkpoint's own model_type ('gpt2', 'llama', 'mistral', 'qwen2', or 'llama2c'). */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  headDim: number;
  intermediateSize: number;
  maxPositions: number;
  normEps: number;
  tieWordEmbeddings: boolean;
  /** Llama family only. */
  ropeTheta: number;
  ropeScaling: RopeScaling | undefined;
  /** Qwen2, and Llama with `attention_bias`: q/k/v projections have biases. */
  attentionBias: boolean;
  /** Llama with `attention_bias`: the output projection (o_proj) has a bias too (Qwen2's has none). */
  outputBias: boolean;
  mlpBias: boolean;
  /** GPT-2: 'gelu_new' (tanh approximation). Llama: 'silu'. */
  activation: 'gelu_new' | 'gelu' | 'silu';
  slidingWindow: number | undefined;
  bosTokenId: number | undefined;
  eosTokenId: number | undefined;
}

export const SUPPORTED_MODEL_TYPES = ['gpt2', 'llama', 'mistral', 'qwen2'] as const;

export class ModelConfigError extends Error {
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
    this.name = 'ModelConfigError';
  }
}

type Json = Record<string, unknown>;

function num(cfg: Json, file: string, keys: string[], fallback?: number): number {
  for (const k of keys) {
    const v = cfg[k];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  if (fallback !== undefined) return fallback;
  throw new ModelConfigError(file, `missing numeric field ${keys.map((k) => `"${k}"`).join(' or ')}`);
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

function firstId(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (Array.isArray(v) && typeof v[0] === 'number') return v[0];
  return undefined;
}

function positiveInt(file: string, name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new ModelConfigError(file, `"${name}" must be a positive integer, found ${v}`);
  return v;
}

/** Normalise a parsed HF `config.json`. `file` is used in error messages only. */
export function normalizeHfConfig(cfg: Json, file: string): ModelConfig {
  const modelType = cfg['model_type'];
  if (typeof modelType !== 'string') throw new ModelConfigError(file, 'missing "model_type"');
  if (!(SUPPORTED_MODEL_TYPES as readonly string[]).includes(modelType)) {
    throw new ModelConfigError(
      file,
      `unsupported model_type "${modelType}". Supported: ${SUPPORTED_MODEL_TYPES.join(', ')} ` +
        `(SmolLM and TinyLlama use "llama"), plus llama2.c .bin checkpoints.`,
    );
  }
  if (modelType === 'gpt2') {
    const hidden = positiveInt(file, 'n_embd', aliased(cfg, file, 'n_embd', 'hidden_size'));
    const nHeads = positiveInt(file, 'n_head', aliased(cfg, file, 'n_head', 'num_attention_heads'));
    if (hidden % nHeads !== 0) throw new ModelConfigError(file, `n_embd ${hidden} is not divisible by n_head ${nHeads}`);
    const act = cfg['activation_function'] ?? 'gelu_new';
    if (act !== 'gelu_new' && act !== 'gelu') {
      throw new ModelConfigError(file, `activation_function "${String(act)}" is not supported (gelu_new, gelu)`);
    }
    return {
      arch: 'gpt2',
      modelType,
      vocabSize: positiveInt(file, 'vocab_size', num(cfg, file, ['vocab_size'])),
      hiddenSize: hidden,
      nLayers: positiveInt(file, 'n_layer', aliased(cfg, file, 'n_layer', 'num_hidden_layers')),
      nHeads,
      nKvHeads: nHeads,
      headDim: hidden / nHeads,
      intermediateSize: num(cfg, file, ['n_inner'], 4 * hidden) || 4 * hidden,
      maxPositions: num(cfg, file, ['n_positions', 'n_ctx', 'max_position_embeddings'], 1024),
      normEps: num(cfg, file, ['layer_norm_epsilon'], 1e-5),
      tieWordEmbeddings: cfg['tie_word_embeddings'] !== false,
      ropeTheta: 0,
      ropeScaling: undefined,
      attentionBias: true,
      outputBias: true,
      mlpBias: true,
      activation: act,
      slidingWindow: undefined,
      bosTokenId: firstId(cfg['bos_token_id']),
      eosTokenId: firstId(cfg['eos_token_id']),
    };
  }
  const hidden = positiveInt(file, 'hidden_size', num(cfg, file, ['hidden_size']));
  const nHeads = positiveInt(file, 'num_attention_heads', num(cfg, file, ['num_attention_heads']));
  const nKvHeads = positiveInt(file, 'num_key_value_heads', num(cfg, file, ['num_key_value_heads'], nHeads));
  if (nHeads % nKvHeads !== 0) {
    throw new ModelConfigError(file, `num_attention_heads ${nHeads} is not a multiple of num_key_value_heads ${nKvHeads}`);
  }
  const headDim = num(cfg, file, ['head_dim'], hidden / nHeads);
  if (!Number.isInteger(headDim) || headDim % 2 !== 0) throw new ModelConfigError(file, `head_dim ${headDim} must be an even integer`);
  const act = cfg['hidden_act'] ?? 'silu';
  if (act !== 'silu') throw new ModelConfigError(file, `hidden_act "${String(act)}" is not supported (silu)`);
  let ropeScaling: RopeScaling | undefined;
  const rs = cfg['rope_scaling'];
  if (rs && typeof rs === 'object') {
    const r = rs as Json;
    const type = r['rope_type'] ?? r['type'];
    if (type === 'llama3') {
      ropeScaling = {
        type: 'llama3',
        factor: num(r, file, ['factor']),
        lowFreqFactor: num(r, file, ['low_freq_factor'], 1),
        highFreqFactor: num(r, file, ['high_freq_factor'], 4),
        originalMaxPositions: num(r, file, ['original_max_position_embeddings'], 8192),
      };
    } else if (type === 'linear') {
      ropeScaling = { type: 'linear', factor: num(r, file, ['factor']) };
    } else if (type !== 'default' && type !== undefined) {
      throw new ModelConfigError(file, `rope_scaling type "${String(type)}" is not supported (llama3, linear)`);
    }
  }
  const sw = cfg['sliding_window'];
  return {
    arch: 'llama',
    modelType,
    vocabSize: positiveInt(file, 'vocab_size', num(cfg, file, ['vocab_size'])),
    hiddenSize: hidden,
    nLayers: positiveInt(file, 'num_hidden_layers', num(cfg, file, ['num_hidden_layers'])),
    nHeads,
    nKvHeads,
    headDim,
    intermediateSize: positiveInt(file, 'intermediate_size', num(cfg, file, ['intermediate_size'])),
    maxPositions: num(cfg, file, ['max_position_embeddings'], 2048),
    normEps: num(cfg, file, ['rms_norm_eps'], 1e-6),
    tieWordEmbeddings: cfg['tie_word_embeddings'] === true,
    ropeTheta: num(cfg, file, ['rope_theta'], 10000),
    ropeScaling,
    attentionBias: modelType === 'qwen2' || cfg['attention_bias'] === true,
    outputBias: modelType !== 'qwen2' && cfg['attention_bias'] === true,
    mlpBias: cfg['mlp_bias'] === true,
    activation: 'silu',
    slidingWindow: typeof sw === 'number' && (cfg['use_sliding_window'] ?? modelType === 'mistral') ? sw : undefined,
    bosTokenId: firstId(cfg['bos_token_id']),
    eosTokenId: firstId(cfg['eos_token_id']),
  };
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

/** HF config.json for a ModelConfig (used by export and by the demo-model script). */
export function toHfConfig(c: ModelConfig): Json {
  if (c.arch === 'gpt2') {
    return {
      architectures: ['GPT2LMHeadModel'],
      model_type: 'gpt2',
      vocab_size: c.vocabSize,
      n_embd: c.hiddenSize,
      n_layer: c.nLayers,
      n_head: c.nHeads,
      n_inner: c.intermediateSize,
      n_positions: c.maxPositions,
      n_ctx: c.maxPositions,
      layer_norm_epsilon: c.normEps,
      activation_function: c.activation,
      tie_word_embeddings: c.tieWordEmbeddings,
      bos_token_id: c.bosTokenId,
      eos_token_id: c.eosTokenId,
      torch_dtype: 'float32',
    };
  }
  const type = c.modelType === 'llama2c' ? 'llama' : c.modelType;
  const arch = { llama: 'LlamaForCausalLM', mistral: 'MistralForCausalLM', qwen2: 'Qwen2ForCausalLM' }[type] ?? 'LlamaForCausalLM';
  const out: Json = {
    architectures: [arch],
    model_type: type,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.nLayers,
    num_attention_heads: c.nHeads,
    num_key_value_heads: c.nKvHeads,
    head_dim: c.headDim,
    max_position_embeddings: c.maxPositions,
    rms_norm_eps: c.normEps,
    rope_theta: c.ropeTheta,
    hidden_act: 'silu',
    tie_word_embeddings: c.tieWordEmbeddings,
    attention_bias: c.modelType !== 'qwen2' && c.attentionBias,
    mlp_bias: c.mlpBias,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    torch_dtype: 'float32',
  };
  if (c.ropeScaling?.type === 'llama3') {
    out['rope_scaling'] = {
      rope_type: 'llama3',
      factor: c.ropeScaling.factor,
      low_freq_factor: c.ropeScaling.lowFreqFactor,
      high_freq_factor: c.ropeScaling.highFreqFactor,
      original_max_position_embeddings: c.ropeScaling.originalMaxPositions,
    };
  } else if (c.ropeScaling?.type === 'linear') {
    out['rope_scaling'] = { rope_type: 'linear', factor: c.ropeScaling.factor };
  }
  return out;
}

/** RoPE inverse frequencies (length headDim/2), with llama3 or linear scaling applied as transformers does. */
export function ropeInvFreq(c: ModelConfig): Float64Array {
  const half = c.headDim / 2;
  const inv = new Float64Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / Math.pow(c.ropeTheta, (2 * i) / c.headDim);
  const s = c.ropeScaling;
  if (s?.type === 'linear') {
    for (let i = 0; i < half; i++) inv[i] = (inv[i] as number) / s.factor;
  } else if (s?.type === 'llama3') {
    // transformers' _compute_llama3_parameters.
    const low = s.lowFreqFactor ?? 1;
    const high = s.highFreqFactor ?? 4;
    const oldCtx = s.originalMaxPositions ?? 8192;
    const lowFreqWavelen = oldCtx / low;
    const highFreqWavelen = oldCtx / high;
    for (let i = 0; i < half; i++) {
      const f = inv[i] as number;
      const wavelen = (2 * Math.PI) / f;
      if (wavelen > lowFreqWavelen) inv[i] = f / s.factor;
      else if (wavelen >= highFreqWavelen) {
        const smooth = (oldCtx / wavelen - low) / (high - low);
        inv[i] = (1 - smooth) * (f / s.factor) + smooth * f;
      }
    }
  }
  return inv;
}
