/**
 * Small differentiable building blocks shared by every architecture. Two of them carry custom gradients that
 * work around the wasm backend (BACKENDS.md §2): `dense` computes its gradient with explicit transposes so every
 * matmul stays on XNNPACK's untransposed 2-D fast path (5x faster backward), and `embed` computes the gather
 * gradient with scatterND because wasm lacks UnsortedSegmentSum. Both match plain tfjs gradients (tested).
 */
import * as tf from '@tensorflow/tfjs';

// Shapes glossary used in comments across engine/model: B batch, T query length, S key length (past + T),
// C hidden size, H heads, K kv heads, D head dim, F MLP width, V vocab, N = B*T rows.

/**
 * tf.customGrad with typed positional inputs: `f` receives the n input tensors and the save function.
 * (tfjs types the callback as a variadic of tensors-or-save-function, which strict TypeScript cannot narrow.)
 */
export function customGradN(
  n: number,
  f: (inputs: tf.Tensor[], save: tf.GradSaveFunc) => { value: tf.Tensor; gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.Tensor[] },
): (...inputs: tf.Tensor[]) => tf.Tensor {
  return tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const r = f(args.slice(0, n) as tf.Tensor[], args[n] as tf.GradSaveFunc);
    return { value: r.value, gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => r.gradFunc(dy as tf.Tensor, saved) };
  });
}

const denseNoBias = customGradN(2, ([x, w], save) => {
  save([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D),
    gradFunc: (dy, saved) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(ws)), tf.matMul(tf.transpose(xs), g)];
    },
  };
});

const denseBias = customGradN(3, ([x, w, b], save) => {
  save([x as tf.Tensor, w as tf.Tensor]);
  return {
    value: tf.add(tf.matMul(x as tf.Tensor2D, w as tf.Tensor2D), b as tf.Tensor),
    gradFunc: (dy, saved) => {
      const [xs, ws] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(ws)), tf.matMul(tf.transpose(xs), g), tf.sum(g, 0)];
    },
  };
});

/** y = x @ w (+ b). x: [..., in], w: [in, out] → [..., out]. */
export function dense(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const inDim = x.shape[x.shape.length - 1] as number;
  const outDim = w.shape[1] as number;
  const lead = x.shape.slice(0, -1);
  const x2 = x.rank === 2 ? x : tf.reshape(x, [-1, inDim]);
  const y = b ? denseBias(x2, w, b) : denseNoBias(x2, w);
  return x.rank === 2 ? y : tf.reshape(y, [...lead, outDim]);
}

const embedGather = customGradN(2, ([table, ids], save) => {
  const tbl = table as tf.Tensor;
  save([ids as tf.Tensor]);
  return {
    value: tf.gather(tbl, ids as tf.Tensor),
    gradFunc: (dy, saved) => {
      const [i] = saved as [tf.Tensor];
      const cols = tbl.shape[1] as number;
      // scatterND sums duplicate indices, which is exactly the embedding gradient.
      const g = tf.scatterND(tf.reshape(i, [-1, 1]), tf.reshape(dy, [-1, cols]), tbl.shape);
      return [g, tf.zerosLike(i)];
    },
  };
});

/** Rows of `table` ([V, C]) for integer `ids` of any shape → [...ids.shape, C]. */
export function embed(table: tf.Tensor, ids: tf.Tensor): tf.Tensor {
  return embedGather(table, ids);
}

/** Rows `rows` of a 2-D tensor, differentiable on every backend (the same scatterND gradient as `embed`). */
export function gatherRows(x: tf.Tensor, rows: number[]): tf.Tensor {
  return embedGather(x, tf.tensor1d(rows, 'int32'));
}

export function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const mean = tf.mean(x, -1, true);
  const centered = tf.sub(x, mean);
  const variance = tf.mean(tf.square(centered), -1, true);
  return tf.add(tf.mul(tf.mul(centered, tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

export function rmsNorm(x: tf.Tensor, gamma: tf.Tensor, eps: number): tf.Tensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), gamma);
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** GPT-2's gelu_new: the tanh approximation. */
export function geluNew(x: tf.Tensor): tf.Tensor {
  // x·x·x rather than pow(x, 3): wasm's Pow is slow and its gradient also computes the exponent's (log x).
  const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.square(x), x), 0.044715)), GELU_C);
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
}

/** Exact gelu via erf. */
export function geluExact(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.div(x, Math.SQRT2)), 1));
}

export function silu(x: tf.Tensor): tf.Tensor {
  return tf.mul(x, tf.sigmoid(x));
}
