/**
 * The safetensors format as this engine reads and writes it: the error type, header and tensor types, the dtype
 * table, the reference crate's header size limit, and the small value checks the reader and writer share.
 */

export type SafetensorsErrorKind = 'io' | 'truncated' | 'header' | 'dtype' | 'missing' | 'shape';

/** Every failure of the safetensors modules. `kind` says what went wrong, `file` and `tensor` say where. */
export class SafetensorsError extends Error {
  readonly kind: SafetensorsErrorKind;
  readonly file: string;
  readonly tensor?: string;

  constructor(kind: SafetensorsErrorKind, file: string, message: string, tensor?: string) {
    super(message);
    this.name = 'SafetensorsError';
    this.kind = kind;
    this.file = file;
    if (tensor !== undefined) this.tensor = tensor;
  }
}

export interface TensorInfo {
  dtype: string;
  shape: number[];
  /** [begin, end) in bytes, relative to the start of the data section. */
  byteOffsets: [number, number];
}

export interface SafetensorsHeader {
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Absolute file offset of the data section: 8 + header length. */
  dataStart: number;
}

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

/** The reference crate refuses headers above 100 MB (`HeaderTooLarge`); so do we. */
export const MAX_HEADER_BYTES = 100_000_000;

/** Bytes per element of every dtype the format defines. */
export const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
  F8_E4M3: 1,
  F8_E5M2: 1,
};

export const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);

export const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export const METADATA_KEY = '__metadata__';

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}
