/**
 * The llama2.c checkpoint header (Karpathy's legacy "version 0" `.bin`: 7 little-endian int32, then densely
 * packed f32 arrays): parsing and validating the 28 bytes, the number of floats they promise, and the
 * ModelConfig they describe. The one reader of the header: the engine's loader (engine/io/llama2c.ts) and the
 * language server's model metadata (language/model-info.ts) both call `parseLlama2cHeader`. Imports nothing but
 * ModelConfig and its plain-feature defaults. Non-goals: reading the weights (engine/io/llama2c.ts), the versioned exports ("ak42").
 */
import { plainFeatures, type ModelConfig } from './config';

/** Byte length of the header: dim, hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len (run.c `Config`). */
export const LLAMA2C_HEADER_BYTES = 28;
const FLOAT_BYTES = 4;
/** First u32 of llama2.c's versioned exports (export.py `version1_export`): "ak42" read little-endian. */
const VERSIONED_EXPORT_MAGIC = 0x616b3432;
const FIELDS = ['dim', 'hidden_dim', 'n_layers', 'n_heads', 'n_kv_heads', 'vocab_size', 'seq_len'] as const;

export interface Llama2cConfig {
  dim: number;
  hiddenDim: number;
  nLayers: number;
  nHeads: number;
  nKvHeads: number;
  /** Always positive here; the sign in the file only says whether the classifier is shared. */
  vocabSize: number;
  seqLen: number;
  /** True when the output classifier is the token embedding (positive vocab_size in the header). */
  sharedClassifier: boolean;
}

/** `truncated`: the file is shorter than the header or its weights; `header`: the values are not a checkpoint's. */
export type Llama2cHeaderResult =
  | { readonly ok: true; readonly header: Llama2cConfig }
  | { readonly ok: false; readonly kind: 'truncated' | 'header'; readonly reason: string };

/** Number of f32 values the file must hold after the header (run.c memory_map_weights). */
export function llama2cFloatCount(config: Llama2cConfig): number {
  const { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize, seqLen, sharedClassifier } = config;
  const headSize = dim / nHeads;
  const kvDim = nKvHeads * headSize;
  return (
    vocabSize * dim + // token embedding
    nLayers * dim + // rms_att
    nLayers * dim * dim + // wq
    2 * nLayers * kvDim * dim + // wk, wv
    nLayers * dim * dim + // wo
    nLayers * dim + // rms_ffn
    3 * nLayers * hiddenDim * dim + // w1, w2, w3
    dim + // rms_final
    2 * seqLen * (headSize / 2) + // legacy freq_cis_real, freq_cis_imag
    (sharedClassifier ? 0 : vocabSize * dim)
  ); // wcls
}

/**
 * Validates the first bytes of a `.bin` file. `fileSize` (when the caller knows it) is checked against the size
 * the header implies. Reasons do not name the file: callers prefix it.
 */
export function parseLlama2cHeader(bytes: Uint8Array, fileSize?: number): Llama2cHeaderResult {
  const size = fileSize ?? bytes.length;
  if (bytes.length < LLAMA2C_HEADER_BYTES || size < LLAMA2C_HEADER_BYTES) {
    return {
      ok: false,
      kind: 'truncated',
      reason: `${size} bytes is too short for the 28-byte llama2.c header; the file is truncated or not a llama2.c checkpoint.`,
    };
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, LLAMA2C_HEADER_BYTES);
  if (view.getUint32(0, true) === VERSIONED_EXPORT_MAGIC) {
    return {
      ok: false,
      kind: 'header',
      reason:
        'this is a versioned llama2.c export (magic "ak42"); only the legacy version-0 format is supported. Re-export with `python export.py --version 0` from llama2.c.',
    };
  }
  const values = FIELDS.map((_, i) => view.getInt32(4 * i, true));
  const [dim, hiddenDim, nLayers, nHeads, nKvHeads, rawVocab, seqLen] = values as [number, number, number, number, number, number, number];
  const bad = (what: string): Llama2cHeaderResult => ({
    ok: false,
    kind: 'header',
    reason: `invalid llama2.c header (${FIELDS.map((f, i) => `${f}=${values[i]}`).join(', ')}): ${what}. The file is not a legacy llama2.c checkpoint or it is corrupt.`,
  });
  for (let i = 0; i < FIELDS.length; i++) {
    const v = values[i] as number;
    if (i === 5 ? v === 0 : v <= 0) return bad(`${FIELDS[i]} must be ${i === 5 ? 'non-zero' : 'positive'}`);
  }
  if (dim % nHeads !== 0) return bad('dim must be a multiple of n_heads');
  if (nKvHeads > nHeads || nHeads % nKvHeads !== 0) return bad('n_heads must be a multiple of n_kv_heads');
  if ((dim / nHeads) % 2 !== 0) return bad('head size (dim / n_heads) must be even for RoPE');
  const header: Llama2cConfig = { dim, hiddenDim, nLayers, nHeads, nKvHeads, vocabSize: Math.abs(rawVocab), seqLen, sharedClassifier: rawVocab > 0 };
  const expected = LLAMA2C_HEADER_BYTES + FLOAT_BYTES * llama2cFloatCount(header);
  if (!Number.isSafeInteger(expected)) return bad('the dimensions are absurdly large');
  if (fileSize === undefined) return { ok: true, header };
  const described = `its header (dim ${dim}, ${nLayers} layers, vocab ${header.vocabSize}, ${header.sharedClassifier ? 'shared' : 'separate'} classifier)`;
  if (fileSize < expected) {
    return { ok: false, kind: 'truncated', reason: `file has ${fileSize} bytes but ${described} needs ${expected}; the file is truncated (re-download it).` };
  }
  if (fileSize > expected) {
    return {
      ok: false,
      kind: 'header',
      reason: `file has ${fileSize} bytes but ${described} describes ${expected}; the header does not match the weights (wrong format or version?).`,
    };
  }
  return { ok: true, header };
}

/** A llama2.c header as a ModelConfig (llama2.c: RMSNorm eps 1e-5, RoPE theta 10000, BOS 1, EOS 2). */
export function llama2cConfig(h: Llama2cConfig): ModelConfig {
  return {
    arch: 'llama',
    modelType: 'llama2c',
    vocabSize: h.vocabSize,
    hiddenSize: h.dim,
    nLayers: h.nLayers,
    nHeads: h.nHeads,
    nKvHeads: h.nKvHeads,
    headDim: h.dim / h.nHeads,
    intermediateSize: h.hiddenDim,
    maxPositions: h.seqLen,
    normEps: 1e-5,
    tieWordEmbeddings: h.sharedClassifier,
    ropeTheta: 10000,
    rotaryDim: h.dim / h.nHeads,
    ropeScaling: undefined,
    attentionBias: false,
    outputBias: false,
    mlpBias: false,
    activation: 'silu',
    ...plainFeatures(h.nLayers, undefined),
    bosTokenId: 1,
    eosTokenId: 2,
  };
}
