/**
 * The safetensors header as pure data and functions: the error type, the header and tensor types, the dtype
 * table, the reference crate's size limit, and the parsing and validation of the 8-byte length and the JSON
 * header (tensor entries, `__metadata__`, and the check that the tensors tile the data section exactly). No I/O:
 * the engine's reader (engine/io/safetensors-header.ts) and the language server's model checks
 * (language/node-env.ts) read the bytes and both call these, so the editor and the loader refuse the same files.
 * Errors mirror the reference crate's `SafetensorsError` kinds (header too large, invalid offsets, truncation).
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

export const METADATA_KEY = '__metadata__';

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** The JSON header's length from the file's first 8 bytes, checked against the limit and the file's size. */
export function safetensorsHeaderLength(first8: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8 || first8.length < 8) {
    throw new SafetensorsError(
      'truncated',
      file,
      `${file}: file is ${fileSize} bytes, too short for the 8-byte safetensors header length. The file is truncated or not safetensors.`,
    );
  }
  const headerLength = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError(
      'header',
      file,
      `${file}: header length ${headerLength} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit; this is not a safetensors file or it is corrupt.`,
    );
  }
  const headerBytes = Number(headerLength);
  if (headerBytes < 2) {
    throw new SafetensorsError('header', file, `${file}: header length ${headerBytes} is too small to hold a JSON object; the file is corrupt.`);
  }
  if (8 + headerBytes > fileSize) {
    throw new SafetensorsError(
      'truncated',
      file,
      `${file}: header length ${headerBytes} runs past the end of the ${fileSize}-byte file; the file is truncated (re-download it).`,
    );
  }
  return headerBytes;
}

/** Parses and validates the JSON header bytes (the `headerLength` bytes after the first 8) of a `fileSize`-byte file. */
export function parseSafetensorsHeader(raw: Uint8Array, fileSize: number, file: string): SafetensorsHeader {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new SafetensorsError('header', file, `${file}: header is not valid UTF-8; the file is corrupt or not safetensors.`);
  }
  if (!text.startsWith('{')) {
    throw new SafetensorsError('header', file, `${file}: header does not start with '{'; this is not a safetensors file.`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SafetensorsError('header', file, `${file}: header is not valid JSON (${err instanceof Error ? err.message : String(err)}); the file is corrupt.`);
  }
  if (!isRecord(parsed)) {
    throw new SafetensorsError('header', file, `${file}: header JSON is not an object; this is not a safetensors file.`);
  }
  const dataStart = 8 + raw.length;
  const dataSize = fileSize - dataStart;
  const metadata = parseMetadata(parsed[METADATA_KEY], file);
  const tensors = new Map<string, TensorInfo>();
  for (const [name, entry] of Object.entries(parsed)) {
    if (name === METADATA_KEY) continue;
    tensors.set(name, parseTensorInfo(name, entry, file));
  }
  checkLayout(tensors, dataSize, file);
  return { tensors, metadata, dataStart };
}

function parseMetadata(value: unknown, file: string): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (value === undefined || value === null) return metadata;
  if (!isRecord(value)) {
    throw new SafetensorsError('header', file, `${file}: "${METADATA_KEY}" must be an object of strings.`);
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      throw new SafetensorsError('header', file, `${file}: "${METADATA_KEY}.${key}" must be a string, found ${typeof v}.`);
    }
    metadata[key] = v;
  }
  return metadata;
}

function parseTensorInfo(name: string, entry: unknown, file: string): TensorInfo {
  const bad = (what: string): SafetensorsError =>
    new SafetensorsError('header', file, `${file}: tensor "${name}": ${what}. The header is corrupt; re-save or re-download the file.`, name);
  if (!isRecord(entry)) throw bad('entry is not an object with dtype, shape and data_offsets');
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string') throw bad('missing or non-string "dtype"');
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) throw bad('"shape" must be an array of non-negative integers');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    throw bad('"data_offsets" must be [begin, end] with non-negative integers');
  }
  const elementBytes = DTYPE_BYTES[dtype];
  if (elementBytes === undefined) {
    throw new SafetensorsError('dtype', file, `${file}: tensor "${name}" has unknown dtype "${dtype}" (known: ${Object.keys(DTYPE_BYTES).join(', ')}).`, name);
  }
  const [begin, end] = offsets;
  if (end < begin) throw bad(`data_offsets [${begin}, ${end}] end before they begin`);
  const numel = shape.reduce((acc, d) => acc * d, 1);
  const expectedBytes = numel * elementBytes;
  if (!Number.isSafeInteger(expectedBytes)) throw bad(`shape ${formatShape(shape)} is too large`);
  if (end - begin !== expectedBytes) {
    throw bad(`data_offsets [${begin}, ${end}] span ${end - begin} bytes but shape ${formatShape(shape)} of ${dtype} needs ${expectedBytes}`);
  }
  return { dtype, shape: [...shape], byteOffsets: [begin, end] };
}

/** Tensors must tile the data section exactly: no overlap, no gap, nothing past the end, nothing after the last. */
function checkLayout(tensors: Map<string, TensorInfo>, dataSize: number, file: string): void {
  const ordered = [...tensors].sort((a, b) => a[1].byteOffsets[0] - b[1].byteOffsets[0] || a[1].byteOffsets[1] - b[1].byteOffsets[1]);
  // Truncation first: a short file is the most common failure and the most useful thing to report.
  const beyond = ordered.find(([, info]) => info.byteOffsets[1] > dataSize);
  if (beyond !== undefined) {
    const [name, info] = beyond;
    throw new SafetensorsError(
      'truncated',
      file,
      `${file}: tensor "${name}" lies at data bytes [${info.byteOffsets[0]}, ${info.byteOffsets[1]}) but the data section has only ` +
        `${dataSize} bytes; the file is truncated (re-download or re-save it).`,
      name,
    );
  }
  let expectedBegin = 0;
  let previous = '';
  for (const [name, info] of ordered) {
    const [begin, end] = info.byteOffsets;
    if (begin < expectedBegin) {
      throw new SafetensorsError(
        'header',
        file,
        `${file}: tensor "${name}" at data bytes [${begin}, ${end}) overlaps tensor "${previous}" (which ends at ${expectedBegin}); ` +
          'the header is corrupt.',
        name,
      );
    }
    if (begin > expectedBegin) {
      throw new SafetensorsError(
        'header',
        file,
        `${file}: tensor "${name}" starts at data byte ${begin} but the previous tensor ends at ${expectedBegin}; ` +
          'safetensors requires contiguous tensors, so the header is corrupt.',
        name,
      );
    }
    expectedBegin = end;
    previous = name;
  }
  if (expectedBegin !== dataSize) {
    throw new SafetensorsError(
      'header',
      file,
      `${file}: the data section has ${dataSize} bytes but the tensors${previous ? ` (last: "${previous}")` : ''} cover only ` +
        `${expectedBegin}; the header does not describe this file.`,
      previous || undefined,
    );
  }
}
