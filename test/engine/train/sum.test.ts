/**
 * Sums over many tensors on the test backend (RTUNE_TEST_BACKEND=webgpu runs them on Dawn): `tf.addN` and the
 * chunked `addAll` with 1..20 inputs, and the global gradient norm (AdamW's clipping) over 8..20 gradients, against
 * float64 sums on the host. WebGPU's AddN returned stale memory from 8 inputs on (8 scalars 1..8 gave 12345) and
 * the gradient norm with it; on webgpu the tests also check that Dawn reported no device error.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { addAll } from '../../../engine/train/sum';
import { clipByGlobalNorm, globalNorm } from '../../../engine/train/adamw';
import { isSoftwareAdapter, takeWebgpuErrors } from '../../../engine/webgpu';
import { testBackend } from '../../helpers';

/** Deterministic values in [-1, 1) (no Math.random in tests). */
function values(seed: number, n: number): number[] {
  let s = seed >>> 0 || 1;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

function assertNoDeviceErrors(): void {
  if (tf.getBackend() !== 'webgpu') return;
  const e = takeWebgpuErrors();
  assert.equal(e.count, 0, `Dawn reported ${e.count} device errors, first: ${e.messages[0] ?? ''}`);
}

describe('sums over many tensors', () => {
  before(async () => {
    await testBackend();
    takeWebgpuErrors();
  });

  it('tf.addN and addAll of 1..20 tensors equal the float64 sum, leaving no tensors behind', async () => {
    for (let n = 1; n <= 20; n++) {
      const host = Array.from({ length: n }, (_, i) => values(100 + i, 33));
      const want = host[0]!.map((_, j) => host.reduce((a, row) => a + row[j]!, 0));
      const ts = host.map((row) => tf.tensor1d(row));
      const before = tf.memory().numTensors;
      const viaAddN = n === 1 ? tf.clone(ts[0]!) : tf.addN(ts);
      const viaChunks = addAll(ts);
      const viaPairs = addAll(ts, 2);
      assert.equal(tf.memory().numTensors, before + 3, `n=${n}: only the three results remain`);
      for (const [what, t] of [
        ['tf.addN', viaAddN],
        ['addAll', viaChunks],
        ['addAll pairwise', viaPairs],
      ] as const) {
        const got = await t.data();
        for (let j = 0; j < want.length; j++) {
          assert.ok(Math.abs(got[j]! - want[j]!) < 1e-5, `${what} of ${n} tensors, element ${j}: ${got[j]} vs ${want[j]}`);
        }
      }
      tf.dispose([...ts, viaAddN, viaChunks, viaPairs]);
    }
    // The scalars of the bug report: 1..8 sum to 36 (webgpu gave 12345), 1..20 to 210.
    for (const n of [8, 9, 16, 20]) {
      const xs = Array.from({ length: n }, (_, i) => tf.scalar(i + 1));
      const s = tf.addN(xs);
      assert.equal((await s.data())[0], (n * (n + 1)) / 2, `tf.addN of the scalars 1..${n}`);
      tf.dispose([...xs, s]);
    }
    assert.throws(() => addAll([]), /no tensors/);
    assertNoDeviceErrors();
  });

  it('the global gradient norm over 8..20 gradients matches float64 and clipping scales to the limit', async () => {
    for (const n of [8, 9, 12, 15, 16, 20]) {
      const host = Array.from({ length: n }, (_, i) => values(7 * n + i, 5 + i));
      const want = Math.sqrt(host.flat().reduce((a, v) => a + v * v, 0));
      const grads: Record<string, tf.Tensor> = Object.fromEntries(host.map((row, i) => [`g${i}`, tf.tensor1d(row)]));
      const norm = await globalNorm(Object.values(grads));
      assert.ok(Math.abs(norm - want) < 1e-5 * want, `${n} gradients: norm ${norm} vs ${want}`);
      const before = await clipByGlobalNorm(grads, want / 2);
      assert.ok(Math.abs(before - want) < 1e-5 * want);
      const after = await globalNorm(Object.values(grads));
      assert.ok(Math.abs(after - want / 2) < 1e-4 * want, `${n} gradients clipped to ${after}, limit ${want / 2}`);
      tf.dispose(Object.values(grads));
    }
    assertNoDeviceErrors();
  });
});

describe('webgpu adapter classification', () => {
  it('CPU rasterisers and the fallback adapter are software; GPUs are hardware', () => {
    assert.equal(isSoftwareAdapter({ vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'google', description: 'SwiftShader Device (Subzero)' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200', isFallbackAdapter: true }), true);
    assert.equal(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H200' }), false);
    assert.equal(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3', description: 'Apple M2' }), false);
    assert.equal(isSoftwareAdapter({ vendor: 'amd', architecture: 'rdna-3', description: 'AMD Radeon RX 7900 XTX (RADV NAVI31)' }), false);
  });
});
