/**
 * What the engine does about webgpu's limits (runs with RTUNE_TEST_BACKEND=webgpu, npm test's webgpu section):
 * the device has the adapter's storage-buffer limits, not tfjs's defaults; a tensor larger than the storage
 * binding limit is refused with its name and the limit; a device error (here: binding a buffer past that limit)
 * is not silent: checkDeviceErrors, which the training loop's finiteness check calls, throws a BackendError.
 */
import { before, describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { BackendError, checkDeviceErrors, checkMemory, currentBackend } from '../../engine/backend';
import { takeWebgpuErrors } from '../../engine/webgpu';
import { testBackend } from '../helpers';

const onWebgpu = (process.env['RTUNE_TEST_BACKEND'] ?? 'wasm') === 'webgpu';

describe('webgpu limits', { skip: !onWebgpu && 'runs with RTUNE_TEST_BACKEND=webgpu (npm test runs it in its webgpu section)' }, () => {
  let limits: { maxStorageBuffersPerShaderStage: number; maxStorageBufferBindingSize: number; maxBufferSize: number };
  before(async () => {
    await testBackend();
    limits = (tf.backend() as unknown as { device: { limits: typeof limits } }).device.limits;
    takeWebgpuErrors();
  });

  it('the device has the adapter limits, and the run notes report them', () => {
    assert.ok(limits.maxStorageBuffersPerShaderStage >= 8);
    const note = currentBackend()?.notes.find((n) => n.startsWith('webgpu limits:')) ?? '';
    assert.match(note, new RegExp(`^webgpu limits: ${limits.maxStorageBuffersPerShaderStage} storage buffers per stage, largest storage binding`));
  });

  it('a tensor over maxStorageBufferBindingSize is refused, naming the tensor and the limit', () => {
    const limit = limits.maxStorageBufferBindingSize;
    assert.throws(
      () => checkMemory('model /m/model.safetensors', limit + 1, limit + 1024, 'model.embed_tokens.weight'),
      (e: unknown) =>
        e instanceof BackendError &&
        e.kind === 'memory' &&
        /model \/m\/model\.safetensors has a tensor \(model\.embed_tokens\.weight\) of .* MiB, larger than .*maxStorageBufferBindingSize \d+ MiB/.test(
          e.message,
        ),
    );
    checkMemory('model /m/model.safetensors', limit, limit, 'model.embed_tokens.weight');
  });

  it('a device error makes checkDeviceErrors throw instead of passing wrong values on', async () => {
    checkDeviceErrors('nothing yet');
    // One float more than a storage binding holds: Dawn rejects the bind group and the kernel computes nothing.
    const n = limits.maxStorageBufferBindingSize / 4 + 1024;
    const big = tf.fill([n], 1);
    const twice = tf.add(big, big);
    await tf.slice(twice, [0], [4]).data();
    assert.throws(
      () => checkDeviceErrors('a test step'),
      (e: unknown) => e instanceof BackendError && e.kind === 'device' && /webgpu reported \d+ device errors? during a test step/.test(e.message),
    );
    tf.dispose([big, twice]);
    checkDeviceErrors('after the record was cleared');
  });
});
