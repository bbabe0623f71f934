/**
 * Token-level losses shared by training, perplexity and evaluation.
 * `pickLogProbs` selects log p(target) per row with a gather whose gradient is a scatterND (wasm has no
 * UnsortedSegmentSum, the default gather gradient: BACKENDS.md §2a), so no [N, V] one-hot is ever built.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherRows } from './ops';

/** logits [N, V] (or [..., V]) and N integer targets → log-softmax values at the targets, [N]. */
export function pickLogProbs(logits: tf.Tensor, targets: number[]): tf.Tensor1D {
  const V = logits.shape[logits.rank - 1] as number;
  const rows = tf.reshape(logits, [-1, V]);
  const N = rows.shape[0] as number;
  if (targets.length !== N) throw new Error(`pickLogProbs: ${targets.length} targets for ${N} rows`);
  const logp = tf.logSoftmax(rows, -1);
  // One row per (position, vocabulary entry): the wasm-safe row gather picks log p(target) of each position.
  return tf.reshape(
    gatherRows(
      tf.reshape(logp, [-1, 1]),
      targets.map((t, n) => n * V + t),
    ),
    [N],
  ) as tf.Tensor1D;
}

/**
 * Mean next-token cross-entropy of logits [B, T, V] against ids [B][T] (position t predicts t+1), counting only
 * positions where `weights[b][t+1]` > 0 (default: all), weighted by it.
 */
export function nextTokenLoss(logits: tf.Tensor3D, ids: number[][], weights?: number[][]): tf.Scalar {
  const [B, T, V] = logits.shape;
  const rows: number[] = [];
  const targets: number[] = [];
  const ws: number[] = [];
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T - 1; t++) {
      const wgt = weights ? ((weights[b] as number[])[t + 1] as number) : 1;
      if (wgt > 0) {
        rows.push(b * T + t);
        targets.push((ids[b] as number[])[t + 1] as number);
        ws.push(wgt);
      }
    }
  }
  if (rows.length === 0) throw new Error('nextTokenLoss: no target positions');
  const flat = tf.reshape(logits, [B * T, V]);
  const picked = pickLogProbs(gatherRows(flat, rows), targets);
  const wT = tf.tensor1d(ws);
  return tf.div(tf.neg(tf.sum(tf.mul(picked, wT))), tf.sum(wT)) as tf.Scalar;
}
