/**
 * A/B evaluation from logits at the answer position (no generation, METHOD.md §11 item 10): for each prompt,
 * logit(A) and logit(B) of the next token, then P(A), honest and lie rates with Wilson intervals and the A/B bias
 * split out (engine/stats/ab.ts). The same function evaluates the base model, the model steered by taps
 * (add ±k·v at chosen layers, §6) and the tuned model, so the three are comparable side by side.
 */
import * as tf from '@tensorflow/tfjs';
import { padRight } from '../model/batch';
import { forward, type Model, type Tap } from '../model/forward';
import { addTap } from '../model/taps';
import { abMetrics, type AbLabel, type AbMetrics, type AbRow } from '../stats';
import { throwIfCancelled } from '../util/cancel';
import { yieldToEventLoop } from '../util/yield';
import { norm } from './directions';
import { captureActivations, type CaptureRequest } from './extract';

export interface AbItem {
  /** Prompt ids ending at the answer position. */
  ids: number[];
  /** The honest (intended) answer. */
  gold: AbLabel;
}

export async function abRows(
  model: Model,
  items: AbItem[],
  idA: number,
  idB: number,
  opts: { taps?: Tap[]; batch?: number; signal?: AbortSignal } = {},
): Promise<AbRow[]> {
  const batch = opts.batch ?? 32;
  const rows: AbRow[] = [];
  for (let i = 0; i < items.length; i += batch) {
    await yieldToEventLoop();
    throwIfCancelled(opts.signal);
    const group = items.slice(i, i + batch);
    const { ids, mask } = padRight(group.map((g) => g.ids));
    const pair = tf.tidy(() => {
      const logits = forward(model, ids, { attentionMask: mask, logits: group.map((g) => g.ids.length - 1), ...(opts.taps ? { taps: opts.taps } : {}) })
        .logits as tf.Tensor3D;
      const flat = tf.reshape(logits, [group.length, model.config.vocabSize]);
      return tf.concat([tf.slice(flat, [0, idA], [-1, 1]), tf.slice(flat, [0, idB], [-1, 1])], 1);
    });
    const data = await pair.data();
    pair.dispose();
    group.forEach((g, k) => rows.push({ gold: g.gold, logitA: data[2 * k] as number, logitB: data[2 * k + 1] as number }));
  }
  return rows;
}

export async function abEvaluate(
  model: Model,
  items: AbItem[],
  idA: number,
  idB: number,
  opts: { taps?: Tap[]; batch?: number; signal?: AbortSignal } = {},
): Promise<AbMetrics> {
  return abMetrics(await abRows(model, items, idA, idB, opts));
}

/** One steering condition: add `scales[i]`·v to the output of block `layers[i]` at every real token. */
export interface SteeringCondition {
  layers: number[];
  /** The signed multiplier k (0: the unsteered control). */
  multiplier: number;
  /** Per layer: k · unit(layer) / (layers steered together). */
  scales: number[];
}

export interface SteeringCell extends SteeringCondition {
  metrics: AbMetrics;
}

/**
 * The steering grid's conditions (METHOD.md §6): each layer alone, or all of them as one set with `combine`; each
 * distinct |k| > 0 as +k then -k. With `combine` each layer adds v·k / |set|. `units` (scale norm) gives the
 * per-layer unit k is measured in, e.g. the mean block-output norm; absent = 1 (v added as is).
 */
export function steeringConditions(
  layers: readonly number[],
  multipliers: readonly number[],
  o: { combine: boolean; units?: ReadonlyMap<number, number> },
): SteeringCondition[] {
  const sizes = [...new Set(multipliers.map((k) => Math.abs(k)).filter((k) => k > 0))];
  const sets = o.combine ? [[...layers]] : layers.map((l) => [l]);
  const out: SteeringCondition[] = [];
  for (const set of sets) {
    for (const size of sizes) {
      for (const k of [size, -size]) {
        out.push({ layers: set, multiplier: k, scales: set.map((l) => (k * (o.units?.get(l) ?? 1)) / set.length) });
      }
    }
  }
  return out;
}

/** Run `fn` with the taps of condition `c` (vectors from `directions`, disposed afterwards). */
export async function withSteering<T>(c: SteeringCondition, directions: ReadonlyMap<number, Float32Array>, fn: (taps: Tap[]) => Promise<T>): Promise<T> {
  const vecs = c.layers.map((l) => {
    const d = directions.get(l);
    if (!d) throw new Error(`steering: no direction for layer ${l}`);
    return tf.tensor1d(d);
  });
  try {
    return await fn(c.layers.map((l, i) => addTap(l, 'output', vecs[i] as tf.Tensor1D, c.scales[i] as number)));
  } finally {
    tf.dispose(vecs);
  }
}

/**
 * The steering grid: the unsteered control (computed once: the research copied one ablation result to every key),
 * then every condition, each adding its vectors at every real token (never padding: METHOD.md §11 item 11) and
 * evaluated A/B.
 */
export async function steeringGrid(
  model: Model,
  items: AbItem[],
  idA: number,
  idB: number,
  directions: ReadonlyMap<number, Float32Array>,
  conditions: readonly SteeringCondition[],
  opts: { batch?: number; signal?: AbortSignal } = {},
): Promise<SteeringCell[]> {
  const out: SteeringCell[] = [{ layers: [], multiplier: 0, scales: [], metrics: await abEvaluate(model, items, idA, idB, opts) }];
  for (const c of conditions) {
    out.push({ ...c, metrics: await withSteering(c, directions, (taps) => abEvaluate(model, items, idA, idB, { ...opts, taps })) });
  }
  return out;
}

/** Mean L2 norm of the block output at each of `layers`, over the prompts' requested position (one per prompt). */
export async function meanOutputNorms(
  model: Model,
  prompts: CaptureRequest[],
  layers: readonly number[],
  opts: { batch?: number; signal?: AbortSignal } = {},
): Promise<Map<number, number>> {
  if (prompts.length === 0) throw new Error('steering: no prompts to measure the activation norm on');
  const acts = await captureActivations(model, prompts, layers, opts);
  return new Map(
    layers.map((l) => {
      const rows = (acts.get(l) as Float32Array[][])[0] as Float32Array[];
      return [l, rows.reduce((sum, x) => sum + norm(x), 0) / rows.length];
    }),
  );
}
