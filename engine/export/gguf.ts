/**
 * llama.cpp control vectors as GGUF (v3, little-endian), matching what llama.cpp actually loads
 * (common/common.cpp `common_control_vector_load_one`, src/llama-adapter.cpp `llama_adapter_cvec::apply`):
 *  - tensors named `direction.N`, F32, one dimension of n_embd elements; llama.cpp rejects N = 0, other types and
 *    other ranks, and reads no metadata at all;
 *  - N is the 0-based index of the decoder block whose OUTPUT receives the vector: the loader stores direction.N at
 *    buffer offset n_embd*(N-1), the applier fills block il from offset n_embd*(il-1), and the graph adds it right
 *    after block il's FFN residual (`build_cvec(cur, il)` then "l_out"). That is this engine's "layer L" (block L's
 *    output, HF hidden_states[L+1]), so layer L is written as `direction.L`, unshifted. Block 0 cannot be steered by
 *    llama.cpp (it allocates no tensor for it), so layer 0 is refused;
 *  - metadata as repeng and llama.cpp's cvector-generator write it: general.architecture = "controlvector",
 *    controlvector.model_hint (the model's llama.cpp architecture, e.g. "llama"), controlvector.layer_count (uint32,
 *    as repeng; cvector-generator writes int32; llama.cpp ignores both);
 *  - layout per the GGUF spec as ggml's reader enforces it: tensor data offsets contiguous from 0, each tensor padded
 *    to the 32-byte alignment, including the last (ggml reads the padded data section in one piece).
 * llama.cpp scales the vectors by the user's strength (`--control-vector-scaled FILE S`), so write unscaled ones.
 *
 * Non-goals: a general GGUF writer (other tensor types, arrays), reading GGUF (tests have an independent reader).
 */

import type { ModelConfig } from '../../model/config';
import { ExportError, writeFileAtomic } from './atomic';

export interface ControlVectorMeta {
  /** The model's llama.cpp architecture name ('llama', 'qwen2', 'gpt2', ...); see llamaCppArchitecture. */
  architecture: string;
  /** Written as controlvector.model_hint; default: `architecture`. */
  modelHint?: string;
  /** Decoder blocks of the model; when given, layers must be below it. */
  nLayers?: number;
  /** Extra provenance, written as string KVs `rtune.<key>` (llama.cpp ignores them). */
  metadata?: Record<string, string>;
}

export const GGUF_ALIGNMENT = 32;
const GGUF_VERSION = 3;
const GGML_TYPE_F32 = 0;
const GGUF_TYPE_UINT32 = 4;
const GGUF_TYPE_STRING = 8;
/** ggml's GGML_MAX_NAME: tensor names must be shorter. */
const GGML_MAX_NAME = 64;

/** The GGUF tensor name llama.cpp reads for this engine's layer (block output) `layer`. */
export function controlVectorTensorName(layer: number): string {
  if (!Number.isInteger(layer) || layer < 1) {
    throw new RangeError(
      `layer ${layer}: llama.cpp control vectors address decoder blocks 1..n_layer-1 by their 0-based index ` +
        '(direction.N is added to the output of block N); block 0 cannot be steered there.',
    );
  }
  return `direction.${layer}`;
}

/** llama.cpp's architecture name for a model (what convert_hf_to_gguf writes as general.architecture). */
export function llamaCppArchitecture(c: ModelConfig): string {
  switch (c.modelType) {
    case 'gpt2':
      return 'gpt2';
    case 'qwen2':
    case 'qwen3':
    case 'phi3':
    case 'gemma2':
      return c.modelType;
    case 'gemma3_text':
      return 'gemma3';
    // Mistral and llama2.c checkpoints convert to llama.cpp's "llama" architecture.
    default:
      return 'llama';
  }
}

/**
 * Writes a llama.cpp control vector: one `direction.L` tensor per layer L (block output), F32 [hidden].
 * Atomic (temp file + rename). Throws on layer 0, uneven or empty vectors, or non-finite values.
 */
export function writeGgufControlVector(file: string, directions: ReadonlyMap<number, Float32Array>, meta: ControlVectorMeta): void {
  if (directions.size === 0) throw new ExportError(file, `${file}: no directions to write.`);
  if (typeof meta.architecture !== 'string' || meta.architecture.length === 0) {
    throw new ExportError(file, `${file}: meta.architecture must name the model's architecture (e.g. "llama").`);
  }
  const layers = [...directions.keys()].sort((x, y) => x - y);
  let hidden = -1;
  for (const layer of layers) {
    controlVectorTensorName(layer);
    if (meta.nLayers !== undefined && layer >= meta.nLayers) {
      throw new ExportError(file, `${file}: layer ${layer} does not exist in a ${meta.nLayers}-layer model.`);
    }
    const v = directions.get(layer) ?? new Float32Array(0);
    if (v.length === 0) throw new ExportError(file, `${file}: the direction for layer ${layer} is empty.`);
    if (hidden === -1) hidden = v.length;
    else if (v.length !== hidden) {
      throw new ExportError(
        file,
        `${file}: layer ${layer} has ${v.length} values but layer ${layers[0]} has ${hidden}; all directions must have the model's hidden size.`,
      );
    }
    for (let i = 0; i < v.length; i++) {
      if (!Number.isFinite(v[i])) throw new ExportError(file, `${file}: the direction for layer ${layer} has a non-finite value at index ${i}.`);
    }
  }

  const kv: Array<[string, number, Uint8Array]> = [
    ['general.architecture', GGUF_TYPE_STRING, ggufString('controlvector')],
    ['controlvector.model_hint', GGUF_TYPE_STRING, ggufString(meta.modelHint ?? meta.architecture)],
    ['controlvector.layer_count', GGUF_TYPE_UINT32, u32(layers.length)],
  ];
  for (const [key, value] of Object.entries(meta.metadata ?? {})) {
    if (typeof value !== 'string') throw new ExportError(file, `${file}: metadata "${key}" must be a string.`);
    kv.push([`rtune.${key}`, GGUF_TYPE_STRING, ggufString(value)]);
  }

  const tensorBytes = hidden * 4;
  const paddedBytes = padTo(tensorBytes, GGUF_ALIGNMENT);
  const head: Uint8Array[] = [new TextEncoder().encode('GGUF'), u32(GGUF_VERSION), u64(layers.length), u64(kv.length)];
  for (const [key, type, value] of kv) head.push(ggufString(key), u32(type), value);
  layers.forEach((layer, i) => {
    const name = controlVectorTensorName(layer);
    if (name.length >= GGML_MAX_NAME) throw new ExportError(file, `${file}: tensor name ${name} is too long for ggml.`);
    head.push(ggufString(name), u32(1), u64(hidden), u32(GGML_TYPE_F32), u64(i * paddedBytes));
  });
  const headLength = head.reduce((acc, b) => acc + b.length, 0);
  const chunks = [...head, new Uint8Array(padTo(headLength, GGUF_ALIGNMENT) - headLength)];
  for (const layer of layers) {
    const v = directions.get(layer) ?? new Float32Array(0);
    const bytes = new Uint8Array(paddedBytes); // zero padding after the values
    const view = new DataView(bytes.buffer);
    for (let i = 0; i < hidden; i++) view.setFloat32(4 * i, v[i] as number, true);
    chunks.push(bytes);
  }
  writeFileAtomic(file, chunks);
}

function padTo(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

function u32(x: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, x, true);
  return b;
}

function u64(x: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(x), true);
  return b;
}

/** GGUF string: uint64 byte length, then UTF-8 bytes without a terminator. */
function ggufString(s: string): Uint8Array {
  const bytes = new TextEncoder().encode(s);
  const out = new Uint8Array(8 + bytes.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(bytes.length), true);
  out.set(bytes, 8);
  return out;
}
