/**
 * safetensors reading and writing: a validated loader (header only, one file, or a sharded HF model folder) and an
 * atomic writer. Weights come back as f32 whatever their dtype on disk (F32, F16, BF16, F64); f32 is what the engine
 * computes in. Format: 8-byte little-endian u64 header length, a JSON header (`dtype`, `shape`, `data_offsets` relative
 * to the data section, optional `__metadata__` with string values), then raw little-endian C-order bytes.
 * Validation mirrors the reference crate's `SafeTensorError` (header too large, invalid offsets, incomplete buffer, ...).
 *
 * Non-goals: memory mapping, lazy tensors, integer tensors in memory (the engine has none: they are rejected with a
 * 'dtype' error unless skipped via `only`), FP8 decoding, big-endian files (safetensors is little-endian by spec).
 *
 * This file is the public entry: safetensors-format.ts (types, error, dtype table), safetensors-header.ts (header
 * validation), safetensors-read.ts (files and sharded folders), safetensors-write.ts, half-precision.ts (F16/BF16).
 */

export {
  MAX_HEADER_BYTES,
  SafetensorsError,
  formatShape,
  type F32Tensor,
  type ReadOptions,
  type SafetensorsErrorKind,
  type SafetensorsFile,
  type SafetensorsHeader,
  type SafetensorsModel,
  type TensorInfo,
  type TensorToWrite,
  type WritableDtype,
} from './safetensors-format';
export { readSafetensorsHeader } from './safetensors-header';
export { readSafetensors, readSafetensorsModel, requireTensor } from './safetensors-read';
export { writeSafetensors } from './safetensors-write';
export { bf16ToF32, f16BitsToF32Bits, f16ToF32, f32BitsToBf16Bits, f32BitsToF16Bits, f32ToBf16, f32ToF16 } from './half-precision';
