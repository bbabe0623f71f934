/**
 * A minimal safetensors reader for the export tests, independent of engine/io/safetensors.ts: it parses the
 * 8-byte length, the JSON header and F32/F16 data straight from the bytes, and checks that the tensors tile the
 * data section. Enough to check names, shapes, dtypes, metadata and values of what the exporters wrote.
 *
 * Non-goals: every dtype, sharded folders, helpful error messages.
 */
import * as fs from 'node:fs';

export interface StTensor {
  dtype: string;
  shape: number[];
  /** Values as f32 (F16 widened). */
  data: Float32Array;
}

export interface StFile {
  tensors: Map<string, StTensor>;
  metadata: Record<string, string> | undefined;
}

function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m === 0 ? s * Infinity : Number.NaN;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export function readSt(file: string): StFile {
  const buf = fs.readFileSync(file);
  const n = Number(buf.readBigUInt64LE(0));
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const base = 8 + n;
  const tensors = new Map<string, StTensor>();
  let metadata: Record<string, string> | undefined;
  const spans: Array<[number, number]> = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const {
      dtype,
      shape,
      data_offsets: [begin, end],
    } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const numel = shape.reduce((a, b) => a * b, 1);
    const width = dtype === 'F32' ? 4 : dtype === 'F16' ? 2 : 0;
    if (width === 0) throw new Error(`${name}: dtype ${dtype} not handled by the test reader`);
    if (end - begin !== numel * width) throw new Error(`${name}: ${end - begin} bytes for ${numel} x ${dtype}`);
    const data = new Float32Array(numel);
    for (let i = 0; i < numel; i++) {
      data[i] = width === 4 ? buf.readFloatLE(base + begin + 4 * i) : halfToFloat(buf.readUInt16LE(base + begin + 2 * i));
    }
    tensors.set(name, { dtype, shape, data });
    spans.push([begin, end]);
  }
  spans.sort((a, b) => a[0] - b[0]);
  let at = 0;
  for (const [b, e] of spans) {
    if (b !== at) throw new Error(`gap or overlap at data byte ${b} (expected ${at})`);
    at = e;
  }
  if (base + at !== buf.length) throw new Error(`data section is ${buf.length - base} bytes, tensors cover ${at}`);
  return { tensors, metadata };
}
