/**
 * Parameter blocks: the generic names a `.rtune` file uses for the trainable parts of a decoder layer, and the
 * explicit map from each generic name to each architecture's tensors (METHOD.md §1: the research code matched
 * substrings, so `attn.v_`/`attn.o_` silently never matched GPT-2; we map explicitly instead). The engine reads
 * this map to choose trainable tensors; the language uses it to accept architecture-specific spellings and to
 * reject blocks an architecture lacks. Imports nothing, so the engine may import it.
 * Non-goals: embeddings, the final norm and the LM head are never tuned here (they are frozen by the method).
 */

import { BLOCK_NAMES, type BlockName } from '../protocol/contract';

/** Generic block names, in canonical order: declared in the contract. */
export { BLOCK_NAMES, type BlockName } from '../protocol/contract';

/** Architecture families with distinct tensor naming. Llama, Mistral, Qwen2 and llama2.c share `llama`. */
export type ArchitectureFamily = 'llama' | 'gpt2';

/**
 * One tensor (weight, and bias where the checkpoint has one) behind a generic block, relative to the layer
 * prefix (`model.layers.{L}.` for Llama, `transformer.h.{L}.` for GPT-2). `slice` marks a column slice of a
 * fused tensor: GPT-2's `attn.c_attn` holds q, k and v side by side (Conv1D, shape [C, 3C]).
 */
export interface BlockTensor {
  readonly tensor: string;
  readonly slice?: 'q' | 'k' | 'v';
}

export const LAYER_PREFIX: Readonly<Record<ArchitectureFamily, string>> = {
  llama: 'model.layers.{L}.',
  gpt2: 'transformer.h.{L}.',
};

/** Generic block → tensors, per family. A block absent from a family's map does not exist there. */
export const BLOCK_TENSORS: Readonly<Record<ArchitectureFamily, Partial<Readonly<Record<BlockName, BlockTensor>>>>> = {
  llama: {
    q: { tensor: 'self_attn.q_proj' },
    k: { tensor: 'self_attn.k_proj' },
    v: { tensor: 'self_attn.v_proj' },
    o: { tensor: 'self_attn.o_proj' },
    gate: { tensor: 'mlp.gate_proj' },
    up: { tensor: 'mlp.up_proj' },
    down: { tensor: 'mlp.down_proj' },
    attn_norm: { tensor: 'input_layernorm' },
    mlp_norm: { tensor: 'post_attention_layernorm' },
  },
  gpt2: {
    q: { tensor: 'attn.c_attn', slice: 'q' },
    k: { tensor: 'attn.c_attn', slice: 'k' },
    v: { tensor: 'attn.c_attn', slice: 'v' },
    o: { tensor: 'attn.c_proj' },
    up: { tensor: 'mlp.c_fc' },
    down: { tensor: 'mlp.c_proj' },
    attn_norm: { tensor: 'ln_1' },
    mlp_norm: { tensor: 'ln_2' },
  },
};

/** What each generic block is, for hover and docs. */
export const BLOCK_DOCS: Readonly<Record<BlockName, string>> = {
  q: 'attention query projection',
  k: 'attention key projection',
  v: 'attention value projection',
  o: 'attention output projection',
  gate: 'MLP gate projection (SwiGLU; Llama family only)',
  up: 'MLP up projection',
  down: 'MLP down projection',
  attn_norm: 'norm before attention',
  mlp_norm: 'norm before the MLP',
};

/**
 * Architecture-specific spellings accepted in block lists, and the generic blocks each one stands for.
 * `self_attn.` / `mlp.` prefixes are optional for Llama names. GPT-2's two `c_proj` tensors must be written
 * with their prefix (`attn.c_proj`, `mlp.c_proj`) because the bare name is ambiguous.
 */
export const BLOCK_ALIASES: Readonly<Record<ArchitectureFamily, Readonly<Record<string, readonly BlockName[]>>>> = {
  llama: {
    q_proj: ['q'],
    k_proj: ['k'],
    v_proj: ['v'],
    o_proj: ['o'],
    gate_proj: ['gate'],
    up_proj: ['up'],
    down_proj: ['down'],
    'self_attn.q_proj': ['q'],
    'self_attn.k_proj': ['k'],
    'self_attn.v_proj': ['v'],
    'self_attn.o_proj': ['o'],
    'mlp.gate_proj': ['gate'],
    'mlp.up_proj': ['up'],
    'mlp.down_proj': ['down'],
    input_layernorm: ['attn_norm'],
    post_attention_layernorm: ['mlp_norm'],
  },
  gpt2: {
    'attn.c_attn': ['q', 'k', 'v'],
    'attn.c_proj': ['o'],
    'mlp.c_fc': ['up'],
    'mlp.c_proj': ['down'],
    ln_1: ['attn_norm'],
    ln_2: ['mlp_norm'],
  },
};

/** The blocks a family has, in canonical order. */
export function familyBlocks(family: ArchitectureFamily): BlockName[] {
  return BLOCK_NAMES.filter((b) => BLOCK_TENSORS[family][b] !== undefined);
}

export function isBlockName(word: string): word is BlockName {
  return (BLOCK_NAMES as readonly string[]).includes(word);
}
