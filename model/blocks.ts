/**
 * Parameter blocks: the generic names a `.rtune` file uses for the trainable parts of a decoder layer, and the
 * one explicit map from each generic name to each architecture's tensors (METHOD.md §1: the research code matched
 * substrings, so `attn.v_`/`attn.o_` silently never matched GPT-2; we map explicitly instead). `resolveBlocks`
 * turns blocks at layers into parameter slices: the engine trains exactly those (tune.ts, search.ts), the
 * language server accepts architecture spellings and rejects blocks an architecture lacks from the same tables.
 * GPT-2's q, k and v are column slices of the fused `attn.c_attn` (Phi-3's of `self_attn.qkv_proj`, and its gate and up of
 * `mlp.gate_up_proj`), so each trains only its own columns.
 * Imports no tfjs and no editor code.
 * Non-goals: embeddings, the final norm and the LM head are never tuned here (they are frozen by the method).
 */
import type { Arch, ModelConfig } from './config';
import { paramSpecs } from './params';

/** Generic block names, in canonical order. */
import { BLOCK_NAMES, type BlockName } from '../protocol/contract';

/** Generic block names, in canonical order: declared in the contract. */
export { BLOCK_NAMES, type BlockName } from '../protocol/contract';

/** Architecture families with distinct tensor naming (ModelConfig.arch). Llama, Mistral, Qwen2 and llama2.c share `llama`. */
export type ArchitectureFamily = Arch;

/** Every family, in the order messages and docs list them. */
export const ARCHITECTURE_FAMILIES: readonly ArchitectureFamily[] = ['llama', 'qwen3', 'phi3', 'gemma2', 'gemma3', 'gpt2'];

/** Which part of a fused tensor a block is: GPT-2's c_attn and Phi-3's qkv_proj hold q, k, v; Phi-3's gate_up_proj holds gate, up. */
export type SliceName = 'q' | 'k' | 'v' | 'gate' | 'up';

/**
 * One tensor (weight, and bias where the checkpoint has one) behind a generic block, relative to the layer
 * prefix (`model.layers.{L}.` for every family but GPT-2's `transformer.h.{L}.`; ParamSpec.block in params.ts).
 * `slice` marks a column slice of a fused tensor: GPT-2's `attn.c_attn` (Conv1D, weight [C, 3C], bias [3C]) and
 * Phi-3's `self_attn.qkv_proj` hold q, k and v side by side, Phi-3's `mlp.gate_up_proj` holds gate then up.
 */
export interface BlockTensor {
  readonly tensor: string;
  readonly slice?: SliceName;
}

const LLAMA_PREFIX = 'model.layers.{L}.';

export const LAYER_PREFIX: Readonly<Record<ArchitectureFamily, string>> = {
  llama: LLAMA_PREFIX,
  qwen3: LLAMA_PREFIX,
  phi3: LLAMA_PREFIX,
  gemma2: LLAMA_PREFIX,
  gemma3: LLAMA_PREFIX,
  gpt2: 'transformer.h.{L}.',
};

type BlockMap = Partial<Readonly<Record<BlockName, BlockTensor>>>;

const PROJECTIONS: BlockMap = {
  q: { tensor: 'self_attn.q_proj' },
  k: { tensor: 'self_attn.k_proj' },
  v: { tensor: 'self_attn.v_proj' },
  o: { tensor: 'self_attn.o_proj' },
  gate: { tensor: 'mlp.gate_proj' },
  up: { tensor: 'mlp.up_proj' },
  down: { tensor: 'mlp.down_proj' },
};
const QK_NORMS: BlockMap = { q_norm: { tensor: 'self_attn.q_norm' }, k_norm: { tensor: 'self_attn.k_norm' } };
const LLAMA_NORMS: BlockMap = { attn_norm: { tensor: 'input_layernorm' }, mlp_norm: { tensor: 'post_attention_layernorm' } };
/** Gemma: post_attention_layernorm is the norm *after* attention; the MLP's input norm is pre_feedforward_layernorm. */
const GEMMA_NORMS: BlockMap = {
  attn_norm: { tensor: 'input_layernorm' },
  mlp_norm: { tensor: 'pre_feedforward_layernorm' },
  attn_post_norm: { tensor: 'post_attention_layernorm' },
  mlp_post_norm: { tensor: 'post_feedforward_layernorm' },
};

/** Generic block → tensors, per family. A block absent from a family's map does not exist there. */
export const BLOCK_TENSORS: Readonly<Record<ArchitectureFamily, BlockMap>> = {
  llama: { ...PROJECTIONS, ...LLAMA_NORMS },
  qwen3: { ...PROJECTIONS, ...LLAMA_NORMS, ...QK_NORMS },
  phi3: {
    q: { tensor: 'self_attn.qkv_proj', slice: 'q' },
    k: { tensor: 'self_attn.qkv_proj', slice: 'k' },
    v: { tensor: 'self_attn.qkv_proj', slice: 'v' },
    o: { tensor: 'self_attn.o_proj' },
    gate: { tensor: 'mlp.gate_up_proj', slice: 'gate' },
    up: { tensor: 'mlp.gate_up_proj', slice: 'up' },
    down: { tensor: 'mlp.down_proj' },
    ...LLAMA_NORMS,
  },
  gemma2: { ...PROJECTIONS, ...GEMMA_NORMS },
  gemma3: { ...PROJECTIONS, ...GEMMA_NORMS, ...QK_NORMS },
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
  gate: 'MLP gate projection (SwiGLU or GeGLU; every family but GPT-2)',
  up: 'MLP up projection',
  down: 'MLP down projection',
  attn_norm: 'norm before attention',
  mlp_norm: 'norm before the MLP',
  q_norm: 'RMSNorm of each query head before RoPE (Qwen3, Gemma 3)',
  k_norm: 'RMSNorm of each key head before RoPE (Qwen3, Gemma 3)',
  attn_post_norm: 'norm of the attention output before the residual add (Gemma 2, Gemma 3)',
  mlp_post_norm: 'norm of the MLP output before the residual add (Gemma 2, Gemma 3)',
};

const PROJECTION_ALIASES: Readonly<Record<string, readonly BlockName[]>> = {
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
};
const QK_NORM_ALIASES: Readonly<Record<string, readonly BlockName[]>> = { 'self_attn.q_norm': ['q_norm'], 'self_attn.k_norm': ['k_norm'] };
const GEMMA_NORM_ALIASES: Readonly<Record<string, readonly BlockName[]>> = {
  input_layernorm: ['attn_norm'],
  post_attention_layernorm: ['attn_post_norm'],
  pre_feedforward_layernorm: ['mlp_norm'],
  post_feedforward_layernorm: ['mlp_post_norm'],
};
const LLAMA_NORM_ALIASES: Readonly<Record<string, readonly BlockName[]>> = { input_layernorm: ['attn_norm'], post_attention_layernorm: ['mlp_norm'] };

/**
 * Architecture-specific spellings accepted in block lists, and the generic blocks each one stands for.
 * `self_attn.` / `mlp.` prefixes are optional for `model.layers` names. GPT-2's two `c_proj` tensors must be
 * written with their prefix (`attn.c_proj`, `mlp.c_proj`) because the bare name is ambiguous. One spelling can
 * mean different blocks in different families: `post_attention_layernorm` is the MLP's input norm in the Llama
 * family but the attention output's norm in Gemma.
 */
export const BLOCK_ALIASES: Readonly<Record<ArchitectureFamily, Readonly<Record<string, readonly BlockName[]>>>> = {
  llama: { ...PROJECTION_ALIASES, ...LLAMA_NORM_ALIASES },
  qwen3: { ...PROJECTION_ALIASES, ...QK_NORM_ALIASES, ...LLAMA_NORM_ALIASES },
  phi3: {
    qkv_proj: ['q', 'k', 'v'],
    o_proj: ['o'],
    gate_up_proj: ['gate', 'up'],
    down_proj: ['down'],
    'self_attn.qkv_proj': ['q', 'k', 'v'],
    'self_attn.o_proj': ['o'],
    'mlp.gate_up_proj': ['gate', 'up'],
    'mlp.down_proj': ['down'],
    ...LLAMA_NORM_ALIASES,
  },
  gemma2: { ...PROJECTION_ALIASES, ...GEMMA_NORM_ALIASES },
  gemma3: { ...PROJECTION_ALIASES, ...QK_NORM_ALIASES, ...GEMMA_NORM_ALIASES },
  gpt2: {
    'attn.c_attn': ['q', 'k', 'v'],
    'attn.c_proj': ['o'],
    'mlp.c_fc': ['up'],
    'mlp.c_proj': ['down'],
    ln_1: ['attn_norm'],
    ln_2: ['mlp_norm'],
  },
};

/** Every family whose naming has the spelling `word`, with what it stands for there. */
export function aliasFamilies(word: string): Array<{ family: ArchitectureFamily; blocks: readonly BlockName[] }> {
  return ARCHITECTURE_FAMILIES.flatMap((family) => {
    const blocks = BLOCK_ALIASES[family][word];
    return blocks !== undefined ? [{ family, blocks }] : [];
  });
}

/** The blocks a family has, in canonical order. */
export function familyBlocks(family: ArchitectureFamily): BlockName[] {
  return BLOCK_NAMES.filter((b) => BLOCK_TENSORS[family][b] !== undefined);
}

export function isBlockName(word: string): word is BlockName {
  return (BLOCK_NAMES as readonly string[]).includes(word);
}

export const FAMILY_NAMES: Readonly<Record<ArchitectureFamily, string>> = {
  llama: 'Llama-family',
  qwen3: 'Qwen3',
  phi3: 'Phi-3',
  gemma2: 'Gemma 2',
  gemma3: 'Gemma 3',
  gpt2: 'GPT-2',
};

/** What `all` stands for in a block list: every block the architecture has (norms included, as the research's "all parameters of the layers"). */
export function expandBlocks(selection: readonly string[] | 'all', family: ArchitectureFamily): string[] {
  return selection === 'all' ? familyBlocks(family) : [...selection];
}

/**
 * The generic blocks a word of a block list stands for on `family`: a generic name, or one of the family's
 * own spellings (BLOCK_ALIASES). A name of the other family or an unknown word is an error saying what to write.
 */
export function genericBlocks(family: ArchitectureFamily, word: string): readonly BlockName[] {
  if (isBlockName(word)) return [word];
  const own = BLOCK_ALIASES[family][word];
  if (own !== undefined) return own;
  const foreign = aliasFamilies(word)[0];
  if (foreign !== undefined) {
    const write = foreign.blocks.filter((b) => BLOCK_TENSORS[family][b] !== undefined);
    throw new Error(
      `\`${word}\` is a ${FAMILY_NAMES[foreign.family]} block name; this model is ${FAMILY_NAMES[family]}: ${write.length > 0 ? `write ${write.join(', ')}` : 'it has no such block'}`,
    );
  }
  throw new Error(`unknown block \`${word}\`; blocks are ${BLOCK_NAMES.join(' ')}`);
}

/** Blocks of `words` that `family` lacks (GPT-2 has no `gate`), for errors. */
export function missingBlocks(family: ArchitectureFamily, words: readonly string[]): BlockName[] {
  return [...new Set(words.flatMap((w) => genericBlocks(family, w)))].filter((b) => BLOCK_TENSORS[family][b] === undefined);
}

/**
 * Columns [start, end) of a fused slice, on the last memory axis of its tensor: q, k, v of a fused qkv
 * (weight [C, q + 2kv] in memory, bias [q + 2kv]), gate and up of Phi-3's gate_up_proj ([C, 2F]).
 */
export function sliceColumns(c: ModelConfig, slice: SliceName): readonly [number, number] {
  const q = c.nHeads * c.headDim;
  const kv = c.nKvHeads * c.headDim;
  const f = c.intermediateSize;
  switch (slice) {
    case 'q':
      return [0, q];
    case 'k':
      return [q, q + kv];
    case 'v':
      return [q + kv, q + 2 * kv];
    case 'gate':
      return [0, f];
    case 'up':
      return [f, 2 * f];
  }
}

/**
 * What a block trains in one parameter: the whole tensor, or the columns [start, end) of its last memory axis
 * (the axis of `ParamSpec.shape`; GPT-2 Conv1D weights are stored [in, out], so these are output columns).
 */
export interface ParamSlice {
  readonly name: string;
  readonly columns?: readonly [number, number];
}

/**
 * The parameter slices that `blocks` (generic names or the family's own spellings) train at `layers`, in
 * parameter order, one per (parameter, block). Blocks the architecture lacks resolve to nothing (callers that
 * must refuse them use `missingBlocks`).
 */
export function resolveBlocks(c: ModelConfig, blocks: readonly string[], layers: readonly number[]): ParamSlice[] {
  const wanted = new Set(blocks.flatMap((w) => genericBlocks(c.arch, w)));
  const layerSet = new Set(layers);
  const out: ParamSlice[] = [];
  for (const spec of paramSpecs(c)) {
    if (!layerSet.has(spec.layer)) continue;
    for (const b of BLOCK_NAMES) {
      const t = BLOCK_TENSORS[c.arch][b];
      if (!wanted.has(b) || t?.tensor !== spec.block) continue;
      out.push(t.slice === undefined ? { name: spec.name } : { name: spec.name, columns: sliceColumns(c, t.slice) });
    }
  }
  return out;
}

/**
 * Slices merged per parameter: `undefined` = the whole tensor, else sorted, merged column ranges (ranges that
 * cover every column become the whole tensor). The canonical form for comparing and masking.
 */
export function mergeSlices(c: ModelConfig, slices: readonly ParamSlice[]): Map<string, Array<[number, number]> | undefined> {
  const width = new Map(paramSpecs(c).map((s) => [s.name, s.shape[s.shape.length - 1] as number]));
  const ranges = new Map<string, Array<[number, number]> | undefined>();
  for (const s of slices) {
    if (ranges.has(s.name) && ranges.get(s.name) === undefined) continue;
    if (s.columns === undefined) ranges.set(s.name, undefined);
    else ranges.set(s.name, [...(ranges.get(s.name) ?? []), [s.columns[0], s.columns[1]]]);
  }
  for (const [name, rs] of ranges) {
    if (rs === undefined) continue;
    rs.sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const r of rs) {
      const last = merged[merged.length - 1];
      if (last !== undefined && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
      else merged.push([r[0], r[1]]);
    }
    const whole = merged.length === 1 && merged[0]?.[0] === 0 && merged[0][1] === width.get(name);
    ranges.set(name, whole ? undefined : merged);
  }
  return ranges;
}

/** A canonical string of what `slices` train ('' when nothing): equal keys train exactly the same numbers. */
export function slicesKey(c: ModelConfig, slices: readonly ParamSlice[]): string {
  return [...mergeSlices(c, slices)]
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([name, rs]) => (rs === undefined ? name : `${name}[${rs.map((r) => r.join(':')).join(',')}]`))
    .join(' ');
}
