/**
 * Model metadata without loading weights: a Hugging Face `config.json` or the 28-byte header of a llama2.c `.bin`,
 * normalised by the engine's own description (model/config.ts, model/llama2c.ts), so the language server sees
 * exactly the ModelConfig the engine will run: depth, widths, vocabulary, tying, and the parameter count summed
 * over the loader's tensor list (model/params.ts). Used for model-aware diagnostics, hover and completion; the
 * host reads the bytes (language/ does no I/O) and caches by path and mtime. Non-goals: no validation of the
 * weights themselves.
 */

import type { ArchitectureFamily } from '../model/blocks';
import { ModelConfigError, parseHfConfig, type ModelConfig } from '../model/config';
import { llama2cConfig, parseLlama2cHeader } from '../model/llama2c';
import { parameterCount } from '../model/params';

export { LLAMA2C_HEADER_BYTES } from '../model/llama2c';

export type Architecture = 'gpt2' | 'llama' | 'mistral' | 'qwen2' | 'qwen3' | 'phi3' | 'gemma2' | 'gemma3_text' | 'llama2c';

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
  /** Context length (the checkpoint's, or its architecture's default when config.json omits it). */
  readonly maxPositions: number;
  readonly parameterCount: number;
  /** The engine's normalised config (block resolution, anything else the checks need). */
  readonly config: ModelConfig;
}

export type ModelInfoResult =
  | { readonly ok: true; readonly info: ModelInfo; /** the file read (config.json or the .bin) */ readonly file: string }
  | { readonly ok: false; /** nothing exists at the path: model-aware checks are silently off */ readonly missing: boolean; readonly reason: string };

const ARCHITECTURE_NAMES: Readonly<Record<Architecture, string>> = {
  gpt2: 'GPT-2',
  llama: 'Llama',
  mistral: 'Mistral',
  qwen2: 'Qwen2',
  qwen3: 'Qwen3',
  phi3: 'Phi-3',
  gemma2: 'Gemma 2',
  gemma3_text: 'Gemma 3',
  llama2c: 'llama2.c (Llama)',
};

export function architectureName(a: Architecture): string {
  return ARCHITECTURE_NAMES[a];
}

/** The language's view of a ModelConfig. */
export function modelInfoOf(config: ModelConfig): ModelInfo {
  return {
    architecture: config.modelType as Architecture,
    family: config.arch,
    nLayers: config.nLayers,
    hiddenSize: config.hiddenSize,
    intermediateSize: config.intermediateSize,
    nHeads: config.nHeads,
    nKvHeads: config.nKvHeads,
    vocabSize: config.vocabSize,
    tiedEmbeddings: config.tieWordEmbeddings,
    maxPositions: config.maxPositions,
    parameterCount: parameterCount(config),
    config,
  };
}

export type ParsedModelInfo = { readonly ok: true; readonly info: ModelInfo } | { readonly ok: false; readonly reason: string };

/** Reads an HF `config.json` text exactly as the engine's loader does. */
export function modelInfoFromConfigJson(text: string): ParsedModelInfo {
  try {
    return { ok: true, info: modelInfoOf(parseHfConfig(text, 'config.json')) };
  } catch (e) {
    if (e instanceof ModelConfigError) return { ok: false, reason: e.message };
    throw e;
  }
}

/**
 * Reads a llama2.c checkpoint header with the engine's parser; `fileSize` (when the host knows it) is checked
 * against the size the header implies, as the loader does.
 */
export function modelInfoFromLlama2cHeader(bytes: Uint8Array, fileSize?: number): ParsedModelInfo {
  const r = parseLlama2cHeader(bytes, fileSize);
  return r.ok ? { ok: true, info: modelInfoOf(llama2cConfig(r.header)) } : { ok: false, reason: r.reason };
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
