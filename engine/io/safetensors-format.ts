/**
 * The safetensors format as this engine reads and writes it: the error type, header and tensor types, the dtype
 * table, the reference crate's header size limit, and the small value checks the reader and writer share. The
 * header types and parsing live in model/safetensors-header.ts (pure, shared with the language server).
 */

export { SafetensorsError, type SafetensorsErrorKind, type SafetensorsHeader, type TensorInfo } from '../../model/safetensors-header';
export { DTYPE_BYTES, MAX_HEADER_BYTES, METADATA_KEY, formatShape, isNonNegativeInteger, isRecord } from '../../model/safetensors-header';

export interface F32Tensor {
  dtype: string;
  shape: number[];
  data: Float32Array;
}

export interface ReadOptions {
  /** Read only the tensors for which this returns true (others are neither read nor dtype-checked). */
  only?: (name: string) => boolean;
}

export interface SafetensorsFile {
  tensors: Map<string, F32Tensor>;
  metadata: Record<string, string>;
}

export interface SafetensorsModel extends SafetensorsFile {
  /** Absolute paths of the files read, in reading order (the index first when sharded). */
  files: string[];
}

export type WritableDtype = 'F32' | 'F16' | 'BF16';

export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
  /** On-disk dtype; default F32. */
  dtype?: WritableDtype;
}

export const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);

export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
