/**
 * The attention pieces of the forward pass (forward.ts): the additive mask (causal, padding, sliding window),
 * RoPE tables and rotate_half RoPE, head reshapes, and grouped-query attention with the score scale and optional
 * tanh soft-capping (Gemma 2). Host-side inputs (masks, positions) are plain arrays turned into the few tensors
 * needed. Call inside `tf.tidy` / `tf.variableGrads` like forward.
 */
import * as tf from '@tensorflow/tfjs';

/** Additive attention bias [B, 1, T, S]: 0 where allowed, -1e9 where masked (causal, padding, sliding window). */
export function attentionBias(mask: number[][], past: number, seqLen: number, window: number | undefined): tf.Tensor4D {
  const B = mask.length;
  const S = past + seqLen;
  const data = new Float32Array(B * seqLen * S);
  for (let b = 0; b < B; b++) {
    const row = mask[b] as number[];
    for (let t = 0; t < seqLen; t++) {
      const q = past + t;
      const base = (b * seqLen + t) * S;
      let any = false;
      for (let j = 0; j < S; j++) {
        const ok = j <= q && row[j] === 1 && (window === undefined || q - j < window);
        if (!ok) data[base + j] = -1e9;
        else any = true;
      }
      // A padding query with no visible key attends to itself so softmax stays finite; its output is ignored.
      if (!any) data[base + q] = 0;
    }
  }
  return tf.tensor4d(data, [B, 1, seqLen, S]);
}

export interface RopeTables {
  cos: tf.Tensor4D;
  sin: tf.Tensor4D;
  /** rotate_half as a signed permutation matrix [R, R]: rotate_half(x) = x @ rot, exact (each output is ±one input). */
  rot: tf.Tensor2D;
}

/** rot[j + R/2][j] = -1 and rot[j][j + R/2] = 1: x @ rot = concat(-x2, x1). */
function rotateHalfMatrix(r: number): tf.Tensor2D {
  const half = r / 2;
  const m = new Float32Array(r * r);
  for (let j = 0; j < half; j++) {
    m[(j + half) * r + j] = -1;
    m[j * r + j + half] = 1;
  }
  return tf.tensor2d(m, [r, r]);
}

/** cos/sin tables [B, 1, T, R] for positions `pos` [B][T] and inverse frequencies `inv` (length R/2, R the rotary dim), times `scale` (longrope). */
export function ropeTables(inv: Float64Array, rotaryDim: number, pos: number[][], scale = 1): RopeTables {
  const headDim = rotaryDim;
  const half = headDim / 2;
  const B = pos.length;
  const T = (pos[0] as number[]).length;
  const cos = new Float32Array(B * T * headDim);
  const sin = new Float32Array(B * T * headDim);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < T; t++) {
      const p = (pos[b] as number[])[t] as number;
      const base = (b * T + t) * headDim;
      for (let i = 0; i < half; i++) {
        const a = p * (inv[i] as number);
        const cv = Math.cos(a) * scale;
        const sv = Math.sin(a) * scale;
        cos[base + i] = cv;
        cos[base + half + i] = cv;
        sin[base + i] = sv;
        sin[base + half + i] = sv;
      }
    }
  }
  return { cos: tf.tensor4d(cos, [B, 1, T, headDim]), sin: tf.tensor4d(sin, [B, 1, T, headDim]), rot: rotateHalfMatrix(headDim) };
}

/** HF rotate_half RoPE on x [B, H, T, D]; with tables narrower than D (partial rotary) the rest passes through. */
export function applyRope(x: tf.Tensor, r: RopeTables): tf.Tensor4D {
  const D = x.shape[3] as number;
  const R = r.cos.shape[3];
  if (R < D) {
    const [rot, pass] = tf.split(x, [R, D - R], -1) as [tf.Tensor, tf.Tensor];
    return tf.concat([applyRope(rot, r), pass], -1) as tf.Tensor4D;
  }
  // rotate_half as one 2-D matmul with a signed permutation: split/concat/neg on the last axis (and their
  // gradients) are slow strided copies on wasm, a [N, D] x [D, D] matmul is not, and the result is the same bits.
  const rotated = tf.reshape(tf.matMul(tf.reshape(x, [-1, D]), r.rot), x.shape);
  return tf.add(tf.mul(x, r.cos), tf.mul(rotated, r.sin)) as tf.Tensor4D;
}

/** [B, T, C] → [B, H, T, D] */
export function splitHeads(x: tf.Tensor, nHeads: number, headDim: number): tf.Tensor4D {
  const [B, T] = x.shape as [number, number, number];
  return tf.transpose(tf.reshape(x, [B, T, nHeads, headDim]), [0, 2, 1, 3]) as tf.Tensor4D;
}

/** [B, H, T, D] → [B, T, H*D] */
export function mergeHeads(x: tf.Tensor): tf.Tensor {
  const [B, H, T, D] = x.shape as [number, number, number, number];
  return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [B, T, H * D]);
}

/**
 * Grouped-query attention without materialising repeated keys: query heads h = k*rep + r share kv head k
 * (HF repeat_kv), so q [B, H, T, D] is viewed as [B, K, rep*T, D] and attends to k, v [B, K, S, D] directly.
 * (Repeating k and v with stack/tile costs an Unpack in the backward pass that is very slow on wasm.)
 * Scores are (q·k)·scale, then cap·tanh(score/cap) when `softcap` is set, then masked by `bias`.
 */
export function attend(q: tf.Tensor, k: tf.Tensor4D, v: tf.Tensor4D, bias: tf.Tensor4D, scale: number, nKv: number, softcap?: number): tf.Tensor {
  const [B, H, T, D] = q.shape as [number, number, number, number];
  const S = k.shape[2];
  const rep = H / nKv;
  const qg = rep === 1 ? q : tf.reshape(q, [B, nKv, rep * T, D]);
  let scores = tf.mul(tf.matMul(qg as tf.Tensor4D, k, false, true), scale); // [B,K,rep*T,S]
  if (softcap !== undefined) scores = tf.mul(tf.tanh(tf.div(scores, softcap)), softcap);
  scores =
    rep === 1 ? tf.add(scores, bias) : tf.reshape(tf.add(tf.reshape(scores, [B, nKv, rep, T, S]), tf.reshape(bias, [B, 1, 1, T, S])), [B, nKv, rep * T, S]);
  const out = tf.matMul(tf.softmax(scores, -1) as tf.Tensor4D, v); // [B,K,rep*T,D]
  return rep === 1 ? out : tf.reshape(out, [B, H, T, D]);
}
