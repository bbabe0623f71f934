/**
 * llama.cpp control vector GGUF: written by engine/export/gguf.ts, read back by the independent reader in
 * gguf-reader.ts (header, every KV with its type, tensor names, shapes, offsets and values exactly), truncation at
 * every region fails the reader, and the layer mapping is checked against a transcription of llama.cpp's loader
 * (common_control_vector_load_one + llama_adapter_cvec::apply). The reader itself is checked on a hand-built file
 * with every KV type, nested arrays and a non-default alignment.
 */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { controlVectorTensorName, llamaCppArchitecture, writeGgufControlVector } from '../../../engine/export/gguf';
import { ExportError } from '../../../engine/export/atomic';
import { normalizeHfConfig } from '../../../model/config';
import { Rng } from '../../../engine/util/random';
import { GGUF_VALUE_TYPES as T, GgufReadError, readGguf } from './gguf-reader';

/**
 * Golden bytes: gguf-py 0.19.0's GGUFWriter (the writer llama.cpp ships) driven by repeng's export recipe
 * (`GGUFWriter(path, 'controlvector')`, add_string model_hint 'llama', add_uint32 layer_count, add_tensor direction.{1,3,5}
 * of f32 [7] with values 10*L + i + 0.25), written once outside the test and embedded here.
 */
const GGUF_PY_GOLDEN = [
  'R0dVRgMAAAADAAAAAAAAAAMAAAAAAAAAFAAAAAAAAABnZW5lcmFsLmFyY2hpdGVjdHVyZQgAAAANAAAAAAAAAGNvbnRyb2x2ZWN0',
  'b3IYAAAAAAAAAGNvbnRyb2x2ZWN0b3IubW9kZWxfaGludAgAAAAFAAAAAAAAAGxsYW1hGQAAAAAAAABjb250cm9sdmVjdG9yLmxh',
  'eWVyX2NvdW50BAAAAAMAAAALAAAAAAAAAGRpcmVjdGlvbi4xAQAAAAcAAAAAAAAAAAAAAAAAAAAAAAAACwAAAAAAAABkaXJlY3Rp',
  'b24uMwEAAAAHAAAAAAAAAAAAAAAgAAAAAAAAAAsAAAAAAAAAZGlyZWN0aW9uLjUBAAAABwAAAAAAAAAAAAAAQAAAAAAAAAAAAAAA',
  'AAAAAAAAAAAAAAAAAAAAAAAAAAAAACRBAAA0QQAAREEAAFRBAABkQQAAdEEAAIJBAAAAAAAA8kEAAPpBAAABQgAABUIAAAlCAAAN',
  'QgAAEUIAAAAAAABJQgAATUIAAFFCAABVQgAAWUIAAF1CAABhQgAAAAA=',
].join('');

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-gguf-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

function randomVec(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

function bits(a: Float32Array): number[] {
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

/**
 * Transcription of llama.cpp: the loader puts direction.N at offset n_embd*(N-1) of a flat buffer (N = 0 rejected);
 * apply() gives block il (1 <= il < n_layer) the slice at n_embd*(il-1); the graph adds tensors[il] to block il's
 * output. Returns the vector each block output receives (block 0 never gets one).
 */
function llamaCppBlockVectors(file: string, nLayer: number): Map<number, Float32Array> {
  const g = readGguf(file);
  let nEmbd = -1;
  let data = new Float32Array(0);
  for (const info of g.infos) {
    const dot = info.name.indexOf('.');
    assert.equal(info.name.slice(0, dot), 'direction');
    const layerIdx = Number.parseInt(info.name.slice(dot + 1), 10);
    assert.ok(layerIdx > 0, 'llama.cpp rejects direction.0');
    assert.equal(info.ggmlType, 0, 'F32');
    assert.equal(info.dims.length, 1, '1-D');
    nEmbd = info.dims[0] as number;
    if (data.length < nEmbd * layerIdx) {
      const grown = new Float32Array(nEmbd * layerIdx);
      grown.set(data);
      data = grown;
    }
    const src = g.tensors.get(info.name) as Float32Array;
    for (let j = 0; j < nEmbd; j++) data[nEmbd * (layerIdx - 1) + j] += src[j] as number;
  }
  const out = new Map<number, Float32Array>();
  for (let il = 1; il < nLayer; il++) {
    const off = nEmbd * (il - 1);
    if (off + nEmbd <= data.length) out.set(il, data.slice(off, off + nEmbd));
  }
  return out;
}

describe('writeGgufControlVector', () => {
  it('round trips header, metadata, names, shapes, offsets and values exactly', () => {
    const rng = new Rng(1);
    for (const hidden of [7, 64]) {
      // 28 bytes (padded to 32) and an aligned size
      const dirs = new Map<number, Float32Array>([
        [5, randomVec(rng, hidden)],
        [1, randomVec(rng, hidden)],
        [3, randomVec(rng, hidden)],
      ]);
      const file = path.join(tmpRoot, `cv-${hidden}.gguf`);
      writeGgufControlVector(file, dirs, { architecture: 'llama', metadata: { method: 'meandiff', data_sha256: 'abc' } });
      const g = readGguf(file);
      assert.equal(fs.readFileSync(file).subarray(0, 4).toString('latin1'), 'GGUF');
      assert.equal(g.version, 3);
      assert.equal(g.tensorCount, 3);
      assert.equal(g.kvCount, 5);
      assert.deepEqual(g.kv.get('general.architecture'), { type: T.STRING, value: 'controlvector' });
      assert.deepEqual(g.kv.get('controlvector.model_hint'), { type: T.STRING, value: 'llama' });
      assert.deepEqual(g.kv.get('controlvector.layer_count'), { type: T.UINT32, value: 3 });
      assert.deepEqual(g.kv.get('rtune.method'), { type: T.STRING, value: 'meandiff' });
      assert.equal(g.alignment, 32);
      assert.equal(g.dataOffset % 32, 0);
      assert.deepEqual(
        g.infos.map((i) => i.name),
        ['direction.1', 'direction.3', 'direction.5'],
      );
      const padded = Math.ceil((hidden * 4) / 32) * 32;
      assert.deepEqual(
        g.infos.map((i) => i.offset),
        [0, padded, 2 * padded],
      );
      for (const info of g.infos) {
        assert.deepEqual(info.dims, [hidden]);
        assert.equal(info.ggmlType, 0);
        const layer = Number(info.name.split('.')[1]);
        assert.deepEqual(bits(g.tensors.get(info.name) as Float32Array), bits(dirs.get(layer) as Float32Array));
      }
      assert.equal(g.fileSize, g.dataOffset + 3 * padded, 'data section padded to the alignment, last tensor included');
    }
  });

  it("is byte-identical to gguf-py's writer for the same control vector", () => {
    const dirs = new Map<number, Float32Array>();
    for (const layer of [3, 1, 5])
      dirs.set(
        layer,
        Float32Array.from({ length: 7 }, (_, i) => layer * 10 + i + 0.25),
      );
    const file = path.join(tmpRoot, 'golden.gguf');
    writeGgufControlVector(file, dirs, { architecture: 'llama' });
    assert.equal(fs.readFileSync(file).toString('base64'), GGUF_PY_GOLDEN);
  });

  it("layer L (block L's output) lands on llama.cpp's block L", () => {
    const rng = new Rng(2);
    const dirs = new Map<number, Float32Array>([
      [2, randomVec(rng, 16)],
      [4, randomVec(rng, 16)],
    ]);
    const file = path.join(tmpRoot, 'mapping.gguf');
    writeGgufControlVector(file, dirs, { architecture: 'llama', nLayers: 6 });
    const blocks = llamaCppBlockVectors(file, 6);
    assert.deepEqual(bits(blocks.get(2) as Float32Array), bits(dirs.get(2) as Float32Array));
    assert.deepEqual(bits(blocks.get(4) as Float32Array), bits(dirs.get(4) as Float32Array));
    for (const il of [1, 3])
      assert.ok(
        (blocks.get(il) as Float32Array).every((x) => x === 0),
        `block ${il} untouched`,
      );
    assert.equal(controlVectorTensorName(15), 'direction.15');
  });

  it('every truncation fails the reader', () => {
    const file = path.join(tmpRoot, 'trunc.gguf');
    writeGgufControlVector(
      file,
      new Map([
        [1, new Float32Array([1, 2, 3])],
        [2, new Float32Array([4, 5, 6])],
      ]),
      { architecture: 'gpt2' },
    );
    const full = fs.readFileSync(file);
    const g = readGguf(full);
    // In the header, in a KV, in the tensor infos, in the data, and only the last tensor's padding missing.
    for (const cut of [2, 10, 30, 60, g.dataOffset - 10, g.dataOffset + 4, g.dataOffset + 40, full.length - 1]) {
      assert.throws(() => readGguf(full.subarray(0, cut)), GgufReadError, `cut at ${cut}`);
    }
    assert.throws(() => readGguf(Buffer.from('GGUX' + full.subarray(4).toString('latin1'), 'latin1')), /bad magic/);
  });

  it('refuses what llama.cpp would reject, and writes atomically', () => {
    const file = path.join(tmpRoot, 'bad.gguf');
    const v = new Float32Array([1, 2]);
    assert.throws(() => writeGgufControlVector(file, new Map([[0, v]]), { architecture: 'llama' }), /block 0/);
    assert.throws(
      () =>
        writeGgufControlVector(
          file,
          new Map([
            [1, v],
            [2, new Float32Array(3)],
          ]),
          { architecture: 'llama' },
        ),
      ExportError,
    );
    assert.throws(() => writeGgufControlVector(file, new Map([[1, new Float32Array([Number.NaN, 1])]]), { architecture: 'llama' }), /non-finite/);
    assert.throws(() => writeGgufControlVector(file, new Map([[4, v]]), { architecture: 'llama', nLayers: 4 }), /does not exist/);
    assert.throws(() => writeGgufControlVector(file, new Map(), { architecture: 'llama' }), ExportError);
    assert.equal(fs.existsSync(file), false);
    writeGgufControlVector(file, new Map([[1, v]]), { architecture: 'llama' });
    writeGgufControlVector(file, new Map([[2, v]]), { architecture: 'llama', modelHint: 'mistral' });
    const g = readGguf(file);
    assert.deepEqual(
      g.infos.map((i) => i.name),
      ['direction.2'],
    );
    assert.equal(g.kv.get('controlvector.model_hint')?.value, 'mistral');
    assert.deepEqual(
      fs.readdirSync(tmpRoot).filter((f) => f.includes('.tmp')),
      [],
    );
  });

  it("llamaCppArchitecture names llama.cpp's architectures", () => {
    const cfg = (o: Record<string, unknown>): ReturnType<typeof normalizeHfConfig> => normalizeHfConfig(o, 'test');
    const llama = { vocab_size: 8, hidden_size: 8, intermediate_size: 8, num_hidden_layers: 1, num_attention_heads: 2 };
    assert.equal(llamaCppArchitecture(cfg({ model_type: 'llama', ...llama })), 'llama');
    assert.equal(llamaCppArchitecture(cfg({ model_type: 'mistral', ...llama })), 'llama');
    assert.equal(llamaCppArchitecture(cfg({ model_type: 'qwen2', ...llama })), 'qwen2');
    assert.equal(llamaCppArchitecture(cfg({ model_type: 'gpt2', vocab_size: 8, n_embd: 8, n_layer: 1, n_head: 2 })), 'gpt2');
  });
});

describe('gguf-reader on a hand-built file', () => {
  /** Little-endian byte builder for the fixture (test-only). */
  class Bytes {
    parts: Buffer[] = [];
    u8(x: number): this {
      const b = Buffer.alloc(1);
      b.writeUInt8(x);
      this.parts.push(b);
      return this;
    }
    u32(x: number): this {
      const b = Buffer.alloc(4);
      b.writeUInt32LE(x);
      this.parts.push(b);
      return this;
    }
    i32(x: number): this {
      const b = Buffer.alloc(4);
      b.writeInt32LE(x);
      this.parts.push(b);
      return this;
    }
    u64(x: number | bigint): this {
      const b = Buffer.alloc(8);
      b.writeBigUInt64LE(BigInt(x));
      this.parts.push(b);
      return this;
    }
    f64(x: number): this {
      const b = Buffer.alloc(8);
      b.writeDoubleLE(x);
      this.parts.push(b);
      return this;
    }
    str(s: string): this {
      const b = Buffer.from(s, 'utf8');
      return this.u64(b.length).raw(b);
    }
    raw(b: Buffer): this {
      this.parts.push(b);
      return this;
    }
    get length(): number {
      return this.parts.reduce((a, p) => a + p.length, 0);
    }
    build(): Buffer {
      return Buffer.concat(this.parts);
    }
  }

  it('parses every KV type, nested arrays, a 64-byte alignment and a 2-D tensor', () => {
    const b = new Bytes().raw(Buffer.from('GGUF')).u32(3).u64(1).u64(8);
    b.str('general.alignment').u32(T.UINT32).u32(64);
    b.str('a.u8').u32(T.UINT8).u8(200);
    b.str('a.i32').u32(T.INT32).i32(-7);
    b.str('a.bool').u32(T.BOOL).u8(1);
    b.str('a.f64').u32(T.FLOAT64).f64(0.1);
    b.str('a.u64')
      .u32(T.UINT64)
      .u64(2n ** 60n);
    b.str('a.strs').u32(T.ARRAY).u32(T.STRING).u64(2).str('x').str('héllo');
    b.str('a.nested').u32(T.ARRAY).u32(T.ARRAY).u64(2).u32(T.INT32).u64(1).i32(5).u32(T.INT32).u64(0);
    b.str('t').u32(2).u64(3).u64(2).u32(0).u64(0);
    b.raw(Buffer.alloc(Math.ceil(b.length / 64) * 64 - b.length));
    const values = Buffer.alloc(64);
    for (let i = 0; i < 6; i++) values.writeFloatLE(i + 0.5, 4 * i);
    const g = readGguf(b.raw(values).build());
    assert.equal(g.alignment, 64);
    assert.equal(g.kv.get('a.u8')?.value, 200);
    assert.equal(g.kv.get('a.i32')?.value, -7);
    assert.equal(g.kv.get('a.bool')?.value, true);
    assert.equal(g.kv.get('a.f64')?.value, 0.1);
    assert.equal(g.kv.get('a.u64')?.value, 2n ** 60n);
    assert.deepEqual(g.kv.get('a.strs'), { type: T.ARRAY, arrayType: T.STRING, value: ['x', 'héllo'] });
    assert.deepEqual(g.kv.get('a.nested')?.value, [[5], []]);
    assert.deepEqual(g.infos[0], { name: 't', dims: [3, 2], ggmlType: 0, offset: 0 });
    assert.deepEqual(Array.from(g.tensors.get('t') as Float32Array), [0.5, 1.5, 2.5, 3.5, 4.5, 5.5]);
    assert.equal(g.dataOffset % 64, 0);
  });
});
