/**
 * A Hugging Face `config.json` for a ModelConfig (export and the demo-model script): the fields transformers
 * reads for each architecture, with the architecture's own names, such that normalizeHfConfig(toHfConfig(c))
 * gives `c` back (tested). A llama2.c model is written as a plain Llama model.
 */
import type { ModelConfig } from './config';

type Json = Record<string, unknown>;

const ARCHITECTURES: Readonly<Record<string, string>> = {
  llama: 'LlamaForCausalLM',
  mistral: 'MistralForCausalLM',
  qwen2: 'Qwen2ForCausalLM',
  qwen3: 'Qwen3ForCausalLM',
  phi3: 'Phi3ForCausalLM',
  gemma2: 'Gemma2ForCausalLM',
  gemma3_text: 'Gemma3ForCausalLM',
};

function ropeScalingJson(c: ModelConfig): Json | undefined {
  const s = c.ropeScaling;
  if (s?.type === 'llama3') {
    return {
      rope_type: 'llama3',
      factor: s.factor,
      low_freq_factor: s.lowFreqFactor,
      high_freq_factor: s.highFreqFactor,
      original_max_position_embeddings: s.originalMaxPositions,
    };
  }
  if (s?.type === 'linear') return { rope_type: 'linear', factor: s.factor };
  if (s?.type === 'longrope') return { rope_type: 'longrope', short_factor: s.shortFactor, long_factor: s.longFactor, attention_factor: s.attentionFactor };
  return undefined;
}

/** The smallest sliding_window_pattern that gives `layers` (Gemma 3: every pattern-th layer is global), if any. */
function gemma3Pattern(layers: readonly boolean[]): number | undefined {
  for (let p = 1; p <= layers.length + 1; p++) if (layers.every((s, i) => s === ((i + 1) % p !== 0))) return p;
  return undefined;
}

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
  const gemma = c.arch === 'gemma2' || c.arch === 'gemma3';
  const out: Json = {
    architectures: [ARCHITECTURES[type] ?? 'LlamaForCausalLM'],
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
    tie_word_embeddings: c.tieWordEmbeddings,
    attention_bias: type !== 'qwen2' && c.attentionBias,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    torch_dtype: 'float32',
  };
  if (gemma) out['hidden_activation'] = c.activation;
  else out['hidden_act'] = c.activation;
  if (!gemma) out['mlp_bias'] = c.mlpBias;
  if (c.rotaryDim !== c.headDim) out['partial_rotary_factor'] = c.rotaryDim / c.headDim;
  const rs = ropeScalingJson(c);
  if (rs !== undefined) out['rope_scaling'] = rs;
  else if (gemma) out['rope_scaling'] = null;
  if (c.ropeScaling?.type === 'longrope') out['original_max_position_embeddings'] = c.ropeScaling.originalMaxPositions;
  if (c.slidingWindow !== undefined && (gemma || c.slidingLayers.some((s) => s))) {
    out['sliding_window'] = c.slidingWindow;
    if (type === 'qwen2' || type === 'qwen3') {
      out['use_sliding_window'] = true;
      out['max_window_layers'] = c.slidingLayers.indexOf(true);
    }
    if (!c.slidingLayers.every((s) => s) || gemma) out['layer_types'] = c.slidingLayers.map((s) => (s ? 'sliding_attention' : 'full_attention'));
  } else if (type === 'mistral' || type === 'phi3') {
    out['sliding_window'] = null;
  }
  if (gemma) {
    out['query_pre_attn_scalar'] = c.queryPreAttnScalar;
    out['attn_logit_softcapping'] = c.attnSoftcap ?? null;
    out['final_logit_softcapping'] = c.finalSoftcap ?? null;
  }
  if (c.arch === 'gemma3') {
    out['rope_local_base_freq'] = c.localRopeTheta;
    const p = gemma3Pattern(c.slidingLayers);
    if (p !== undefined) out['sliding_window_pattern'] = p;
  }
  return out;
}
