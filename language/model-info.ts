/**
 * Model metadata without loading weights: parses a Hugging Face `config.json` or the 28-byte header of a
 * llama2.c `.bin` into one normalised `ModelInfo` (architecture, depth, widths, vocabulary, tying) and counts
 * parameters from the shapes. Used for model-aware diagnostics, hover and completion; the host reads the bytes
 * (language/ does no I/O) and caches by path and mtime. Non-goals: not the engine's model loader (the engine
 * normalises configs itself), no validation of the weights.
 */

import type { ArchitectureFamily } from './blocks';

export type Architecture = 'gpt2' | 'llama' | 'mistral' | 'qwen2' | 'llama2c';

export interface ModelInfo {
  readonly architecture: Architecture;
  readonly family: ArchitectureFamily;
  readonly nLayers: number;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly nHeads: number;
  readonly nKvHeads: number;
  readonly vocabSize: number;
  readonly tiedEmbeddings: boolean;
  /** Context length, when the checkpoint states one. */
  readonly maxPositions: number | undefined;
  readonly parameterCount: number;
}

export type ModelInfoResult =
  | { readonly ok: true; readonly info: ModelInfo; /** the file read (config.json or the .bin) */ readonly file: string }
  | { readonly ok: false; /** nothing exists at the path: model-aware checks are silently off */ readonly missing: boolean; readonly reason: string };

const ARCHITECTURE_NAMES: Readonly<Record<Architecture, string>> = {
  gpt2: 'GPT-2',
  llama: 'Llama',
  mistral: 'Mistral',
  qwen2: 'Qwen2',
  llama2c: 'llama2.c (Llama)',
};

export function architectureName(a: Architecture): string {
  return ARCHITECTURE_NAMES[a];
}

function field(obj: Record<string, unknown>, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = obj[n];
    if (typeof v === 'number' && Number.isFinite(v)) return v;
  }
  return undefined;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

type Shape = Omit<ModelInfo, 'parameterCount'> & { readonly headDim: number; readonly qkvBias: boolean; readonly oBias: boolean; readonly mlpBias: boolean };

/** Parameter count from shapes (embeddings, every block, final norm, and the LM head when untied). */
export function countParameters(s: Shape): number {
  const d = s.hiddenSize;
  const v = s.vocabSize;
  if (s.family === 'gpt2') {
    const inner = s.intermediateSize;
    const perLayer = 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + 2 * d + (d * inner + inner) + (inner * d + d);
    return v * d + (s.maxPositions ?? 0) * d + s.nLayers * perLayer + 2 * d + (s.tiedEmbeddings ? 0 : v * d);
  }
  const qDim = s.nHeads * s.headDim;
  const kvDim = s.nKvHeads * s.headDim;
  const attention = d * qDim + 2 * d * kvDim + qDim * d + (s.qkvBias ? qDim + 2 * kvDim : 0) + (s.oBias ? d : 0);
  const mlp = 3 * d * s.intermediateSize + (s.mlpBias ? 2 * s.intermediateSize + d : 0);
  return v * d + s.nLayers * (attention + mlp + 2 * d) + d + (s.tiedEmbeddings ? 0 : v * d);
}

function finish(s: Shape): ModelInfo {
  return {
    architecture: s.architecture,
    family: s.family,
    nLayers: s.nLayers,
    hiddenSize: s.hiddenSize,
    intermediateSize: s.intermediateSize,
    nHeads: s.nHeads,
    nKvHeads: s.nKvHeads,
    vocabSize: s.vocabSize,
    tiedEmbeddings: s.tiedEmbeddings,
    maxPositions: s.maxPositions,
    parameterCount: countParameters(s),
  };
}

export type ParsedModelInfo = { readonly ok: true; readonly info: ModelInfo } | { readonly ok: false; readonly reason: string };

/** Reads the fields of an HF `config.json` text. */
export function modelInfoFromConfigJson(text: string): ParsedModelInfo {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, reason: `config.json is not valid JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (!isRecord(json)) return { ok: false, reason: 'config.json does not hold a JSON object' };
  const type = json['model_type'];
  if (typeof type !== 'string') return { ok: false, reason: 'config.json has no model_type' };
  if (type !== 'gpt2' && type !== 'llama' && type !== 'mistral' && type !== 'qwen2') {
    return { ok: false, reason: `unsupported architecture '${type}' (supported: gpt2, llama, mistral, qwen2)` };
  }
  const family: ArchitectureFamily = type === 'gpt2' ? 'gpt2' : 'llama';
  const nLayers = field(json, 'num_hidden_layers', 'n_layer');
  const hiddenSize = field(json, 'hidden_size', 'n_embd');
  const nHeads = field(json, 'num_attention_heads', 'n_head');
  const vocabSize = field(json, 'vocab_size');
  if (nLayers === undefined || hiddenSize === undefined || nHeads === undefined || vocabSize === undefined) {
    return { ok: false, reason: 'config.json lacks one of the layer count, hidden size, head count or vocab size' };
  }
  const nKvHeads = field(json, 'num_key_value_heads') ?? nHeads;
  const intermediateSize = family === 'gpt2' ? field(json, 'n_inner') ?? 4 * hiddenSize : field(json, 'intermediate_size') ?? 4 * hiddenSize;
  const tiedField = json['tie_word_embeddings'];
  const tiedEmbeddings = typeof tiedField === 'boolean' ? tiedField : family === 'gpt2';
  const maxPositions = field(json, 'max_position_embeddings', 'n_positions', 'n_ctx');
  const headDim = field(json, 'head_dim') ?? hiddenSize / nHeads;
  const attentionBias = json['attention_bias'] === true;
  return {
    ok: true,
    info: finish({
      architecture: type,
      family,
      nLayers,
      hiddenSize,
      intermediateSize,
      nHeads,
      nKvHeads,
      vocabSize,
      tiedEmbeddings,
      maxPositions,
      headDim,
      qkvBias: type === 'qwen2' || attentionBias,
      oBias: attentionBias,
      mlpBias: json['mlp_bias'] === true,
    }),
  };
}

/** Byte length of the llama2.c header: 7 little-endian int32. */
export const LLAMA2C_HEADER_BYTES = 28;

/** Reads a llama2.c checkpoint header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size (< 0: untied classifier), seq_len. */
export function modelInfoFromLlama2cHeader(bytes: Uint8Array): ParsedModelInfo {
  if (bytes.length < LLAMA2C_HEADER_BYTES) return { ok: false, reason: `the file is shorter than a llama2.c header (${LLAMA2C_HEADER_BYTES} bytes)` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, LLAMA2C_HEADER_BYTES);
  const h = Array.from({ length: 7 }, (_, i) => view.getInt32(i * 4, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, vocab, seqLen] = h;
  const sane = dim > 0 && hiddenDim > 0 && nLayers > 0 && nHeads > 0 && nKvHeads > 0 && vocab !== 0 && seqLen > 0 && dim % nHeads === 0 && dim < 1 << 20 && nLayers < 1024;
  if (!sane) return { ok: false, reason: `not a llama2.c checkpoint (header ${h.join(', ')})` };
  return {
    ok: true,
    info: finish({
      architecture: 'llama2c',
      family: 'llama',
      nLayers,
      hiddenSize: dim,
      intermediateSize: hiddenDim,
      nHeads,
      nKvHeads,
      vocabSize: Math.abs(vocab),
      tiedEmbeddings: vocab > 0,
      maxPositions: seqLen,
      headDim: dim / nHeads,
      qkvBias: false,
      oBias: false,
      mlpBias: false,
    }),
  };
}

/** "124.4M", "260.0K", "13.0B". */
export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

/** One line, e.g. "Llama · 40 layers · hidden 5120 · 13.02B parameters". */
export function describeModel(info: ModelInfo): string {
  return `${architectureName(info.architecture)} · ${info.nLayers} layers · hidden ${info.hiddenSize} · ${formatCount(info.parameterCount)} parameters`;
}
