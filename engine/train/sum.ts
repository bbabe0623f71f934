/**
 * Element-wise sum of many tensors in chunks. WebGPU binds every input of one `AddN` call as a storage buffer, and
 * past the device's per-stage limit (8 by default, one of them the output) Dawn rejects the pipeline and the sum
 * silently reads stale memory (BACKENDS.md §4). The engine's backend setup also splits `AddN` on webgpu
 * (webgpu.ts); summing in chunks here keeps the gradient norm right on any device tfjs may have created.
 */
import * as tf from '@tensorflow/tfjs';

/** Inputs per `tf.addN` call: 7 inputs and the output fit WebGPU's default 8 storage buffers per shader stage. */
export const ADDN_CHUNK = 7;

/** Sum of same-shaped tensors (a chunked tree of `tf.addN` calls; disposes its intermediates). */
export function addAll(tensors: readonly tf.Tensor[], chunk = ADDN_CHUNK): tf.Tensor {
  if (tensors.length === 0) throw new Error('addAll: no tensors to add');
  if (chunk < 2) throw new Error(`addAll: chunk must be at least 2, found ${chunk}`);
  return tf.tidy(() => {
    let level: tf.Tensor[] = [...tensors];
    while (level.length > 1) {
      const next: tf.Tensor[] = [];
      for (let i = 0; i < level.length; i += chunk) {
        const part = level.slice(i, i + chunk);
        next.push(part.length === 1 ? (part[0] as tf.Tensor) : tf.addN(part));
      }
      level = next;
    }
    // A single input comes back as a new tensor, so the caller may dispose its inputs and keep the result.
    return tensors.length === 1 ? tf.clone(level[0] as tf.Tensor) : (level[0] as tf.Tensor);
  });
}
