/**
 * Parameter names and layouts. Parameters keep their Hugging Face names (what export writes and what users
 * type as block names), but matrices used in `x @ W` live in memory as [in, out]:
 *  - GPT-2 Conv1D weights are stored [in, out] on disk already;
 *  - nn.Linear weights (every `model.layers` family: Llama, Qwen3, Phi-3, Gemma) are [out, in] on disk and are transposed once at load (and back at export),
 *    because wasm runs only untransposed 2-D matmuls on its fast path (BACKENDS.md §2c).
 * Embeddings ([vocab, hidden]), position embeddings and norm vectors keep their disk layout.
 * Which generic block (q, k, v, ...) owns which tensor is blocks.ts; this file lists every tensor. Imports nothing
 * but the ModelConfig type, so the language server counts parameters with the same list the loader checks.
 */
import type { ModelConfig } from './config';

export interface ParamSpec {
  /** HF name, e.g. "model.layers.3.self_attn.q_proj.weight". */
  name: string;
  /** Shape on disk (HF layout). */
  diskShape: number[];
  /** Shape in memory. */
  shape: number[];
  /** True when memory layout is the transpose of the disk layout. */
  transposed: boolean;
  /** Layer index, or -1 for embeddings / final norm / head. */
  layer: number;
  /** Tensor path within the layer ('self_attn.q_proj', 'attn.c_attn', ...; blocks.ts BLOCK_TENSORS), or the top-level role. */
  block: string;
}

/** All parameters of a model, in a stable order. */
export function paramSpecs(c: ModelConfig): ParamSpec[] {
  const out: ParamSpec[] = [];
  const h = c.hiddenSize;
  const top = (name: string, shape: number[], block: string): void => {
    out.push({ name, diskShape: shape, shape, transposed: false, layer: -1, block });
  };
  if (c.arch === 'gpt2') {
    top('transformer.wte.weight', [c.vocabSize, h], 'wte');
    top('transformer.wpe.weight', [c.maxPositions, h], 'wpe');
    const ff = c.intermediateSize;
    for (let l = 0; l < c.nLayers; l++) {
      const p = `transformer.h.${l}.`;
      const add = (block: string, suffix: string, shape: number[]): void => {
        out.push({ name: `${p}${block}.${suffix}`, diskShape: shape, shape, transposed: false, layer: l, block });
      };
      add('ln_1', 'weight', [h]);
      add('ln_1', 'bias', [h]);
      add('attn.c_attn', 'weight', [h, 3 * h]);
      add('attn.c_attn', 'bias', [3 * h]);
      add('attn.c_proj', 'weight', [h, h]);
      add('attn.c_proj', 'bias', [h]);
      add('ln_2', 'weight', [h]);
      add('ln_2', 'bias', [h]);
      add('mlp.c_fc', 'weight', [h, ff]);
      add('mlp.c_fc', 'bias', [ff]);
      add('mlp.c_proj', 'weight', [ff, h]);
      add('mlp.c_proj', 'bias', [h]);
    }
    top('transformer.ln_f.weight', [h], 'ln_f');
    top('transformer.ln_f.bias', [h], 'ln_f');
    if (!c.tieWordEmbeddings)
      out.push({ name: 'lm_head.weight', diskShape: [c.vocabSize, h], shape: [h, c.vocabSize], transposed: true, layer: -1, block: 'lm_head' });
    return out;
  }
  top('model.embed_tokens.weight', [c.vocabSize, h], 'embed_tokens');
  const qd = c.nHeads * c.headDim;
  const kvd = c.nKvHeads * c.headDim;
  const ff = c.intermediateSize;
  for (let l = 0; l < c.nLayers; l++) {
    const linear = (block: string, inDim: number, outDim: number, bias: boolean): void => {
      const name = `model.layers.${l}.${block}`;
      out.push({ name: `${name}.weight`, diskShape: [outDim, inDim], shape: [inDim, outDim], transposed: true, layer: l, block });
      if (bias) out.push({ name: `${name}.bias`, diskShape: [outDim], shape: [outDim], transposed: false, layer: l, block });
    };
    const norm = (block: string, dim = h): void => {
      out.push({ name: `model.layers.${l}.${block}.weight`, diskShape: [dim], shape: [dim], transposed: false, layer: l, block });
    };
    norm('input_layernorm');
    if (c.arch === 'phi3') {
      // One fused projection: q, k, v side by side on the output axis (Phi3Attention.qkv_proj).
      linear('self_attn.qkv_proj', h, qd + 2 * kvd, c.attentionBias);
    } else {
      linear('self_attn.q_proj', h, qd, c.attentionBias);
      linear('self_attn.k_proj', h, kvd, c.attentionBias);
      linear('self_attn.v_proj', h, kvd, c.attentionBias);
    }
    if (c.qkNorm) {
      norm('self_attn.q_norm', c.headDim);
      norm('self_attn.k_norm', c.headDim);
    }
    linear('self_attn.o_proj', qd, h, c.outputBias);
    norm('post_attention_layernorm');
    if (c.postNorms) norm('pre_feedforward_layernorm');
    if (c.arch === 'phi3') {
      // gate then up on the output axis (Phi3MLP: gate, up = gate_up_proj(x).chunk(2)).
      linear('mlp.gate_up_proj', h, 2 * ff, c.mlpBias);
    } else {
      linear('mlp.gate_proj', h, ff, c.mlpBias);
      linear('mlp.up_proj', h, ff, c.mlpBias);
    }
    linear('mlp.down_proj', ff, h, c.mlpBias);
    if (c.postNorms) norm('post_feedforward_layernorm');
  }
  top('model.norm.weight', [h], 'norm');
  if (!c.tieWordEmbeddings)
    out.push({ name: 'lm_head.weight', diskShape: [c.vocabSize, h], shape: [h, c.vocabSize], transposed: true, layer: -1, block: 'lm_head' });
  return out;
}

/** Number of parameters (the embedding counted once when tied): the sum over `paramSpecs`. */
export function parameterCount(c: ModelConfig): number {
  return paramSpecs(c).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
