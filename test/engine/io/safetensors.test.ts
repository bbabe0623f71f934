/**
 * safetensors loader/writer: round trips with exact half-precision bit patterns, the real tiny GPT-2 file from
 * ../shared/data, sharded folders, and one test per error kind (each checks `kind`, file and tensor in the message).
 */

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';

import {
  f16BitsToF32Bits,
  f32BitsToBf16Bits,
  f32BitsToF16Bits,
  readSafetensors,
  readSafetensorsHeader,
  readSafetensorsModel,
  requireTensor,
  writeSafetensors,
} from '../../../engine/io/safetensors';
import { expectError, rawFile, tmpFile, tmpRoot } from './safetensors-fixtures';

const REPO_ROOT = path.resolve(__dirname, '../../../..');
const DATA = process.env.RTUNE_SHARED_DATA ?? path.resolve(REPO_ROOT, '../shared/data');
const TINY_GPT2 = path.join(DATA, 'hf-tiny-gpt2-random');
const missingData = fs.existsSync(path.join(TINY_GPT2, 'model.safetensors')) ? false : `missing ${TINY_GPT2}/model.safetensors`;

function f32Bits(value: number): number {
  return new Uint32Array(new Float32Array([value]).buffer)[0];
}

/** The u16 words of a tensor's bytes in a written file (reads the header to find them). */
function rawU16(file: string, name: string): number[] {
  const header = readSafetensorsHeader(file);
  const info = header.tensors.get(name);
  assert.ok(info);
  const bytes = fs.readFileSync(file).subarray(header.dataStart + info.byteOffsets[0], header.dataStart + info.byteOffsets[1]);
  const words: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) words.push(bytes.readUInt16LE(i));
  return words;
}

// Known values and their exact bit patterns (checked against numpy's float16 cast and bfloat16 RNE truncation).
const HALF_CASES: Array<{ value: number; f16: number; bf16: number; f16Back: number }> = [
  { value: 1.0, f16: 0x3c00, bf16: 0x3f80, f16Back: 1.0 },
  { value: -2.5, f16: 0xc100, bf16: 0xc020, f16Back: -2.5 },
  { value: 65504, f16: 0x7bff, bf16: 0x4780, f16Back: 65504 },
  { value: 65520, f16: 0x7c00, bf16: 0x4780, f16Back: Infinity }, // f16 tie rounds to even -> overflow to inf
  { value: 0.1, f16: 0x2e66, bf16: 0x3dcd, f16Back: 0.0999755859375 },
  { value: 1e-7, f16: 0x0002, bf16: 0x33d7, f16Back: 2 * 2 ** -24 }, // f16 subnormal
  { value: 6e-8, f16: 0x0001, bf16: 0x3381, f16Back: 2 ** -24 }, // smallest f16 subnormal
  { value: 1e-8, f16: 0x0000, bf16: 0x322c, f16Back: 0 }, // below half the smallest f16 subnormal: flushes to 0
  { value: -0, f16: 0x8000, bf16: 0x8000, f16Back: -0 },
  { value: Infinity, f16: 0x7c00, bf16: 0x7f80, f16Back: Infinity },
  { value: -Infinity, f16: 0xfc00, bf16: 0xff80, f16Back: -Infinity },
  { value: NaN, f16: 0x7e00, bf16: 0x7fc0, f16Back: NaN },
];

describe('half-precision conversions', () => {
  test('f32 -> f16 / bf16 bit patterns (round to nearest even)', () => {
    for (const c of HALF_CASES) {
      const bits = f32Bits(c.value);
      assert.equal(f32BitsToF16Bits(bits), c.f16, `f16 of ${c.value}`);
      assert.equal(f32BitsToBf16Bits(bits), c.bf16, `bf16 of ${c.value}`);
    }
    // bf16 ties: 0x3f808000 is halfway between 0x3f80 (even) and 0x3f81; 0x3f818000 between 0x3f81 (odd) and 0x3f82.
    assert.equal(f32BitsToBf16Bits(0x3f808000), 0x3f80);
    assert.equal(f32BitsToBf16Bits(0x3f818000), 0x3f82);
    // f16 ties: 2^-25 is halfway between 0 and the smallest subnormal -> 0; 3*2^-25 -> 2*2^-24 (even).
    assert.equal(f32BitsToF16Bits(f32Bits(2 ** -25)), 0x0000);
    assert.equal(f32BitsToF16Bits(f32Bits(3 * 2 ** -25)), 0x0002);
    // The largest subnormal rounds up into the smallest normal.
    assert.equal(f32BitsToF16Bits(f32Bits(2 ** -14 - 2 ** -26)), 0x0400);
  });

  test('every f16 value survives f16 -> f32 -> f16', () => {
    for (let h = 0; h < 65536; h++) {
      const back = f32BitsToF16Bits(f16BitsToF32Bits(h));
      const isNan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (isNan) assert.ok((back & 0x7c00) === 0x7c00 && (back & 0x3ff) !== 0, `NaN ${h.toString(16)} stays NaN`);
      else assert.equal(back, h, `f16 0x${h.toString(16)}`);
    }
    // Spot values of the f16 -> f32 direction.
    const f32Of = (h: number): number => new Float32Array(new Uint32Array([f16BitsToF32Bits(h)]).buffer)[0];
    assert.equal(f32Of(0x0001), 2 ** -24);
    assert.equal(f32Of(0x03ff), 1023 * 2 ** -24);
    assert.equal(f32Of(0x8001), -(2 ** -24));
    assert.equal(f32Of(0x7bff), 65504);
  });
});

describe('round trips', () => {
  test('F32 with metadata: exact values, sorted header, 8-byte aligned data, contiguous offsets', () => {
    const file = tmpFile('f32.safetensors');
    const a = new Float32Array([1, -2.5, 3.25, 1e-30, -0, Infinity, NaN, 65504]);
    const b = new Float32Array([0.1, 0.2, 0.3]);
    writeSafetensors(
      file,
      [
        { name: 'z.weight', shape: [2, 4], data: a },
        { name: 'a.bias', shape: [3], data: b },
      ],
      { format: 'pt', note: 'héllo' },
    );
    const header = readSafetensorsHeader(file);
    assert.equal(header.dataStart % 8, 0);
    assert.deepEqual([...header.tensors.keys()], ['a.bias', 'z.weight']);
    assert.deepEqual(header.tensors.get('a.bias')?.byteOffsets, [0, 12]);
    assert.deepEqual(header.tensors.get('z.weight')?.byteOffsets, [12, 44]);
    assert.deepEqual(header.metadata, { format: 'pt', note: 'héllo' });
    const headerText = fs.readFileSync(file).subarray(8, header.dataStart).toString('utf8');
    assert.match(headerText, /^\{.*\} *$/);
    const read = readSafetensors(file);
    assert.deepEqual(read.metadata, { format: 'pt', note: 'héllo' });
    assert.deepEqual(read.tensors.get('z.weight')?.shape, [2, 4]);
    assert.deepEqual(read.tensors.get('z.weight')?.data, a);
    assert.deepEqual(read.tensors.get('a.bias')?.data, b);
    assert.equal(read.tensors.get('a.bias')?.dtype, 'F32');
    assert.ok(!fs.readdirSync(tmpRoot).some((f) => f.includes('.tmp-')), 'no temp file left behind');
  });

  for (const dtype of ['F16', 'BF16'] as const) {
    test(`${dtype}: exact on-disk bit patterns and exact f32 values back`, () => {
      const file = tmpFile(`${dtype}.safetensors`);
      const values = new Float32Array(HALF_CASES.map((c) => c.value));
      writeSafetensors(file, [{ name: 'w', shape: [values.length], data: values, dtype }]);
      const words = rawU16(file, 'w');
      assert.deepEqual(
        words,
        HALF_CASES.map((c) => (dtype === 'F16' ? c.f16 : c.bf16)),
      );
      const read = readSafetensors(file).tensors.get('w');
      assert.ok(read);
      assert.equal(read.dtype, dtype);
      read.data.forEach((got, i) => {
        const expected = dtype === 'F16' ? HALF_CASES[i].f16Back : new Float32Array(new Uint32Array([HALF_CASES[i].bf16 << 16]).buffer)[0];
        assert.ok(Object.is(got, expected) || (Number.isNaN(got) && Number.isNaN(expected)), `${dtype}[${i}]: ${got} vs ${expected}`);
      });
    });
  }

  test('F64 tensors are converted to f32', () => {
    const values = new Float64Array([1 / 3, -2.5, 1e300]);
    const file = rawFile('f64.safetensors', { x: { dtype: 'F64', shape: [3], data_offsets: [0, 24] } }, 0);
    fs.appendFileSync(file, Buffer.from(values.buffer));
    const read = readSafetensors(file).tensors.get('x');
    assert.deepEqual(read?.data, new Float32Array([1 / 3, -2.5, Infinity]));
  });

  test('empty tensors and an empty file are valid', () => {
    const file = tmpFile('empty.safetensors');
    writeSafetensors(file, [{ name: 'e', shape: [0, 3], data: new Float32Array(0) }]);
    assert.deepEqual(readSafetensors(file).tensors.get('e')?.shape, [0, 3]);
    const none = tmpFile('none.safetensors');
    writeSafetensors(none, []);
    assert.equal(readSafetensors(none).tensors.size, 0);
  });

  test('only: selected tensors are read, skipped integer tensors are fine', () => {
    const file = rawFile(
      'mixed.safetensors',
      {
        ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
        w: { dtype: 'F32', shape: [2], data_offsets: [16, 24] },
      },
      24,
    );
    const read = readSafetensors(file, { only: (name) => name !== 'ids' });
    assert.deepEqual([...read.tensors.keys()], ['w']);
  });
});

describe('real file: hf-tiny-gpt2-random/model.safetensors', { skip: missingData }, () => {
  test('header lists the GPT-2 tensors with their shapes', () => {
    const file = path.join(TINY_GPT2, 'model.safetensors');
    const header = readSafetensorsHeader(file);
    assert.equal(header.dataStart, 8 + 2432);
    assert.deepEqual(header.metadata, { format: 'pt' });
    assert.equal(header.tensors.size, 4 + 2 * 12);
    const shapes = Object.fromEntries([...header.tensors].map(([name, info]) => [name, info.shape]));
    assert.deepEqual(shapes['transformer.wte.weight'], [50257, 2]);
    assert.deepEqual(shapes['transformer.wpe.weight'], [1024, 2]);
    assert.deepEqual(shapes['transformer.h.0.attn.c_attn.weight'], [2, 6]);
    assert.deepEqual(shapes['transformer.h.1.mlp.c_fc.weight'], [2, 8]);
    assert.deepEqual(shapes['transformer.h.1.mlp.c_proj.weight'], [8, 2]);
    assert.ok([...header.tensors.values()].every((info) => info.dtype === 'F32'));
  });

  test('readSafetensorsModel reads the folder; weights are finite, LayerNorm weights are 1', () => {
    const model = readSafetensorsModel(TINY_GPT2);
    assert.deepEqual(model.files, [path.resolve(TINY_GPT2, 'model.safetensors')]);
    const wte = requireTensor(model.tensors, 'transformer.wte.weight', model.files[0], [50257, 2]);
    assert.equal(wte.data.length, 50257 * 2);
    assert.ok(wte.data.every(Number.isFinite));
    assert.ok(requireTensor(model.tensors, 'transformer.ln_f.weight', model.files[0], [2]).data.every((v) => v === 1));
  });
});

describe('sharded models', () => {
  function writeShardedModel(): string {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'sharded-'));
    writeSafetensors(
      path.join(dir, 'model-00001-of-00002.safetensors'),
      [
        { name: 'model.embed_tokens.weight', shape: [3, 2], data: new Float32Array([1, 2, 3, 4, 5, 6]) },
        { name: 'model.norm.weight', shape: [2], data: new Float32Array([1, 1]), dtype: 'BF16' },
      ],
      { format: 'pt' },
    );
    writeSafetensors(
      path.join(dir, 'model-00002-of-00002.safetensors'),
      [{ name: 'lm_head.weight', shape: [3, 2], data: new Float32Array([0.5, -0.5, 0.25, -0.25, 2, -2]), dtype: 'F16' }],
      { format: 'pt' },
    );
    fs.writeFileSync(
      path.join(dir, 'model.safetensors.index.json'),
      JSON.stringify({
        metadata: { total_size: 44 },
        weight_map: {
          'lm_head.weight': 'model-00002-of-00002.safetensors',
          'model.embed_tokens.weight': 'model-00001-of-00002.safetensors',
          'model.norm.weight': 'model-00001-of-00002.safetensors',
        },
      }),
    );
    return dir;
  }

  test('index + two shards round trip', () => {
    const dir = writeShardedModel();
    const model = readSafetensorsModel(dir);
    assert.deepEqual(
      model.files.map((f) => path.basename(f)),
      ['model.safetensors.index.json', 'model-00002-of-00002.safetensors', 'model-00001-of-00002.safetensors'],
    );
    assert.deepEqual([...model.tensors.keys()].sort(), ['lm_head.weight', 'model.embed_tokens.weight', 'model.norm.weight']);
    assert.deepEqual(model.tensors.get('lm_head.weight')?.data, new Float32Array([0.5, -0.5, 0.25, -0.25, 2, -2]));
    assert.deepEqual(model.tensors.get('model.norm.weight')?.data, new Float32Array([1, 1]));
    assert.deepEqual(model.metadata, { format: 'pt' });
    const only = readSafetensorsModel(dir, { only: (name) => name.startsWith('model.') });
    assert.deepEqual([...only.tensors.keys()].sort(), ['model.embed_tokens.weight', 'model.norm.weight']);
  });

  test('missing tensor in a shard -> missing', () => {
    const dir = writeShardedModel();
    const indexFile = path.join(dir, 'model.safetensors.index.json');
    const index = JSON.parse(fs.readFileSync(indexFile, 'utf8'));
    index.weight_map['model.layers.0.mlp.up_proj.weight'] = 'model-00002-of-00002.safetensors';
    fs.writeFileSync(indexFile, JSON.stringify(index));
    expectError(() => readSafetensorsModel(dir), 'missing', 'model-00002-of-00002.safetensors', 'model.layers.0.mlp.up_proj.weight');
  });

  test('missing shard file -> missing', () => {
    const dir = writeShardedModel();
    fs.rmSync(path.join(dir, 'model-00002-of-00002.safetensors'));
    expectError(() => readSafetensorsModel(dir), 'missing', 'model-00002-of-00002.safetensors', 'lm_head.weight');
  });

  test('folder without weights -> missing, naming what was looked for', () => {
    const dir = fs.mkdtempSync(path.join(tmpRoot, 'noweights-'));
    expectError(() => readSafetensorsModel(dir), 'missing', dir);
    assert.throws(() => readSafetensorsModel(dir), /model\.safetensors\.index\.json/);
  });
});
