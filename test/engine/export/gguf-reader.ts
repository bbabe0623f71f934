/**
 * An independent GGUF reader for tests, written from the GGUF specification (ggml docs/gguf.md) and the checks of
 * ggml's own loader, sharing no code with engine/export/gguf.ts. It parses the magic, version, tensor and KV counts,
 * every KV (all 13 value types, arrays included, nested arrays too), the tensor infos, the alignment
 * (general.alignment, uint32, default 32), the data offsets, and returns F32 tensors as Float32Array.
 * Every read is bounds-checked, so a truncated file fails with GgufReadError.
 * `strict` (default) adds ggml's loader rules: offsets contiguous in tensor order with each tensor padded to the
 * alignment, and the padded data section (trailing padding included) present in the file.
 *
 * Non-goals: big-endian files, quantised tensor types (their infos are parsed, their data is not decoded).
 */
import * as fs from 'node:fs';

export class GgufReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GgufReadError';
  }
}

export const GGUF_VALUE_TYPES = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

export type GgufValue = number | bigint | boolean | string | GgufValue[];

export interface GgufKv {
  type: number;
  /** Element type when type is ARRAY. */
  arrayType?: number;
  value: GgufValue;
}

export interface GgufTensorInfo {
  name: string;
  /** ne[0] first (the fastest-varying dimension), as stored. */
  dims: number[];
  ggmlType: number;
  offset: number;
}

export interface GgufFile {
  version: number;
  tensorCount: number;
  kvCount: number;
  kv: Map<string, GgufKv>;
  alignment: number;
  /** Absolute offset of the data section. */
  dataOffset: number;
  infos: GgufTensorInfo[];
  /** F32 tensors (ggml type 0), by name. */
  tensors: Map<string, Float32Array>;
  fileSize: number;
}

class Cursor {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  need(n: number, what: string): void {
    if (this.pos + n > this.buf.length) {
      throw new GgufReadError(`truncated: ${what} needs ${n} byte(s) at offset ${this.pos}, file has ${this.buf.length}`);
    }
  }
  u8(what: string): number {
    this.need(1, what);
    return this.buf.readUInt8(this.pos++);
  }
  i8(what: string): number {
    this.need(1, what);
    return this.buf.readInt8(this.pos++);
  }
  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  i16(what: string): number {
    this.need(2, what);
    const v = this.buf.readInt16LE(this.pos);
    this.pos += 2;
    return v;
  }
  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  i32(what: string): number {
    this.need(4, what);
    const v = this.buf.readInt32LE(this.pos);
    this.pos += 4;
    return v;
  }
  f32(what: string): number {
    this.need(4, what);
    const v = this.buf.readFloatLE(this.pos);
    this.pos += 4;
    return v;
  }
  f64(what: string): number {
    this.need(8, what);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }
  u64(what: string): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  i64(what: string): bigint {
    this.need(8, what);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }
  size(what: string): number {
    const v = this.u64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new GgufReadError(`${what} ${v} is too large`);
    return Number(v);
  }
  str(what: string): string {
    const n = this.size(`${what} length`);
    this.need(n, what);
    const bytes = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new GgufReadError(`${what} is not valid UTF-8`);
    }
  }
}

function readValue(c: Cursor, type: number, what: string, depth = 0): GgufValue {
  const T = GGUF_VALUE_TYPES;
  switch (type) {
    case T.UINT8:
      return c.u8(what);
    case T.INT8:
      return c.i8(what);
    case T.UINT16:
      return c.u16(what);
    case T.INT16:
      return c.i16(what);
    case T.UINT32:
      return c.u32(what);
    case T.INT32:
      return c.i32(what);
    case T.FLOAT32:
      return c.f32(what);
    case T.BOOL: {
      const b = c.u8(what);
      if (b > 1) throw new GgufReadError(`${what}: bool byte ${b} is neither 0 nor 1`);
      return b === 1;
    }
    case T.STRING:
      return c.str(what);
    case T.UINT64:
      return c.u64(what);
    case T.INT64:
      return c.i64(what);
    case T.FLOAT64:
      return c.f64(what);
    case T.ARRAY: {
      if (depth > 8) throw new GgufReadError(`${what}: arrays nested too deeply`);
      const elemType = c.u32(`${what} array type`);
      const n = c.size(`${what} array length`);
      const out: GgufValue[] = [];
      for (let i = 0; i < n; i++) out.push(readValue(c, elemType, `${what}[${i}]`, depth + 1));
      return out;
    }
    default:
      throw new GgufReadError(`${what}: unknown value type ${type}`);
  }
}

/** Parses a GGUF file (path or bytes). */
export function readGguf(source: string | Buffer, opts: { strict?: boolean } = {}): GgufFile {
  const buf = typeof source === 'string' ? fs.readFileSync(source) : source;
  const strict = opts.strict ?? true;
  const c = new Cursor(buf);
  c.need(4, 'magic');
  const magic = buf.subarray(0, 4).toString('latin1');
  c.pos = 4;
  if (magic !== 'GGUF') throw new GgufReadError(`bad magic ${JSON.stringify(magic)}, expected "GGUF"`);
  const version = c.u32('version');
  if (version !== 2 && version !== 3) throw new GgufReadError(`unsupported GGUF version ${version}`);
  const tensorCount = c.size('tensor count');
  const kvCount = c.size('KV count');
  // Each KV and tensor info takes at least 8 bytes: reject counts the file cannot hold before looping.
  if (tensorCount * 8 > buf.length || kvCount * 8 > buf.length) throw new GgufReadError('truncated: counts exceed the file size');

  const kv = new Map<string, GgufKv>();
  for (let i = 0; i < kvCount; i++) {
    const key = c.str(`key ${i}`);
    if (key.length === 0) throw new GgufReadError(`key ${i} is empty`);
    if (kv.has(key)) throw new GgufReadError(`duplicate key ${key}`);
    const type = c.u32(`type of ${key}`);
    let arrayType: number | undefined;
    if (type === GGUF_VALUE_TYPES.ARRAY) {
      arrayType = buf.length >= c.pos + 4 ? buf.readUInt32LE(c.pos) : undefined;
    }
    const value = readValue(c, type, key);
    kv.set(key, arrayType === undefined ? { type, value } : { type, arrayType, value });
  }

  let alignment = 32;
  const alignKv = kv.get('general.alignment');
  if (alignKv !== undefined) {
    if (alignKv.type !== GGUF_VALUE_TYPES.UINT32) throw new GgufReadError('general.alignment must be a uint32');
    alignment = alignKv.value as number;
    if (alignment === 0 || (alignment & (alignment - 1)) !== 0) throw new GgufReadError(`alignment ${alignment} is not a power of two`);
  }

  const infos: GgufTensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < tensorCount; i++) {
    const name = c.str(`tensor ${i} name`);
    if (names.has(name)) throw new GgufReadError(`duplicate tensor name ${name}`);
    names.add(name);
    const nDims = c.u32(`${name} n_dims`);
    if (nDims > 4) throw new GgufReadError(`${name}: ${nDims} dimensions (ggml allows at most 4)`);
    const dims: number[] = [];
    for (let d = 0; d < nDims; d++) dims.push(c.size(`${name} dim ${d}`));
    const ggmlType = c.u32(`${name} type`);
    const offset = c.size(`${name} offset`);
    if (offset % alignment !== 0) throw new GgufReadError(`${name}: offset ${offset} is not a multiple of the alignment ${alignment}`);
    infos.push({ name, dims, ggmlType, offset });
  }

  const dataOffset = Math.ceil(c.pos / alignment) * alignment;
  const tensors = new Map<string, Float32Array>();
  let expected = 0;
  for (const info of infos) {
    const numel = info.dims.reduce((a, b) => a * b, 1);
    const bytes = info.ggmlType === 0 ? numel * 4 : undefined;
    if (strict) {
      if (info.offset !== expected) throw new GgufReadError(`${info.name}: offset ${info.offset}, expected ${expected} (ggml requires contiguous tensors)`);
      if (bytes === undefined) throw new GgufReadError(`${info.name}: ggml type ${info.ggmlType} is not supported by this reader in strict mode`);
      expected += Math.ceil(bytes / alignment) * alignment;
    }
    if (bytes === undefined) continue;
    const start = dataOffset + info.offset;
    if (start + bytes > buf.length) throw new GgufReadError(`truncated: ${info.name} data [${start}, ${start + bytes}) is past the end (${buf.length})`);
    const data = new Float32Array(numel);
    for (let k = 0; k < numel; k++) data[k] = buf.readFloatLE(start + 4 * k);
    tensors.set(info.name, data);
  }
  if (strict && infos.length > 0 && dataOffset + expected > buf.length) {
    throw new GgufReadError(`truncated: the padded data section ends at ${dataOffset + expected}, the file at ${buf.length}`);
  }
  return { version, tensorCount, kvCount, kv, alignment, dataOffset, infos, tensors, fileSize: buf.length };
}
