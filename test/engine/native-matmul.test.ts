/**
 * The native BLAS matmul path (engine/native-matmul.ts) and the wasm one it replaces, both against float64:
 * matmuls of every shape the engine produces (2-D, transposed either side, batched, one side broadcast over the
 * batch, fused with a bias), the forward pass and the gradients of a random model against the float64 reference
 * (test/reference), the gradients of one tuned block equal on both paths, and no tensor drift per training step.
 * Where the addon is not built the native half says it skipped (RTUNE_REQUIRE_NATIVE_BLAS=1 makes that a failure).
 */
import { after, before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { normalizeHfConfig } from '../../model/config';
import { disableNativeMatmul, enableNativeMatmul, nativeMatmulActive, nativeMatmulCalls } from '../../engine/native-matmul';
import { forward } from '../../engine/model/forward';
import { setTrainable } from '../../engine/model/load';
import { nextTokenLoss } from '../../engine/model/loss';
import { AdamW } from '../../engine/train/adamw';
import { Rng } from '../../engine/util/random';
import { checkGradients, logitsDiff, randomIds, randomWeightsModel } from '../reference/parity';
import { TINY_LLAMA_HF, testBackend } from '../helpers';

/** float64 op(A) op(B) for row-major [batch, r, c] arrays; a batch of 1 broadcasts. */
function matmul64(a: Float32Array, aShape: number[], b: Float32Array, bShape: number[], ta: boolean, tb: boolean): Float64Array {
  const [ba, ar, ac] = aShape as [number, number, number];
  const [bb, br, bc] = bShape as [number, number, number];
  const m = ta ? ac : ar;
  const k = ta ? ar : ac;
  const n = tb ? br : bc;
  const batch = Math.max(ba, bb);
  const out = new Float64Array(batch * m * n);
  for (let i = 0; i < batch; i++) {
    const ao = (ba === 1 ? 0 : i) * ar * ac;
    const bo = (bb === 1 ? 0 : i) * br * bc;
    for (let r = 0; r < m; r++)
      for (let c = 0; c < n; c++) {
        let s = 0;
        for (let j = 0; j < k; j++) s += (a[ao + (ta ? j * ac + r : r * ac + j)] as number) * (b[bo + (tb ? c * bc + j : j * bc + c)] as number);
        out[(i * m + r) * n + c] = s;
      }
  }
  return out;
}

function maxAbsDiff(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let d = 0;
  for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs((x[i] as number) - (y[i] as number)));
  return d;
}

const rng = new Rng(7);
function rand(shape: number[]): Float32Array {
  return Float32Array.from({ length: shape.reduce((p, q) => p * q, 1) }, () => rng.normal());
}

/** [a shape, b shape, transposeA, transposeB]; a rank-2 b against a rank-3 a broadcasts b over the batch. */
const CASES: Array<[number[], number[], boolean, boolean]> = [
  [[7, 5], [5, 3], false, false],
  [[5, 7], [5, 3], true, false],
  [[7, 5], [3, 5], false, true],
  [[5, 7], [3, 5], true, true],
  [[4, 9, 6], [4, 6, 8], false, false],
  [[4, 9, 6], [4, 8, 6], false, true],
  [[2, 3, 6, 9], [2, 3, 6, 5], true, false],
  [[4, 9, 6], [6, 8], false, false],
  [[9, 6], [4, 6, 8], false, false],
  [[64, 48], [48, 40], false, false],
];

async function checkMatmuls(): Promise<void> {
  for (const [as, bs, ta, tb] of CASES) {
    const a = rand(as);
    const b = rand(bs);
    const got = tf.tidy(() => tf.matMul(tf.tensor(a, as), tf.tensor(b, bs), ta, tb));
    const data = await got.data();
    const batchA = as.slice(0, -2).reduce((p, q) => p * q, 1);
    const batchB = bs.slice(0, -2).reduce((p, q) => p * q, 1);
    const want = matmul64(a, [batchA, ...as.slice(-2)], b, [batchB, ...bs.slice(-2)], ta, tb);
    const k = ta ? (as[as.length - 2] as number) : (as[as.length - 1] as number);
    assert.equal(data.length, want.length, `${as} x ${bs}`);
    // float32 sums of k products of N(0, 1) values: error about sqrt(k) * 2^-24 * |terms|; 1e-5 * k is generous.
    assert.ok(maxAbsDiff(data, want) < 1e-5 * k, `${as} x ${bs} (transposeA ${ta}, transposeB ${tb}): ${maxAbsDiff(data, want)}`);
    got.dispose();
  }
  const a = rand([6, 10]);
  const w = rand([10, 4]);
  const bias = rand([4]);
  const fused = tf.tidy(() => tf.fused.matMul({ a: tf.tensor2d(a, [6, 10]), b: tf.tensor2d(w, [10, 4]), bias: tf.tensor1d(bias) }));
  const want = matmul64(a, [1, 6, 10], w, [1, 10, 4], false, false).map((v, i) => v + (bias[i % 4] as number));
  assert.ok(maxAbsDiff(await fused.data(), want) < 1e-4, 'fused matmul with bias');
  fused.dispose();
}

const GPT2 = normalizeHfConfig({ model_type: 'gpt2', vocab_size: 37, n_embd: 16, n_layer: 2, n_head: 4, n_positions: 32 }, 'native-test');
const LLAMA = normalizeHfConfig(TINY_LLAMA_HF, 'native-test');

async function checkModels(): Promise<void> {
  for (const config of [GPT2, LLAMA]) {
    const model = randomWeightsModel(config, 3);
    const ids = randomIds(new Rng(4), 12, config.vocabSize);
    assert.ok((await logitsDiff(model, ids)) < 2e-4, `${config.arch} logits`);
    assert.ok((await checkGradients(model, ids, 5)) > 0);
    model.dispose();
  }
}

/** Gradients of block 1's tensors only (a tuned block), as host arrays by variable name. */
async function blockGrads(): Promise<Map<string, Float32Array>> {
  const model = randomWeightsModel(GPT2, 9);
  const ids = [randomIds(new Rng(10), 16, GPT2.vocabSize), randomIds(new Rng(11), 16, GPT2.vocabSize)];
  const vars = setTrainable(model, (name) => name.includes('.1.'));
  assert.ok(vars.length > 0);
  const { value, grads } = tf.variableGrads(() => nextTokenLoss(forward(model, ids).logits as tf.Tensor3D, ids), vars);
  const hfName = new Map([...model.params].map(([hf, v]) => [v.name, hf]));
  const out = new Map<string, Float32Array>();
  for (const [name, g] of Object.entries(grads)) out.set(hfName.get(name) as string, (await g.data()) as Float32Array);
  tf.dispose([value, ...Object.values(grads)]);
  model.dispose();
  return out;
}

describe('native BLAS matmul and the wasm matmul', () => {
  let native = false;
  let reason = '';
  before(async () => {
    const info = await testBackend();
    if (info.backend !== 'wasm') return;
    const s = enableNativeMatmul(info.threads);
    native = s.active;
    reason = s.reason ?? '';
    if (!native && process.env['RTUNE_REQUIRE_NATIVE_BLAS'] === '1') throw new Error(`native matmul required but off: ${reason}`);
  });
  after(() => {
    // Leave the backend as the test helper set it up.
    if (process.env['RTUNE_NATIVE_BLAS'] === '0') disableNativeMatmul();
  });

  it('the wasm path matches float64 on matmuls, a forward pass and gradients', async () => {
    disableNativeMatmul();
    assert.equal(nativeMatmulActive(), false);
    const calls = nativeMatmulCalls();
    await checkMatmuls();
    await checkModels();
    assert.equal(nativeMatmulCalls(), calls, 'the wasm path made no native call');
    if (native) enableNativeMatmul(1);
  });

  it('the native path matches float64 on matmuls, a forward pass and gradients', async (t) => {
    if (!native) return t.skip(`native matmul addon off: ${reason}`);
    enableNativeMatmul(1);
    const calls = nativeMatmulCalls();
    await checkMatmuls();
    await checkModels();
    assert.ok(nativeMatmulCalls() > calls + 100, 'the native path computed the matmuls');
  });

  it("a tuned block's gradients agree on both paths, and a training step leaves no tensors behind", async (t) => {
    if (!native) return t.skip(`native matmul addon off: ${reason}`);
    enableNativeMatmul(2);
    const withNative = await blockGrads();
    disableNativeMatmul();
    const withWasm = await blockGrads();
    enableNativeMatmul(1);
    assert.deepEqual([...withNative.keys()].sort(), [...withWasm.keys()].sort());
    for (const [name, g] of withNative) {
      const w = withWasm.get(name) as Float32Array;
      const scale = Math.max(...Array.from(w, Math.abs));
      assert.ok(maxAbsDiff(g, w) <= 1e-5 * Math.max(1, scale), `${name}: ${maxAbsDiff(g, w)}`);
    }
    const model = randomWeightsModel(GPT2, 12);
    const ids = [randomIds(new Rng(13), 16, GPT2.vocabSize)];
    const vars = setTrainable(model, 'all');
    const opt = new AdamW([{ name: 'all', vars, weightDecay: 0.01 }]);
    const step = async (): Promise<void> => {
      const { value, grads } = tf.variableGrads(() => nextTokenLoss(forward(model, ids).logits as tf.Tensor3D, ids), vars);
      opt.apply(grads, 1e-3);
      await value.data();
      tf.dispose([value, ...Object.values(grads)]);
    };
    await step();
    const before = tf.memory().numTensors;
    await step();
    await step();
    assert.equal(tf.memory().numTensors - before, 0, 'tensor drift per step');
    opt.dispose();
    model.dispose();
  });
});
