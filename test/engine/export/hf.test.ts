/**
 * HF export round trips: random Llama (GQA, untied) and GPT-2 models exported 'full' reload with identical logits
 * and HF layouts (checked with the independent reader st-reader.ts); 'changed' writes exactly the modified tensor,
 * and base + delta reconstructs the tuned model bit for bit; the real HF tiny GPT-2 folder keeps its tokenizer files;
 * stories260K (llama2.c) exports as a Llama folder with identical logits; failed exports leave nothing behind.
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { buildFolderAtomic, ExportError } from '../../../engine/export/atomic';
import { exportHfModel, loadChangedExport, readHfExportManifest } from '../../../engine/export/hf';
import { normalizeHfConfig } from '../../../model/config';
import { forward, type Model } from '../../../engine/model/forward';
import { loadModel, modelToTensors, randomModel } from '../../../engine/model/load';
import { paramSpecs } from '../../../model/params';
import { TINY_GPT2_HF, TINY_LLAMA_HF, missingShared, sharedData, testBackend } from '../../helpers';
import { readSt } from './st-reader';

const tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rtune-hf-export-'));
after(() => fs.rmSync(tmpRoot, { recursive: true, force: true }));

const LLAMA = TINY_LLAMA_HF;
const GPT2 = TINY_GPT2_HF;
const IDS = [
  [1, 5, 9, 2, 7, 3],
  [4, 4, 8, 1, 0, 6],
];

async function logits(model: Model, ids: number[][] = IDS): Promise<Float32Array> {
  const t = tf.tidy(() => forward(model, ids, { logits: 'all' }).logits as tf.Tensor3D);
  const data = (await t.data()) as Float32Array;
  t.dispose();
  return data;
}

function bits(a: Float32Array): Uint32Array {
  return new Uint32Array(a.buffer, a.byteOffset, a.length);
}

function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, what);
  assert.ok(Buffer.from(bits(a).buffer, bits(a).byteOffset, a.byteLength).equals(Buffer.from(bits(b).buffer, bits(b).byteOffset, b.byteLength)), what);
}

async function assertSameParams(a: Model, b: Model): Promise<void> {
  const ta = await modelToTensors(a);
  const tb = await modelToTensors(b);
  assert.deepEqual([...ta.keys()], [...tb.keys()]);
  for (const [name, t] of ta) assertSameBits(t.data, (tb.get(name) as { data: Float32Array }).data, name);
}

describe('exportHfModel', () => {
  const models: Model[] = [];
  const keep = (m: Model): Model => (models.push(m), m);
  before(async () => {
    await testBackend();
  });
  after(() => models.forEach((m) => m.dispose()));

  for (const [label, cfg] of [
    ['llama', LLAMA],
    ['gpt2', GPT2],
  ] as const) {
    it(`${label}: 'full' export reloads with identical logits, HF names and HF layouts`, async () => {
      const model = keep(randomModel(normalizeHfConfig(cfg, label), 11));
      const dir = path.join(tmpRoot, `${label}-full`);
      const result = await exportHfModel(model, undefined, dir, { mode: 'full', metadata: { run: 'test' } });
      assert.deepEqual(result.files, ['README.md', 'config.json', 'model.safetensors', 'rtune-export.json']);
      const reloaded = keep(loadModel(dir));
      assertSameBits(await logits(reloaded), await logits(model), 'logits');

      const st = readSt(path.join(dir, 'model.safetensors'));
      const specs = paramSpecs(model.config);
      assert.deepEqual([...st.tensors.keys()].sort(), specs.map((s) => s.name).sort());
      for (const s of specs) assert.deepEqual(st.tensors.get(s.name)?.shape, s.diskShape, s.name);
      assert.equal(st.metadata?.['format'], 'pt');
      assert.equal(st.metadata?.['run'], 'test');
      // Layout: a transposed parameter is [out, in] on disk, [in, out] in memory.
      const spec = specs.find((s) => s.transposed && s.layer === 1) ?? specs.find((s) => s.layer === 1 && s.diskShape.length === 2);
      assert.ok(spec);
      const mem = (await (model.params.get(spec.name) as tf.Variable).data()) as Float32Array;
      const disk = (st.tensors.get(spec.name) as { data: Float32Array }).data;
      const [rows, cols] = spec.diskShape as [number, number];
      for (const [r, c] of [
        [0, 1],
        [rows - 1, cols - 2],
        [3, 5],
      ] as Array<[number, number]>) {
        assert.equal(disk[r * cols + c], spec.transposed ? mem[c * rows + r] : mem[r * cols + c], `${spec.name}[${r}, ${c}]`);
      }
      const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      assert.equal(config['model_type'], label);
      assert.equal(config['torch_dtype'], 'float32');
      const manifest = readHfExportManifest(dir);
      assert.equal(manifest.mode, 'full');
      assert.equal(manifest.tensors.length, specs.length);
      assert.equal(manifest.unchanged, 0);
    });

    it(`${label}: 'changed' writes only the modified tensor, and base + delta is the tuned model exactly`, async () => {
      const config = normalizeHfConfig(cfg, label);
      const base = keep(randomModel(config, 12));
      const baseDir = path.join(tmpRoot, `${label}-base`);
      await exportHfModel(base, undefined, baseDir, { mode: 'full' });
      const tuned = keep(loadModel(baseDir));
      const target = label === 'llama' ? 'model.layers.1.mlp.down_proj.weight' : 'transformer.h.1.mlp.c_proj.weight';
      const v = tuned.params.get(target) as tf.Variable;
      tf.tidy(() => v.assign(v.add(tf.randomNormal(v.shape, 0, 0.01, 'float32', 5))));
      assert.notDeepEqual(await logits(tuned), await logits(base), 'the modification changes the model');
      const deltaDir = path.join(tmpRoot, `${label}-delta`);
      const result = await exportHfModel(tuned, undefined, deltaDir, { mode: 'changed', base: { model: base, path: baseDir } });

      const delta = readSt(path.join(deltaDir, 'model.safetensors'));
      assert.deepEqual([...delta.tensors.keys()], [target]);
      assert.equal(delta.metadata?.['base_model'], baseDir);
      assert.equal(delta.metadata?.['format'], 'pt');
      assert.equal(result.manifest.base_model, baseDir);
      assert.equal(result.manifest.unchanged, paramSpecs(config).length - 1);
      assert.match(fs.readFileSync(path.join(deltaDir, 'README.md'), 'utf8'), /load_state_dict\(delta, strict=False\)/);

      // Independent merge: base file tensors, overwritten by the delta, equal the tuned model's tensors.
      const merged = readSt(path.join(baseDir, 'model.safetensors')).tensors;
      for (const [name, t] of delta.tensors) merged.set(name, t);
      const tunedHost = await modelToTensors(tuned);
      for (const [name, t] of tunedHost) assertSameBits((merged.get(name) as { data: Float32Array }).data, t.data, name);
      // Engine merge: base + delta reloads with the tuned model's weights and logits.
      const rebuilt = keep(loadChangedExport(deltaDir));
      await assertSameParams(rebuilt, tuned);
      assertSameBits(await logits(rebuilt), await logits(tuned), 'logits');
    });
  }

  it("'changed' needs a base of the same architecture", async () => {
    const a = keep(randomModel(normalizeHfConfig(LLAMA, 'a'), 1));
    const b = keep(randomModel(normalizeHfConfig({ ...LLAMA, intermediate_size: 32 }, 'b'), 1));
    await assert.rejects(exportHfModel(a, undefined, path.join(tmpRoot, 'x'), { mode: 'changed' }), /needs `base`/);
    await assert.rejects(exportHfModel(a, undefined, path.join(tmpRoot, 'x'), { mode: 'changed', base: { model: b, path: 'b' } }), /does not match/);
    assert.equal(fs.existsSync(path.join(tmpRoot, 'x')), false);
  });

  it('F16 export rounds the weights, records torch_dtype and still loads', async () => {
    const model = keep(randomModel(normalizeHfConfig(LLAMA, 'f16'), 13));
    const dir = path.join(tmpRoot, 'llama-f16');
    await exportHfModel(model, undefined, dir, { mode: 'full', dtype: 'F16' });
    const st = readSt(path.join(dir, 'model.safetensors'));
    assert.ok([...st.tensors.values()].every((t) => t.dtype === 'F16'));
    assert.equal((JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as { torch_dtype: string }).torch_dtype, 'float16');
    const a = await logits(model);
    const b = await logits(keep(loadModel(dir)));
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
    assert.ok(worst > 0 && worst < 1e-3, `max |dlogit| ${worst}`);
  });

  it('never leaves a half-written export and never overwrites foreign folders', async () => {
    const model = keep(randomModel(normalizeHfConfig(GPT2, 'atomic'), 14));
    const dir = path.join(tmpRoot, 'atomic');
    await exportHfModel(model, undefined, dir, { mode: 'full' });
    const before = fs.readFileSync(path.join(dir, 'model.safetensors'));
    // A failure while filling the folder leaves the previous export untouched and no temporary folder behind.
    await assert.rejects(
      buildFolderAtomic(dir, 'rtune-export.json', (tmp) => {
        fs.writeFileSync(path.join(tmp, 'model.safetensors'), 'partial');
        throw new Error('disk full');
      }),
      (err: unknown) => err instanceof ExportError && /disk full/.test(err.message),
    );
    assert.ok(fs.readFileSync(path.join(dir, 'model.safetensors')).equals(before));
    assert.deepEqual(
      fs.readdirSync(tmpRoot).filter((f) => f.includes('.tmp-')),
      [],
    );
    // Re-exporting over a previous export replaces it.
    const other = keep(randomModel(normalizeHfConfig(GPT2, 'atomic2'), 15));
    await exportHfModel(other, undefined, dir, { mode: 'full' });
    assertSameBits(await logits(keep(loadModel(dir))), await logits(other), 'replaced');
    // A folder with other content is refused.
    const foreign = path.join(tmpRoot, 'foreign');
    fs.mkdirSync(foreign);
    fs.writeFileSync(path.join(foreign, 'notes.txt'), 'mine');
    await assert.rejects(exportHfModel(model, undefined, foreign, { mode: 'full' }), /refusing to overwrite/);
    assert.deepEqual(fs.readdirSync(foreign), ['notes.txt']);
  });

  it('an HF source folder keeps its tokenizer files (tiny GPT-2)', { skip: missingShared('hf-tiny-gpt2-random', 'model.safetensors') }, async () => {
    const src = sharedData('hf-tiny-gpt2-random');
    const model = keep(loadModel(src));
    const dir = path.join(tmpRoot, 'tiny-gpt2');
    const result = await exportHfModel(model, src, dir, { mode: 'full' });
    const expected = ['generation_config.json', 'merges.txt', 'special_tokens_map.json', 'tokenizer.json', 'tokenizer_config.json', 'vocab.json'];
    assert.deepEqual(result.manifest.tokenizer?.files.slice().sort(), expected);
    for (const f of expected) assert.ok(fs.readFileSync(path.join(dir, f)).equals(fs.readFileSync(path.join(src, f))), f);
    const ids = [
      [50256, 464, 2068, 7586, 21831],
      [15496, 995, 11, 314, 716],
    ];
    assertSameBits(await logits(keep(loadModel(dir)), ids), await logits(model, ids), 'logits');
    // The copies are writable, so a later export can replace the folder.
    await exportHfModel(model, src, dir, { mode: 'full' });
  });

  it('stories260K (llama2.c) exports as a Llama folder with identical logits', { skip: missingShared('llama2c-stories260K', 'stories260K.bin') }, async () => {
    const model = keep(loadModel(sharedData('llama2c-stories260K', 'stories260K.bin')));
    const dir = path.join(tmpRoot, 'stories260K-hf');
    const result = await exportHfModel(model, undefined, dir, { mode: 'full' });
    const config = JSON.parse(fs.readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(config['model_type'], 'llama');
    assert.deepEqual(config['architectures'], ['LlamaForCausalLM']);
    assert.ok(result.manifest.notes.some((n) => /rotate_half/.test(n)));
    const reloaded = keep(loadModel(dir));
    assert.equal(reloaded.format, 'hf');
    const ids = [
      [1, 403, 407, 261, 378, 375, 268],
      [1, 66, 303, 282, 44, 290, 352],
    ];
    assertSameBits(await logits(reloaded, ids), await logits(model, ids), 'logits');
  });
});
