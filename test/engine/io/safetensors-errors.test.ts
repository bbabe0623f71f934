/** Safetensors reader errors: each malformed, truncated or lying file gives a typed error naming the file and tensor. */

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';

import { readSafetensors, readSafetensorsHeader, requireTensor, writeSafetensors } from '../../../engine/io/safetensors';
import { expectError, rawFile, tmpFile, tmpRoot } from './safetensors-fixtures';

describe('errors', () => {
  function validFile(): string {
    const file = tmpFile('valid.safetensors');
    writeSafetensors(file, [
      { name: 'a', shape: [4], data: new Float32Array([1, 2, 3, 4]) },
      { name: 'b', shape: [2, 2], data: new Float32Array([5, 6, 7, 8]) },
    ]);
    return file;
  }

  test('truncated file names the first tensor past the end', () => {
    const file = validFile();
    fs.truncateSync(file, fs.statSync(file).size - 3);
    expectError(() => readSafetensors(file), 'truncated', file, 'b');
    expectError(() => readSafetensorsHeader(file), 'truncated', file, 'b');
  });

  test('file shorter than its header -> truncated', () => {
    const file = validFile();
    fs.truncateSync(file, 20);
    expectError(() => readSafetensorsHeader(file), 'truncated', file);
    const tiny = tmpFile('tiny.safetensors');
    fs.writeFileSync(tiny, Buffer.from([1, 2, 3]));
    expectError(() => readSafetensorsHeader(tiny), 'truncated', tiny);
  });

  test('lying header: offsets past the end -> truncated', () => {
    const file = rawFile(
      'past-end.safetensors',
      {
        a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
        big: { dtype: 'F32', shape: [4], data_offsets: [8, 24] },
      },
      16,
    );
    expectError(() => readSafetensors(file), 'truncated', file, 'big');
  });

  test('lying header: byte length does not match the shape -> header', () => {
    const file = rawFile('mismatch.safetensors', { w: { dtype: 'F32', shape: [3, 2], data_offsets: [0, 20] } }, 20);
    expectError(() => readSafetensors(file), 'header', file, 'w');
  });

  test('lying header: overlapping tensors -> header', () => {
    const file = rawFile(
      'overlap.safetensors',
      {
        first: { dtype: 'F32', shape: [4], data_offsets: [0, 16] },
        second: { dtype: 'F32', shape: [2], data_offsets: [8, 16] },
      },
      16,
    );
    expectError(() => readSafetensors(file), 'header', file, 'second');
    assert.throws(() => readSafetensors(file), /overlaps tensor "first"/);
  });

  test('lying header: gap and trailing bytes -> header', () => {
    const gap = rawFile(
      'gap.safetensors',
      {
        a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] },
        b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] },
      },
      12,
    );
    expectError(() => readSafetensors(gap), 'header', gap, 'b');
    const trailing = rawFile('trailing.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 12);
    expectError(() => readSafetensors(trailing), 'header', trailing, 'a');
  });

  test('absurd header length -> header', () => {
    const file = rawFile('absurd.safetensors', { a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, 4, 1n << 40n);
    expectError(() => readSafetensorsHeader(file), 'header', file);
    assert.throws(() => readSafetensorsHeader(file), /exceeds the 100000000-byte limit/);
  });

  test('invalid JSON -> header', () => {
    const file = rawFile('badjson.safetensors', '{"a": {"dtype": "F32", "shape": [1], ', 4);
    expectError(() => readSafetensors(file), 'header', file);
    const notObject = rawFile('array.safetensors', '[1, 2]', 0);
    expectError(() => readSafetensors(notObject), 'header', notObject);
  });

  test('malformed entries -> header naming the tensor', () => {
    const file = rawFile('noshape.safetensors', { w: { dtype: 'F32', data_offsets: [0, 4] } }, 4);
    expectError(() => readSafetensorsHeader(file), 'header', file, 'w');
    const meta = rawFile('meta.safetensors', { __metadata__: { n: 3 } }, 0);
    expectError(() => readSafetensorsHeader(meta), 'header', meta);
  });

  test('integer and unknown dtypes -> dtype naming the tensor', () => {
    const file = rawFile(
      'int.safetensors',
      {
        token_ids: { dtype: 'I64', shape: [2], data_offsets: [0, 16] },
        w: { dtype: 'F32', shape: [1], data_offsets: [16, 20] },
      },
      20,
    );
    expectError(() => readSafetensors(file), 'dtype', file, 'token_ids');
    const unknown = rawFile('unknown.safetensors', { q: { dtype: 'Q4_K', shape: [1], data_offsets: [0, 1] } }, 1);
    expectError(() => readSafetensorsHeader(unknown), 'dtype', unknown, 'q');
  });

  test('missing file -> io', () => {
    const file = path.join(tmpRoot, 'does-not-exist.safetensors');
    expectError(() => readSafetensors(file), 'io', file);
  });

  test('requireTensor: missing and wrong shape say what to do', () => {
    const map = new Map([['model.layers.0.mlp.up_proj.weight', { shape: [8, 4] }]]);
    expectError(
      () => requireTensor(map, 'model.layers.1.mlp.up_proj.weight', 'weights.safetensors'),
      'missing',
      'weights.safetensors',
      'model.layers.1.mlp.up_proj.weight',
    );
    expectError(
      () => requireTensor(map, 'model.layers.0.mlp.up_proj.weight', 'weights.safetensors', [4, 8]),
      'shape',
      'weights.safetensors',
      'model.layers.0.mlp.up_proj.weight',
    );
    assert.throws(() => requireTensor(map, 'model.layers.0.mlp.up_proj.weight', 'weights.safetensors', [4, 8]), /expected shape \[4,8\], found \[8,4\]/);
    assert.equal(requireTensor(map, 'model.layers.0.mlp.up_proj.weight', 'weights.safetensors', [8, 4]).shape[0], 8);
  });

  test('writer: data length must match the shape; nothing is written', () => {
    const file = tmpFile('bad-write.safetensors');
    expectError(() => writeSafetensors(file, [{ name: 'w', shape: [2, 3], data: new Float32Array(5) }]), 'shape', file, 'w');
    expectError(
      () =>
        writeSafetensors(file, [
          { name: 'w', shape: [1], data: new Float32Array(1) },
          { name: 'w', shape: [1], data: new Float32Array(1) },
        ]),
      'header',
      file,
      'w',
    );
    assert.equal(fs.existsSync(file), false);
  });

  test('writer: an existing file is replaced atomically', () => {
    const file = validFile();
    writeSafetensors(file, [{ name: 'only', shape: [1], data: new Float32Array([42]) }]);
    assert.deepEqual([...readSafetensors(file).tensors.keys()], ['only']);
  });
});
