/**
 * A/B evaluation from logits at the answer position (no generation, METHOD.md §11 item 10): for each prompt,
 * logit(A) and logit(B) of the next token, then P(A), honest and lie rates with Wilson intervals and the A/B bias
 * split out (engine/stats/ab.ts). The same function evaluates the base model, the model steered by taps
 * (add k·v at chosen layers, §6) and the tuned model, so the three are comparable side by side.
 */
import * as tf from '@tensorflow/tfjs';
import { padRight } from '../model/batch';
import { forward, type Model, type Tap } from '../model/forward';
import { addTap } from '../model/taps';
import { abMetrics, type AbLabel, type AbMetrics, type AbRow } from '../stats';
import { throwIfCancelled } from '../util/cancel';
import { yieldToEventLoop } from '../util/yield';

export interface AbItem {
  /** Prompt ids ending at the answer position. */
  ids: number[];
  /** The honest (intended) answer. */
  gold: AbLabel;
}

export async function abRows(model: Model, items: AbItem[], idA: number, idB: number, opts: { taps?: Tap[]; batch?: number; signal?: AbortSignal } = {}): Promise<AbRow[]> {
  const batch = opts.batch ?? 32;
  const rows: AbRow[] = [];
  for (let i = 0; i < items.length; i += batch) {
    await yieldToEventLoop();
    throwIfCancelled(opts.signal);
    const group = items.slice(i, i + batch);
    const { ids, mask } = padRight(group.map((g) => g.ids));
    const pair = tf.tidy(() => {
      const logits = forward(model, ids, { attentionMask: mask, logits: group.map((g) => g.ids.length - 1), ...(opts.taps ? { taps: opts.taps } : {}) }).logits as tf.Tensor3D;
      const flat = tf.reshape(logits, [group.length, model.config.vocabSize]);
      return tf.concat([tf.slice(flat, [0, idA], [-1, 1]), tf.slice(flat, [0, idB], [-1, 1])], 1);
    });
    const data = await pair.data();
    pair.dispose();
    group.forEach((g, k) => rows.push({ gold: g.gold, logitA: data[2 * k] as number, logitB: data[2 * k + 1] as number }));
  }
  return rows;
}

export async function abEvaluate(model: Model, items: AbItem[], idA: number, idB: number, opts: { taps?: Tap[]; batch?: number; signal?: AbortSignal } = {}): Promise<AbMetrics> {
  return abMetrics(await abRows(model, items, idA, idB, opts));
}

export interface SteeringCell {
  layers: number[];
  multiplier: number;
  metrics: AbMetrics;
}

/**
 * The steering grid: for each multiplier k (and each layer, or all layers together with `combine`), add k·v_l
 * to the output of block l at every real token (never padding: METHOD.md §11 item 11) and evaluate A/B.
 * Multiplier 0 is the unsteered control, computed once (the research copied one ablation result to every key).
 */
export async function steeringGrid(
  model: Model,
  items: AbItem[],
  idA: number,
  idB: number,
  directions: Map<number, Float32Array>,
  layers: number[],
  multipliers: number[],
  combine: boolean,
): Promise<SteeringCell[]> {
  const out: SteeringCell[] = [{ layers: [], multiplier: 0, metrics: await abEvaluate(model, items, idA, idB) }];
  const sets = combine ? [layers] : layers.map((l) => [l]);
  for (const set of sets) {
    for (const k of multipliers) {
      if (k === 0) continue;
      const vecs = set.map((l) => {
        const d = directions.get(l);
        if (!d) throw new Error(`steering: no direction for layer ${l}`);
        return tf.tensor1d(d);
      });
      try {
        const taps = set.map((l, i) => addTap(l, 'output', vecs[i] as tf.Tensor1D, k));
        out.push({ layers: set, multiplier: k, metrics: await abEvaluate(model, items, idA, idB, { taps }) });
      } finally {
        tf.dispose(vecs);
      }
    }
  }
  return out;
}
