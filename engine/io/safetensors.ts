/**
 * safetensors reading and writing: a validated loader (header only, one file, or a sharded HF model folder) and an
 * atomic writer. Weights come back as f32 whatever their dtype on disk (F32, F16, BF16, F64); f32 is what the engine
 * computes in. Format: 8-byte little-endian u64 header length, a JSON header (`dtype`, `shape`, `data_offsets` relative
 * to the data section, optional `__metadata__` with string values), then raw little-endian C-order bytes.
 * Validation mirrors the reference crate's `SafeTensorError` (header too large, invalid offsets, incomplete buffer, ...).
 *
 * Non-goals: memory mapping, lazy tensors, integer tensors in memory (the engine has none: they are rejected with a
 * 'dtype' error unless skipped via `only`), FP8 decoding, big-endian files (safetensors is little-endian by spec).
 */

import * as fs from 'node:fs';
import { describeError, openForReading as openFile, writeFileAtomicWith } from '../../common/fs';
import * as path from 'node:path';

export type SafetensorsErrorKind = 'io' | 'truncated' | 'header' | 'dtype' | 'missing' | 'shape';

/** Every failure of this module. `kind` says what went wrong, `file` and `tensor` say where. */
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
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8, F32: 4, F16: 2, BF16: 2,
  I64: 8, I32: 4, I16: 2, I8: 1,
  U64: 8, U32: 4, U16: 2, U8: 1,
  BOOL: 1, F8_E4M3: 1, F8_E5M2: 1,
};

const FLOAT_DTYPES = new Set(['F64', 'F32', 'F16', 'BF16']);

const HOST_IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const METADATA_KEY = '__metadata__';

// ---------------------------------------------------------------------------------------------------------------
// Reading

/** Reads and validates the header of one safetensors file without reading tensor data. */
export function readSafetensorsHeader(file: string): SafetensorsHeader {
  const fd = openForReading(file);
  try {
    return readHeaderFromFd(fd, file);
  } finally {
    fs.closeSync(fd);
  }
}

/** Reads a safetensors file; every floating-point tensor comes back as f32. */
export function readSafetensors(file: string, opts: ReadOptions = {}): SafetensorsFile {
  const fd = openForReading(file);
  try {
    const header = readHeaderFromFd(fd, file);
    const tensors = new Map<string, F32Tensor>();
    for (const [name, info] of header.tensors) {
      if (opts.only !== undefined && !opts.only(name)) continue;
      tensors.set(name, readTensor(fd, file, name, info, header.dataStart));
    }
    return { tensors, metadata: header.metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Reads a Hugging Face model folder: `model.safetensors`, or the shards listed by `model.safetensors.index.json`
 * (`weight_map`: tensor name -> shard file). Every shard must exist and hold the tensors the index assigns to it.
 */
export function readSafetensorsModel(dir: string, opts: ReadOptions = {}): SafetensorsModel {
  const single = path.join(dir, 'model.safetensors');
  const indexFile = path.join(dir, 'model.safetensors.index.json');
  if (fs.existsSync(single)) {
    const read = readSafetensors(single, opts);
    return { ...read, files: [path.resolve(single)] };
  }
  if (!fs.existsSync(indexFile)) {
    throw new SafetensorsError('missing', dir,
      `${dir}: no weights found: looked for model.safetensors and model.safetensors.index.json. ` +
      'Point the model path at a Hugging Face folder saved with safe_serialization (save_pretrained does this by default).');
  }
  const weightMap = readWeightMap(indexFile);
  // Group tensor names by shard, keeping the index's shard order.
  const byShard = new Map<string, string[]>();
  for (const [name, shard] of weightMap) {
    const names = byShard.get(shard);
    if (names === undefined) byShard.set(shard, [name]);
    else names.push(name);
  }
  const files = [path.resolve(indexFile)];
  const tensors = new Map<string, F32Tensor>();
  const metadata: Record<string, string> = {};
  for (const [shard, names] of byShard) {
    const shardFile = path.join(dir, shard);
    if (!fs.existsSync(shardFile)) {
      throw new SafetensorsError('missing', shardFile,
        `${shardFile}: shard file is missing; ${indexFile} maps ${names.length} tensor(s) to it, e.g. "${names[0]}". ` +
        'Copy every shard listed in the index into the model folder.', names[0]);
    }
    const header = readSafetensorsHeader(shardFile);
    for (const name of names) {
      if (!header.tensors.has(name)) {
        throw new SafetensorsError('missing', shardFile,
          `${shardFile}: tensor "${name}" is listed for this shard in ${indexFile} but is not in the shard. ` +
          'The index and the shards come from different saves: re-download or re-save the model.', name);
      }
    }
    const listed = new Set(names);
    const read = readSafetensors(shardFile, {
      only: (name) => listed.has(name) && (opts.only === undefined || opts.only(name)),
    });
    for (const [name, tensor] of read.tensors) tensors.set(name, tensor);
    for (const [key, value] of Object.entries(read.metadata)) if (!(key in metadata)) metadata[key] = value;
    files.push(path.resolve(shardFile));
  }
  return { tensors, metadata, files };
}

/**
 * Looks a tensor up and checks its shape. Throws 'missing' (with similar names, if any) or 'shape' errors that say
 * what was expected and what was found.
 */
export function requireTensor<T extends { shape: readonly number[] }>(
  map: ReadonlyMap<string, T>, name: string, file: string, expectedShape?: readonly number[],
): T {
  const tensor = map.get(name);
  if (tensor === undefined) {
    const leaf = name.split('.').slice(-2).join('.');
    const similar = [...map.keys()].filter((key) => key.endsWith(leaf)).slice(0, 5);
    const hint = similar.length > 0
      ? ` Similar names present: ${similar.join(', ')}.`
      : ` The file holds ${map.size} tensor(s)${map.size > 0 ? `, e.g. ${[...map.keys()].slice(0, 3).join(', ')}` : ''}.`;
    throw new SafetensorsError('missing', file,
      `${file}: tensor "${name}" not found.${hint} Check that the model's architecture matches its config.json.`, name);
  }
  if (expectedShape !== undefined && !sameShape(tensor.shape, expectedShape)) {
    throw new SafetensorsError('shape', file,
      `${file}: tensor "${name}": expected shape ${formatShape(expectedShape)}, found ${formatShape(tensor.shape)}. ` +
      'Check that config.json describes these weights.', name);
  }
  return tensor;
}

function openForReading(file: string): number {
  return openFile(file, (message) => new SafetensorsError('io', file, message));
}

function readHeaderFromFd(fd: number, file: string): SafetensorsHeader {
  const fileSize = fs.fstatSync(fd).size;
  if (fileSize < 8) {
    throw new SafetensorsError('truncated', file,
      `${file}: file is ${fileSize} bytes, too short for the 8-byte safetensors header length. The file is truncated or not safetensors.`);
  }
  const lengthBytes = readExactly(fd, file, 0, 8);
  const headerLength = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw new SafetensorsError('header', file,
      `${file}: header length ${headerLength} bytes exceeds the ${MAX_HEADER_BYTES}-byte limit; this is not a safetensors file or it is corrupt.`);
  }
  const headerBytes = Number(headerLength);
  if (headerBytes < 2) {
    throw new SafetensorsError('header', file, `${file}: header length ${headerBytes} is too small to hold a JSON object; the file is corrupt.`);
  }
  if (8 + headerBytes > fileSize) {
    throw new SafetensorsError('truncated', file,
      `${file}: header length ${headerBytes} runs past the end of the ${fileSize}-byte file; the file is truncated (re-download it).`);
  }
  const raw = readExactly(fd, file, 8, headerBytes);
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
    throw new SafetensorsError('header', file, `${file}: header is not valid JSON (${describeError(err)}); the file is corrupt.`);
  }
  if (!isRecord(parsed)) {
    throw new SafetensorsError('header', file, `${file}: header JSON is not an object; this is not a safetensors file.`);
  }
  const dataStart = 8 + headerBytes;
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
  const bad = (what: string): SafetensorsError => new SafetensorsError('header', file,
    `${file}: tensor "${name}": ${what}. The header is corrupt; re-save or re-download the file.`, name);
  if (!isRecord(entry)) throw bad('entry is not an object with dtype, shape and data_offsets');
  const { dtype, shape, data_offsets: offsets } = entry;
  if (typeof dtype !== 'string') throw bad('missing or non-string "dtype"');
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger)) throw bad('"shape" must be an array of non-negative integers');
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isNonNegativeInteger)) {
    throw bad('"data_offsets" must be [begin, end] with non-negative integers');
  }
  const elementBytes = DTYPE_BYTES[dtype];
  if (elementBytes === undefined) {
    throw new SafetensorsError('dtype', file,
      `${file}: tensor "${name}" has unknown dtype "${dtype}" (known: ${Object.keys(DTYPE_BYTES).join(', ')}).`, name);
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
    throw new SafetensorsError('truncated', file,
      `${file}: tensor "${name}" lies at data bytes [${info.byteOffsets[0]}, ${info.byteOffsets[1]}) but the data section has only ` +
      `${dataSize} bytes; the file is truncated (re-download or re-save it).`, name);
  }
  let expectedBegin = 0;
  let previous = '';
  for (const [name, info] of ordered) {
    const [begin, end] = info.byteOffsets;
    if (begin < expectedBegin) {
      throw new SafetensorsError('header', file,
        `${file}: tensor "${name}" at data bytes [${begin}, ${end}) overlaps tensor "${previous}" (which ends at ${expectedBegin}); ` +
        'the header is corrupt.', name);
    }
    if (begin > expectedBegin) {
      throw new SafetensorsError('header', file,
        `${file}: tensor "${name}" starts at data byte ${begin} but the previous tensor ends at ${expectedBegin}; ` +
        'safetensors requires contiguous tensors, so the header is corrupt.', name);
    }
    expectedBegin = end;
    previous = name;
  }
  if (expectedBegin !== dataSize) {
    throw new SafetensorsError('header', file,
      `${file}: the data section has ${dataSize} bytes but the tensors${previous ? ` (last: "${previous}")` : ''} cover only ` +
      `${expectedBegin}; the header does not describe this file.`, previous || undefined);
  }
}

function readTensor(fd: number, file: string, name: string, info: TensorInfo, dataStart: number): F32Tensor {
  const { dtype, shape } = info;
  if (!FLOAT_DTYPES.has(dtype)) {
    throw new SafetensorsError('dtype', file,
      `${file}: tensor "${name}" has dtype ${dtype}; only F32, F16, BF16 and F64 tensors can be loaded. ` +
      'Skip it with the `only` filter if the engine does not need it.', name);
  }
  const [begin, end] = info.byteOffsets;
  const byteLength = end - begin;
  const numel = byteLength / DTYPE_BYTES[dtype];
  // Read into a fresh, aligned buffer so the typed views below are always legal.
  const buffer = new ArrayBuffer(byteLength);
  readInto(fd, file, dataStart + begin, new Uint8Array(buffer), name);
  let data: Float32Array;
  switch (dtype) {
    case 'F32':
      data = new Float32Array(buffer);
      if (!HOST_IS_LITTLE_ENDIAN) {
        const view = new DataView(buffer);
        for (let i = 0; i < numel; i++) data[i] = view.getFloat32(4 * i, true);
      }
      break;
    case 'F16':
      data = f16ToF32(readU16(buffer, numel));
      break;
    case 'BF16':
      data = bf16ToF32(readU16(buffer, numel));
      break;
    default: {
      const f64 = HOST_IS_LITTLE_ENDIAN ? new Float64Array(buffer) : readF64BigEndianHost(buffer, numel);
      data = Float32Array.from(f64);
    }
  }
  return { dtype, shape: [...shape], data };
}

function readU16(buffer: ArrayBuffer, numel: number): Uint16Array {
  if (HOST_IS_LITTLE_ENDIAN) return new Uint16Array(buffer);
  const view = new DataView(buffer);
  const out = new Uint16Array(numel);
  for (let i = 0; i < numel; i++) out[i] = view.getUint16(2 * i, true);
  return out;
}

function readF64BigEndianHost(buffer: ArrayBuffer, numel: number): Float64Array {
  const view = new DataView(buffer);
  const out = new Float64Array(numel);
  for (let i = 0; i < numel; i++) out[i] = view.getFloat64(8 * i, true);
  return out;
}

function readWeightMap(indexFile: string): Map<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
  } catch (err) {
    throw new SafetensorsError('header', indexFile, `${indexFile}: cannot read the shard index (${describeError(err)}).`);
  }
  const weightMap = isRecord(parsed) ? parsed.weight_map : undefined;
  if (!isRecord(weightMap)) {
    throw new SafetensorsError('header', indexFile, `${indexFile}: no "weight_map" object (tensor name -> shard file).`);
  }
  const result = new Map<string, string>();
  for (const [name, shard] of Object.entries(weightMap)) {
    if (typeof shard !== 'string' || shard.length === 0 || path.isAbsolute(shard) || shard.split(/[\\/]/).includes('..')) {
      throw new SafetensorsError('header', indexFile,
        `${indexFile}: weight_map entry for tensor "${name}" must be a shard file name inside the model folder.`, name);
    }
    result.set(name, shard);
  }
  return result;
}

function readExactly(fd: number, file: string, position: number, length: number): Uint8Array {
  const out = new Uint8Array(length);
  readInto(fd, file, position, out);
  return out;
}

function readInto(fd: number, file: string, position: number, target: Uint8Array, tensor?: string): void {
  let done = 0;
  while (done < target.length) {
    let n: number;
    try {
      n = fs.readSync(fd, target, done, target.length - done, position + done);
    } catch (err) {
      throw new SafetensorsError('io', file, `${file}: read failed at byte ${position + done} (${describeError(err)}).`, tensor);
    }
    if (n === 0) {
      throw new SafetensorsError('truncated', file,
        `${file}: file ended at byte ${position + done} while reading${tensor ? ` tensor "${tensor}"` : ''}; the file was truncated or is still being written.`,
        tensor);
    }
    done += n;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/**
 * Writes tensors to a safetensors file atomically (temp file + rename). The header lists tensors sorted by name with
 * contiguous data offsets and is padded with spaces so the data section starts on an 8-byte boundary.
 */
export function writeSafetensors(file: string, tensors: TensorToWrite[], metadata?: Record<string, string>): void {
  const header: Record<string, unknown> = {};
  if (metadata !== undefined && Object.keys(metadata).length > 0) {
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') {
        throw new SafetensorsError('header', file, `${file}: metadata "${key}" must be a string (safetensors metadata is string to string).`);
      }
    }
    header[METADATA_KEY] = { ...metadata };
  }
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let offset = 0;
  const seen = new Set<string>();
  for (const tensor of sorted) {
    const dtype = tensor.dtype ?? 'F32';
    if (tensor.name === METADATA_KEY || tensor.name.length === 0) {
      throw new SafetensorsError('header', file, `${file}: "${tensor.name}" is not a valid tensor name.`, tensor.name);
    }
    if (seen.has(tensor.name)) {
      throw new SafetensorsError('header', file, `${file}: tensor "${tensor.name}" is listed twice; names must be unique.`, tensor.name);
    }
    seen.add(tensor.name);
    if (!(dtype === 'F32' || dtype === 'F16' || dtype === 'BF16')) {
      throw new SafetensorsError('dtype', file, `${file}: tensor "${tensor.name}": cannot write dtype ${String(dtype)}; use F32, F16 or BF16.`, tensor.name);
    }
    if (!tensor.shape.every(isNonNegativeInteger)) {
      throw new SafetensorsError('shape', file,
        `${file}: tensor "${tensor.name}": shape ${formatShape(tensor.shape)} must hold non-negative integers.`, tensor.name);
    }
    const numel = tensor.shape.reduce((acc, d) => acc * d, 1);
    if (numel !== tensor.data.length) {
      throw new SafetensorsError('shape', file,
        `${file}: tensor "${tensor.name}": shape ${formatShape(tensor.shape)} needs ${numel} values but the data has ${tensor.data.length}.`,
        tensor.name);
    }
    const byteLength = numel * DTYPE_BYTES[dtype];
    header[tensor.name] = { dtype, shape: tensor.shape, data_offsets: [offset, offset + byteLength] };
    offset += byteLength;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json, 'utf8');
  json += ' '.repeat((8 - (jsonBytes % 8)) % 8);
  const headerBuffer = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBuffer.length), 0);

  // Tensors are encoded one at a time as the file is written, never all at once.
  function* chunks(): Generator<Uint8Array> {
    yield prefix;
    yield headerBuffer;
    for (const tensor of sorted) yield encodeTensor(tensor.data, tensor.dtype ?? 'F32');
  }
  writeFileAtomicWith(file, chunks(), (message) => new SafetensorsError('io', file, message));
}

function encodeTensor(data: Float32Array, dtype: WritableDtype): Uint8Array {
  if (dtype === 'F32') {
    if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const out = new Uint8Array(data.length * 4);
    const view = new DataView(out.buffer);
    for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i], true);
    return out;
  }
  const halves = dtype === 'F16' ? f32ToF16(data) : f32ToBf16(data);
  if (HOST_IS_LITTLE_ENDIAN) return new Uint8Array(halves.buffer, halves.byteOffset, halves.byteLength);
  const out = new Uint8Array(halves.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < halves.length; i++) view.setUint16(2 * i, halves[i], true);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Half-precision conversions (exported for tests and for the exporters).

let f16Table: Uint32Array | undefined;

/** f32 bit patterns of all 65536 f16 values, built once: exact, including subnormals, ±inf and NaN payloads. */
function halfToFloatTable(): Uint32Array {
  if (f16Table !== undefined) return f16Table;
  const table = new Uint32Array(65536);
  for (let h = 0; h < 65536; h++) table[h] = f16BitsToF32Bits(h);
  f16Table = table;
  return table;
}

/** IEEE binary16 bits -> binary32 bits. */
export function f16BitsToF32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >>> 10) & 0x1f;
  let mantissa = h & 0x3ff;
  if (exponent === 0x1f) return (sign | 0x7f800000 | (mantissa << 13)) >>> 0; // inf or NaN, payload kept
  if (exponent !== 0) return (sign | ((exponent - 15 + 127) << 23) | (mantissa << 13)) >>> 0;
  if (mantissa === 0) return sign >>> 0; // ±0
  // Subnormal: value = mantissa * 2^-24. Normalise so the leading 1 becomes implicit.
  let e = -14;
  while ((mantissa & 0x400) === 0) {
    mantissa <<= 1;
    e--;
  }
  mantissa &= 0x3ff;
  return (sign | ((e + 127) << 23) | (mantissa << 13)) >>> 0;
}

/** IEEE binary32 bits -> binary16 bits, round to nearest, ties to even; overflow gives ±inf, NaN stays NaN. */
export function f32BitsToF16Bits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exponent = (x >>> 23) & 0xff;
  const mantissa = x & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 | (mantissa >>> 13) : 0);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    // Result is an f16 subnormal (or zero): value = m * 2^(e - 14) in units of 2^-24.
    if (e < -10) return sign;
    const m = mantissa | 0x800000;
    const shift = 14 - e;
    let half = m >>> shift;
    const rest = m & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && (half & 1) === 1)) half++;
    return sign | half; // rounding up to 0x400 yields the smallest normal, which is correct
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half++; // may carry into inf, which is correct
  return sign | half;
}

/** IEEE binary32 bits -> bfloat16 bits, round to nearest, ties to even; NaN stays (quiet) NaN. */
export function f32BitsToBf16Bits(x: number): number {
  if ((x & 0x7f800000) === 0x7f800000 && (x & 0x7fffff) !== 0) return ((x >>> 16) | 0x40) & 0xffff;
  const upper = x >>> 16;
  const rest = x & 0xffff;
  const rounded = rest > 0x8000 || (rest === 0x8000 && (upper & 1) === 1) ? upper + 1 : upper;
  return rounded & 0xffff;
}

export function f16ToF32(halves: Uint16Array): Float32Array {
  const table = halfToFloatTable();
  const bits = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) bits[i] = table[halves[i]];
  return new Float32Array(bits.buffer);
}

export function bf16ToF32(halves: Uint16Array): Float32Array {
  const bits = new Uint32Array(halves.length);
  for (let i = 0; i < halves.length; i++) bits[i] = halves[i] << 16;
  return new Float32Array(bits.buffer);
}

export function f32ToF16(data: Float32Array): Uint16Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f32BitsToF16Bits(bits[i]);
  return out;
}

export function f32ToBf16(data: Float32Array): Uint16Array {
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f32BitsToBf16Bits(bits[i]);
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Helpers

export function formatShape(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}


