/**
 * safetensors tensor reading: one file, or a sharded Hugging Face model folder (`model.safetensors.index.json`),
 * every floating-point tensor (F32, F16, BF16, F64) decoded to f32; and `requireTensor`, the checked look-up the
 * model loaders use.
 */

import * as fs from 'node:fs';
import * as path from 'node:path';
import { describeError } from '../../common/fs';
import { bf16ToF32, f16ToF32 } from './half-precision';
import {
  DTYPE_BYTES,
  FLOAT_DTYPES,
  formatShape,
  HOST_IS_LITTLE_ENDIAN,
  isRecord,
  sameShape,
  SafetensorsError,
  type F32Tensor,
  type ReadOptions,
  type SafetensorsFile,
  type SafetensorsModel,
  type TensorInfo,
} from './safetensors-format';
import { openForReading, readHeaderFromFd, readInto, readSafetensorsHeader } from './safetensors-header';

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
    throw new SafetensorsError(
      'missing',
      dir,
      `${dir}: no weights found: looked for model.safetensors and model.safetensors.index.json. ` +
        'Point the model path at a Hugging Face folder saved with safe_serialization (save_pretrained does this by default).',
    );
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
      throw new SafetensorsError(
        'missing',
        shardFile,
        `${shardFile}: shard file is missing; ${indexFile} maps ${names.length} tensor(s) to it, e.g. "${names[0]}". ` +
          'Copy every shard listed in the index into the model folder.',
        names[0],
      );
    }
    const header = readSafetensorsHeader(shardFile);
    for (const name of names) {
      if (!header.tensors.has(name)) {
        throw new SafetensorsError(
          'missing',
          shardFile,
          `${shardFile}: tensor "${name}" is listed for this shard in ${indexFile} but is not in the shard. ` +
            'The index and the shards come from different saves: re-download or re-save the model.',
          name,
        );
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
  map: ReadonlyMap<string, T>,
  name: string,
  file: string,
  expectedShape?: readonly number[],
): T {
  const tensor = map.get(name);
  if (tensor === undefined) {
    const leaf = name.split('.').slice(-2).join('.');
    const similar = [...map.keys()].filter((key) => key.endsWith(leaf)).slice(0, 5);
    const hint =
      similar.length > 0
        ? ` Similar names present: ${similar.join(', ')}.`
        : ` The file holds ${map.size} tensor(s)${map.size > 0 ? `, e.g. ${[...map.keys()].slice(0, 3).join(', ')}` : ''}.`;
    throw new SafetensorsError(
      'missing',
      file,
      `${file}: tensor "${name}" not found.${hint} Check that the model's architecture matches its config.json.`,
      name,
    );
  }
  if (expectedShape !== undefined && !sameShape(tensor.shape, expectedShape)) {
    throw new SafetensorsError(
      'shape',
      file,
      `${file}: tensor "${name}": expected shape ${formatShape(expectedShape)}, found ${formatShape(tensor.shape)}. ` +
        'Check that config.json describes these weights.',
      name,
    );
  }
  return tensor;
}

function readTensor(fd: number, file: string, name: string, info: TensorInfo, dataStart: number): F32Tensor {
  const { dtype, shape } = info;
  if (!FLOAT_DTYPES.has(dtype)) {
    throw new SafetensorsError(
      'dtype',
      file,
      `${file}: tensor "${name}" has dtype ${dtype}; only F32, F16, BF16 and F64 tensors can be loaded. ` +
        'Skip it with the `only` filter if the engine does not need it.',
      name,
    );
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
      throw new SafetensorsError(
        'header',
        indexFile,
        `${indexFile}: weight_map entry for tensor "${name}" must be a shard file name inside the model folder.`,
        name,
      );
    }
    result.set(name, shard);
  }
  return result;
}
