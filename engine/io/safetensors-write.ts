/**
 * safetensors writing: an atomic writer (temp file + rename) of F32, F16 or BF16 tensors, encoded one tensor at a
 * time as the file is written.
 */

import { writeFileAtomicWith } from '../../common/fs';
import { f32ToBf16, f32ToF16 } from './half-precision';
import {
  DTYPE_BYTES,
  formatShape,
  HOST_IS_LITTLE_ENDIAN,
  isNonNegativeInteger,
  METADATA_KEY,
  SafetensorsError,
  type TensorToWrite,
  type WritableDtype,
} from './safetensors-format';

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
      throw new SafetensorsError(
        'shape',
        file,
        `${file}: tensor "${tensor.name}": shape ${formatShape(tensor.shape)} must hold non-negative integers.`,
        tensor.name,
      );
    }
    const numel = tensor.shape.reduce((acc, d) => acc * d, 1);
    if (numel !== tensor.data.length) {
      throw new SafetensorsError(
        'shape',
        file,
        `${file}: tensor "${tensor.name}": shape ${formatShape(tensor.shape)} needs ${numel} values but the data has ${tensor.data.length}.`,
        tensor.name,
      );
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
