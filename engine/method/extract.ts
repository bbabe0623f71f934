/**
 * Capturing contrastive activations: one no-grad forward pass per batch of prompts (right padding), reading
 * the block outputs of the chosen layers at each prompt's anchored positions. The aggregation into directions
 * is in directions.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { padRight } from '../model/batch';
import { forward, type Model } from '../model/forward';
import { captureTap } from '../model/taps';
import { throwIfCancelled } from '../util/cancel';
import { yieldToEventLoop } from '../util/yield';

export interface CaptureRequest {
  ids: number[];
  /** Absolute token positions to read (the same count for every prompt). */
  positions: number[];
}

/** acts[layer][k] = rows (one Float32Array of size C per prompt) at the k-th requested position. */
export type Activations = Map<number, Float32Array[][]>;

export async function captureActivations(
  model: Model,
  prompts: CaptureRequest[],
  layers: readonly number[],
  opts: { batch?: number; signal?: AbortSignal; onProgress?: (done: number, total: number) => void } = {},
): Promise<Activations> {
  const c = model.config;
  for (const l of layers)
    if (!Number.isInteger(l) || l < 0 || l >= c.nLayers) throw new Error(`layer ${l} is outside the model's ${c.nLayers} layers (0..${c.nLayers - 1})`);
  const P = prompts[0]?.positions.length ?? 0;
  if (prompts.some((p) => p.positions.length !== P)) throw new Error('captureActivations: every prompt needs the same number of positions');
  const out: Activations = new Map(layers.map((l) => [l, Array.from({ length: P }, () => [] as Float32Array[])]));
  const batch = opts.batch ?? 16;
  const C = c.hiddenSize;
  const deepest = Math.max(...layers);
  for (let i = 0; i < prompts.length; i += batch) {
    await yieldToEventLoop();
    throwIfCancelled(opts.signal);
    const group = prompts.slice(i, i + batch);
    const { ids, mask } = padRight(group.map((p) => p.ids));
    const got = tf.tidy(() => {
      const into: Record<string, tf.Tensor> = {};
      forward(model, ids, {
        attentionMask: mask,
        taps: layers.map((l) =>
          captureTap(
            l,
            'output',
            group.map((p) => p.positions),
            into,
            String(l),
          ),
        ),
        lastLayer: deepest,
        logits: 'none',
      });
      return layers.map((l) => into[String(l)] as tf.Tensor);
    });
    for (let k = 0; k < layers.length; k++) {
      const data = (await (got[k] as tf.Tensor).data()) as Float32Array;
      const perPos = out.get(layers[k] as number) as Float32Array[][];
      for (let b = 0; b < group.length; b++) {
        for (let p = 0; p < P; p++) (perPos[p] as Float32Array[]).push(data.slice((b * P + p) * C, (b * P + p + 1) * C));
      }
    }
    tf.dispose(got);
    opts.onProgress?.(Math.min(i + batch, prompts.length), prompts.length);
  }
  return out;
}
