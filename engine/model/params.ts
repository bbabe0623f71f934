/**
 * Parameter names and layouts. Parameters keep their Hugging Face names (what export writes and what users
 * type as block names), but matrices used in `x @ W` live in memory as [in, out]:
 *  - GPT-2 Conv1D weights are stored [in, out] on disk already;
 *  - Llama nn.Linear weights are [out, in] on disk and are transposed once at load (and back at export),
 *    because wasm runs only untransposed 2-D matmuls on its fast path (BACKENDS.md §2c).
 * Embeddings ([vocab, hidden]), position embeddings and norm vectors keep their disk layout.
 *
 * Blocks: the unit that tuning trains and block search enumerates. Generic names map to each
 * architecture's tensors explicitly (the research's substring filter never matched GPT-2: METHOD.md §1).
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
  /** Block name within the layer ('q_proj', 'attn.c_attn', ...), or the top-level role. */
  block: string;
}

export const LLAMA_BLOCKS = [
  'q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj', 'input_layernorm', 'post_attention_layernorm',
] as const;
export const GPT2_BLOCKS = ['attn.c_attn', 'attn.c_proj', 'mlp.c_fc', 'mlp.c_proj', 'ln_1', 'ln_2'] as const;

/**
 * Generic block names → the architecture's blocks. GPT-2 fuses q, k and v in `attn.c_attn`, and has no gate:
 * asking for `gate` on GPT-2 is an error the language server reports.
 */
export const GENERIC_BLOCKS: Record<'gpt2' | 'llama', Record<string, string>> = {
  llama: { q: 'q_proj', k: 'k_proj', v: 'v_proj', o: 'o_proj', gate: 'gate_proj', up: 'up_proj', down: 'down_proj', attn_norm: 'input_layernorm', mlp_norm: 'post_attention_layernorm' },
  gpt2: { q: 'attn.c_attn', k: 'attn.c_attn', v: 'attn.c_attn', o: 'attn.c_proj', up: 'mlp.c_fc', down: 'mlp.c_proj', attn_norm: 'ln_1', mlp_norm: 'ln_2' },
};

export function blocksFor(c: ModelConfig): readonly string[] {
  return c.arch === 'gpt2' ? GPT2_BLOCKS : LLAMA_BLOCKS;
}

function llamaBlockPath(block: string): string {
  if (block.endsWith('_proj')) {
    return ['q_proj', 'k_proj', 'v_proj', 'o_proj'].includes(block) ? `self_attn.${block}` : `mlp.${block}`;
  }
  return block;
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
    if (!c.tieWordEmbeddings) out.push({ name: 'lm_head.weight', diskShape: [c.vocabSize, h], shape: [h, c.vocabSize], transposed: true, layer: -1, block: 'lm_head' });
    return out;
  }
  top('model.embed_tokens.weight', [c.vocabSize, h], 'embed_tokens');
  const qd = c.nHeads * c.headDim;
  const kvd = c.nKvHeads * c.headDim;
  const ff = c.intermediateSize;
  for (let l = 0; l < c.nLayers; l++) {
    const linear = (block: string, inDim: number, outDim: number, bias: boolean): void => {
      const name = `model.layers.${l}.${llamaBlockPath(block)}`;
      out.push({ name: `${name}.weight`, diskShape: [outDim, inDim], shape: [inDim, outDim], transposed: true, layer: l, block });
      if (bias) out.push({ name: `${name}.bias`, diskShape: [outDim], shape: [outDim], transposed: false, layer: l, block });
    };
    const norm = (block: string): void => {
      out.push({ name: `model.layers.${l}.${block}.weight`, diskShape: [h], shape: [h], transposed: false, layer: l, block });
    };
    norm('input_layernorm');
    linear('q_proj', h, qd, c.attentionBias);
    linear('k_proj', h, kvd, c.attentionBias);
    linear('v_proj', h, kvd, c.attentionBias);
    linear('o_proj', qd, h, false);
    norm('post_attention_layernorm');
    linear('gate_proj', h, ff, c.mlpBias);
    linear('up_proj', h, ff, c.mlpBias);
    linear('down_proj', ff, h, c.mlpBias);
  }
  top('model.norm.weight', [h], 'norm');
  if (!c.tieWordEmbeddings) out.push({ name: 'lm_head.weight', diskShape: [c.vocabSize, h], shape: [h, c.vocabSize], transposed: true, layer: -1, block: 'lm_head' });
  return out;
}

/** Name of a block's weight (and bias, if any) in layer `layer`. */
export function blockParamNames(c: ModelConfig, layer: number, block: string): string[] {
  return paramSpecs(c)
    .filter((s) => s.layer === layer && s.block === block)
    .map((s) => s.name);
}
