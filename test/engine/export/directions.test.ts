/**
 * Directions safetensors: written by writeDirectionsSafetensors, read back by the independent test reader
 * (st-reader.ts: names, [positions, hidden] shapes, F32 values bit for bit, string metadata) and by
 * readDirectionsSafetensors; invalid input is refused before anything is written.
 */
import { after, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readDirectionsSafetensors, writeDirectionsSafetensors, DIRECTIONS_FORMAT } from '../../../engine/export/directions';
import { Rng } from '../../../engine/util/random';
import { readSt } from './st-reader';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-directions-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

describe('writeDirectionsSafetensors', () => {
  it('writes direction.layer.L as [positions, hidden] with string metadata, and reads back exactly', () => {
    const rng = new Rng(3);
    const hidden = 10;
    const vec = (): Float32Array => Float32Array.from({ length: hidden }, () => rng.normal());
    const dirs = new Map<number, Float32Array[]>([
      [13, [vec(), vec(), vec()]],
      [2, [vec(), vec(), vec()]],
    ]);
    const meta = {
      model: 'demo',
      tokenizer_sha256: 'ab12',
      template: 'llama2-chat',
      positions: '-3,-2,-1',
      method: 'meandiff',
      data_sha256: 'cd34',
      n: '306',
    };
    const file = path.join(tmpRoot, 'dirs.safetensors');
    writeDirectionsSafetensors(file, dirs, meta);

    const st = readSt(file);
    assert.deepEqual([...st.tensors.keys()].sort(), ['direction.layer.13', 'direction.layer.2']);
    for (const [layer, rows] of dirs) {
      const t = st.tensors.get(`direction.layer.${layer}`);
      assert.ok(t);
      assert.equal(t.dtype, 'F32');
      assert.deepEqual(t.shape, [3, hidden]);
      rows.forEach((row, k) => assert.deepEqual(Array.from(t.data.subarray(k * hidden, (k + 1) * hidden)), Array.from(row)));
    }
    assert.deepEqual(st.metadata, { ...meta, layers: '2,13', hidden_size: '10', rtune_format: DIRECTIONS_FORMAT });

    const back = readDirectionsSafetensors(file);
    assert.deepEqual([...back.directions.keys()], [2, 13]);
    assert.deepEqual(
      back.directions.get(13)?.map((r) => Array.from(r)),
      dirs.get(13)?.map((r) => Array.from(r)),
    );
    assert.equal(back.metadata['method'], 'meandiff');
  });

  it('refuses uneven, empty or negative-layer input and non-string metadata', () => {
    const file = path.join(tmpRoot, 'bad.safetensors');
    const v = new Float32Array(4);
    assert.throws(() => writeDirectionsSafetensors(file, new Map([[1, [v, new Float32Array(3)]]]), {}), /expected 4/);
    assert.throws(() => writeDirectionsSafetensors(file, new Map([[1, []]]), {}), /no positions/);
    assert.throws(() => writeDirectionsSafetensors(file, new Map([[-1, [v]]]), {}), /non-negative/);
    assert.throws(() => writeDirectionsSafetensors(file, new Map(), {}), /no directions/);
    assert.throws(() => writeDirectionsSafetensors(file, new Map([[1, [v]]]), { n: 3 as unknown as string }), /must be a string/);
    assert.equal(fs.existsSync(file), false);
  });
});
