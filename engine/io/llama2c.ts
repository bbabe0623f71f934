/**
 * llama2.c checkpoints (Karpathy's legacy "version 0" `.bin`: 7 int32 header, then densely packed f32 arrays, see
 * ../shared/data/llama2c-stories260K/PROVENANCE.md) loaded as a Hugging Face Llama state dict: HF parameter names,
 * nn.Linear [out, in] layout, and q/k projection rows permuted from llama2.c's interleaved-pair RoPE layout to HF's
 * rotate_half layout, exactly as transformers' convert_llama_weights_to_hf.py does. The rest of the engine therefore
 * sees one Llama format whatever the source.
 *
 * Non-goals: the newer llama2.c export versions (magic "ak42", int8 quantised), writing `.bin` files (the inverse
 * permutation is exported for whoever writes one), the legacy freq_cis tables (skipped, RoPE is recomputed).
 */

import * as fs from 'node:fs';
import { describeError, openForReading as openFile } from '../../common/fs';
import { LLAMA2C_HEADER_BYTES, parseLlama2cHeader, type Llama2cConfig } from '../../model/llama2c';

export type CheckpointErrorKind = 'io' | 'truncated' | 'header';

export class CheckpointError extends Error {
  readonly kind: CheckpointErrorKind;
  readonly file: string;

  constructor(kind: CheckpointErrorKind, file: string, message: string) {
    super(message);
    this.name = 'CheckpointError';
    this.kind = kind;
    this.file = file;
  }
}

export interface Llama2cTensor {
  shape: number[];
  data: Float32Array;
}

export interface Llama2cCheckpoint {
  config: Llama2cConfig;
  tensors: Map<string, Llama2cTensor>;
}

const FLOAT_BYTES = 4;

/** Reads only the 28-byte header and validates it against the file size. */
export function readLlama2cHeader(file: string): Llama2cConfig {
  const fd = openForReading(file);
  try {
    return readHeaderFromFd(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a llama2.c checkpoint into HF Llama names and layout (see the file header). */
export function readLlama2cCheckpoint(file: string): Llama2cCheckpoint {
  const fd = openForReading(file);
  try {
    const config = readHeaderFromFd(fd, file);
    const { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen } = config;
    const headSize = dim / nHeads;
    const kvDim = nKvHeads * headSize;
    let position = LLAMA2C_HEADER_BYTES;
    // Reads `count` consecutive floats; the order of calls below is the file order (run.c memory_map_weights).
    const next = (count: number): Float32Array => {
      const data = readFloats(fd, file, position, count);
      position += count * FLOAT_BYTES;
      return data;
    };
    const perLayer = (stacked: Float32Array, layer: number, size: number): Float32Array => stacked.slice(layer * size, (layer + 1) * size);

    const tensors = new Map<string, Llama2cTensor>();
    const embedding = next(vocabSize * dim);
    tensors.set('model.embed_tokens.weight', { shape: [vocabSize, dim], data: embedding });
    const rmsAtt = next(nLayers * dim);
    const wq = next(nLayers * dim * dim);
    const wk = next(nLayers * kvDim * dim);
    const wv = next(nLayers * kvDim * dim);
    const wo = next(nLayers * dim * dim);
    const rmsFfn = next(nLayers * dim);
    const w1 = next(nLayers * hiddenDim * dim);
    const w2 = next(nLayers * dim * hiddenDim);
    const w3 = next(nLayers * hiddenDim * dim);
    const rmsFinal = next(dim);
    position += 2 * seqLen * (headSize / 2) * FLOAT_BYTES; // legacy freq_cis_real and freq_cis_imag
    for (let layer = 0; layer < nLayers; layer++) {
      const prefix = `model.layers.${layer}`;
      tensors.set(`${prefix}.input_layernorm.weight`, { shape: [dim], data: perLayer(rmsAtt, layer, dim) });
      tensors.set(`${prefix}.self_attn.q_proj.weight`, {
        shape: [dim, dim],
        data: permuteLlama2cToHf(perLayer(wq, layer, dim * dim), nHeads, headSize, dim),
      });
      tensors.set(`${prefix}.self_attn.k_proj.weight`, {
        shape: [kvDim, dim],
        data: permuteLlama2cToHf(perLayer(wk, layer, kvDim * dim), nKvHeads, headSize, dim),
      });
      tensors.set(`${prefix}.self_attn.v_proj.weight`, { shape: [kvDim, dim], data: perLayer(wv, layer, kvDim * dim) });
      tensors.set(`${prefix}.self_attn.o_proj.weight`, { shape: [dim, dim], data: perLayer(wo, layer, dim * dim) });
      tensors.set(`${prefix}.post_attention_layernorm.weight`, { shape: [dim], data: perLayer(rmsFfn, layer, dim) });
      tensors.set(`${prefix}.mlp.gate_proj.weight`, { shape: [hiddenDim, dim], data: perLayer(w1, layer, hiddenDim * dim) });
      tensors.set(`${prefix}.mlp.down_proj.weight`, { shape: [dim, hiddenDim], data: perLayer(w2, layer, dim * hiddenDim) });
      tensors.set(`${prefix}.mlp.up_proj.weight`, { shape: [hiddenDim, dim], data: perLayer(w3, layer, hiddenDim * dim) });
    }
    tensors.set('model.norm.weight', { shape: [dim], data: rmsFinal });
    if (!config.sharedClassifier) tensors.set('lm_head.weight', { shape: [vocabSize, dim], data: next(vocabSize * dim) });
    return { config, tensors };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * llama2.c (interleaved pairs) -> HF (rotate_half) row order of a q or k projection with `nHeadsX` heads:
 * `W.view(nHeadsX, headSize/2, 2, cols).transpose(1, 2).reshape(nHeadsX*headSize, cols)`. Within each head, row
 * `j*2 + p` (pair j, element p) moves to row `p*(headSize/2) + j`.
 */
export function permuteLlama2cToHf(weight: Float32Array, nHeadsX: number, headSize: number, cols: number): Float32Array {
  return permuteRows(
    weight,
    nHeadsX,
    headSize,
    cols,
    (j, p) => 2 * j + p,
    (j, p, half) => p * half + j,
  );
}

/** The inverse of `permuteLlama2cToHf`: HF rotate_half rows back to llama2.c's interleaved pairs (for export). */
export function permuteHfToLlama2c(weight: Float32Array, nHeadsX: number, headSize: number, cols: number): Float32Array {
  return permuteRows(
    weight,
    nHeadsX,
    headSize,
    cols,
    (j, p, half) => p * half + j,
    (j, p) => 2 * j + p,
  );
}

function permuteRows(
  weight: Float32Array,
  nHeadsX: number,
  headSize: number,
  cols: number,
  sourceRow: (pair: number, element: number, half: number) => number,
  targetRow: (pair: number, element: number, half: number) => number,
): Float32Array {
  if (headSize % 2 !== 0) throw new RangeError(`RoPE permutation needs an even head size, got ${headSize}`);
  if (weight.length !== nHeadsX * headSize * cols) {
    throw new RangeError(`RoPE permutation: weight has ${weight.length} values, expected ${nHeadsX}×${headSize}×${cols}`);
  }
  const half = headSize / 2;
  const out = new Float32Array(weight.length);
  for (let head = 0; head < nHeadsX; head++) {
    const base = head * headSize;
    for (let j = 0; j < half; j++) {
      for (let p = 0; p < 2; p++) {
        const from = (base + sourceRow(j, p, half)) * cols;
        const to = (base + targetRow(j, p, half)) * cols;
        out.set(weight.subarray(from, from + cols), to);
      }
    }
  }
  return out;
}

/** The header, checked against the file size, via the shared parser (model/llama2c.ts). */
function readHeaderFromFd(fd: number, file: string): Llama2cConfig {
  const fileSize = fs.fstatSync(fd).size;
  const bytes = new Uint8Array(Math.min(LLAMA2C_HEADER_BYTES, fileSize));
  readInto(fd, file, 0, bytes);
  const r = parseLlama2cHeader(bytes, fileSize);
  if (!r.ok) throw new CheckpointError(r.kind, file, `${file}: ${r.reason}`);
  return r.header;
}

function readFloats(fd: number, file: string, position: number, count: number): Float32Array {
  const out = new Float32Array(count);
  readInto(fd, file, position, new Uint8Array(out.buffer));
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
    // Big-endian host: the file is little-endian.
    const view = new DataView(out.buffer);
    for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  }
  return out;
}

function openForReading(file: string): number {
  return openFile(file, (message) => new CheckpointError('io', file, message));
}

function readInto(fd: number, file: string, position: number, target: Uint8Array): void {
  let done = 0;
  while (done < target.length) {
    let n: number;
    try {
      n = fs.readSync(fd, target, done, target.length - done, position + done);
    } catch (err) {
      throw new CheckpointError('io', file, `${file}: read failed at byte ${position + done} (${describeError(err)}).`);
    }
    if (n === 0) throw new CheckpointError('truncated', file, `${file}: file ended at byte ${position + done}; it is truncated.`);
    done += n;
  }
}
